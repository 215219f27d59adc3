"""The scoring batch handler: signals -> state -> scores, in the loop's transaction.

The loop (``shared.consumer.loop``) owns the transaction and the offsets; this
handler only parses, dedupes on ``event_id``, folds, and re-scores the
accounts the batch touched. No per-event round trips to the database.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence

from aiokafka import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.domain.fold import BatchChanges, fold_signals
from services.scoring.domain.signal_decode import ScoringSignal, decode_signal
from services.scoring.metrics import ScoringMetrics
from services.scoring.prepared import (
    PreparedBatch,
    claim_of,
    first_of_each,
    prepare_batch,
    record_key,
)
from services.scoring.repository.writes import apply_changes, claim_new_events
from services.scoring.scorer import Scorer
from services.scoring.watermark_step import WatermarkStep
from shared.clock.periodic import Now
from shared.logging import get_logger
from shared.metrics import observe_many

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
        self._watermarks = watermarks or WatermarkStep(scorer, metrics, now=now)
        # prepared ahead (``services.scoring.prepared``): the batch applying and the next
        self._prepared: deque[PreparedBatch] = deque(maxlen=2)

    async def prepare(self, records: Sequence[ConsumerRecord]) -> None:
        """The loop's ``prepare``: called with the next batch while this one applies."""
        self._prepared.append(await prepare_batch(records))

    async def __call__(self, session: AsyncSession, records: Sequence[ConsumerRecord]) -> None:
        signal_records, marks = self._watermarks.split(records)
        progress = await self._watermarks.advance(session, marks)
        ready = next((p for p in self._prepared if p.made_from(signal_records)), None)
        if ready is not None and ready.first is not None and ready.claim is not None:
            count, first, claim = len(signal_records), ready.first, ready.claim
        else:
            signals = self._parse(signal_records)
            count, first = len(signals), first_of_each(signals)
            claim = claim_of(first)
            ready = None
        new = await claim_new_events(session, claim)
        all_new = len(new) == len(first)  # the common case: no event was applied before
        fresh = list(first.values()) if all_new else [s for k, s in first.items() if k in new]
        self._metrics.duplicates.inc(count - len(fresh))
        if fresh:
            self._watermarks.count_late(fresh, progress)
            if self._scorer.hooks is not None:
                await self._scorer.hooks.before_fold(session, fresh)  # renewals by update
            changes = _fold(ready, fresh, len(first))
            await apply_changes(session, changes)
            await self._scorer.rescore(
                session, list(changes.accounts), as_of=None, trigger="event", bound=progress.bound
            )
            self._observe(fresh, ready.occurred if ready is not None and all_new else None)
        await self._watermarks.release(session, progress)

    def _parse(self, records: Sequence[ConsumerRecord]) -> list[ScoringSignal]:
        signals: list[ScoringSignal] = []
        for record in records:
            ready = self._decoded(record)
            if ready is not None:
                signals.append(ready)
                continue
            try:
                signals.append(decode_signal(record.value or b""))
            except (ValidationError, ValueError):
                # ingest validated it; a foreign producer on `signals` must not stop us:
                # raising lets the loop isolate and dead-letter this record
                if len(records) == 1:  # the isolated record: counted once, not per split
                    self._metrics.malformed.inc()
                raise
        return signals

    def _decoded(self, record: ConsumerRecord) -> ScoringSignal | None:
        """The record's signal if a prepared batch decoded it (the batch was topped up,
        or split to isolate a failure, since)."""
        key = record_key(record)
        for prepared in self._prepared:
            signal = prepared.decoded.get(key)
            if signal is not None:
                return signal
        return None

    def _observe(self, fresh: Sequence[ScoringSignal], occurred: list[float] | None) -> None:
        """Metrics of the applied signals (``occurred``: their event times, if prepared)."""
        now = self._now().timestamp()
        self._metrics.batch_size.observe(len(fresh))
        for source, count in Counter(s.source for s in fresh).items():
            self._metrics.events_applied.labels(source).inc(count)
        if occurred is None:
            occurred = [signal.occurred_at.timestamp() for signal in fresh]
        observe_many(self._metrics.event_time_lag, [max(0.0, now - at) for at in occurred])


def _fold(ready: PreparedBatch | None, fresh: list[ScoringSignal], events: int) -> BatchChanges:
    """The prepared fold if it folded exactly ``fresh`` (no event of the batch was a
    duplicate), else the fold of ``fresh``."""
    if ready is not None and ready.folded is not None and len(fresh) == events:
        return ready.folded
    return fold_signals(fresh)
