"""The scoring batch handler: signals -> state -> scores, in the loop's transaction.

The loop (``shared.db_consumer``) owns the transaction and the offsets; this
handler only parses, dedupes on ``event_id``, folds, and re-scores the
accounts the batch touched. No per-event round trips to the database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from aiokafka import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.fold import fold_signals
from services.scoring.metrics import ScoringMetrics
from services.scoring.repository.writes import apply_changes, claim_new_events
from services.scoring.scorer import Scorer
from services.scoring.watermark_step import WatermarkStep
from shared.clock import Now
from shared.contracts import Signal, signal_from_json
from shared.logging import get_logger

log = get_logger(__name__)


class SignalBatchHandler:
    """Called by the consumer loop with each batch of ``signals`` records."""

    def __init__(
        self,
        scorer: Scorer,
        metrics: ScoringMetrics,
        *,
        now: Now,
        watermarks: WatermarkStep | None = None,
    ) -> None:
        self._scorer = scorer
        self._metrics = metrics
        self._now = now
        self._watermarks = watermarks or WatermarkStep(scorer, metrics, wall_clock=now)

    async def __call__(self, session: AsyncSession, records: Sequence[ConsumerRecord]) -> None:
        signal_records, marks = self._watermarks.split(records)
        progress = await self._watermarks.advance(session, marks)
        signals = self._parse(signal_records)
        keys = list({(s.account_id, s.event_id): s.occurred_at for s in signals}.items())
        new = await claim_new_events(session, [(a, e, t) for (a, e), t in keys])
        fresh = _first_of_each(s for s in signals if (s.account_id, s.event_id) in new)
        self._metrics.duplicates.inc(len(signals) - len(fresh))
        if fresh:
            self._watermarks.count_late(fresh, progress)
            changes = fold_signals(fresh)
            await apply_changes(session, changes)
            await self._scorer.rescore(
                session, list(changes.accounts), as_of=None, trigger="event", bound=progress.bound
            )
            self._observe(fresh)
        await self._watermarks.release(session, progress)

    def _parse(self, records: Sequence[ConsumerRecord]) -> list[Signal]:
        signals: list[Signal] = []
        for record in records:
            try:
                signals.append(signal_from_json(record.value or b""))
            except (ValidationError, ValueError) as error:
                # ingest validated it; a foreign producer on `signals` must not stop us
                self._metrics.malformed.inc()
                log.warning(
                    "skipping malformed signal",
                    partition=record.partition,
                    offset=record.offset,
                    error=str(error)[:300],
                )
        return signals

    def _observe(self, fresh: Sequence[Signal]) -> None:
        now = self._now()
        self._metrics.batch_size.observe(len(fresh))
        for source, count in Counter(s.source for s in fresh).items():
            self._metrics.events_applied.labels(source).inc(count)
        for signal in fresh:
            self._metrics.event_time_lag.observe(
                max(0.0, (now - signal.occurred_at).total_seconds())
            )


def _first_of_each(signals: Iterable[Signal]) -> list[Signal]:
    seen: set[tuple[str, str]] = set()
    unique: list[Signal] = []
    for signal in signals:
        key = (signal.account_id, signal.event_id)
        if key not in seen:
            seen.add(key)
            unique.append(signal)
    return unique
