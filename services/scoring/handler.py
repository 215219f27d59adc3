"""The scoring batch handler: signals -> state -> scores, in the loop's transaction.

The loop (``shared.db_consumer``) owns the transaction and the offsets; this
handler only parses, dedupes on ``event_id``, folds, and re-scores the
accounts the batch touched. No per-event round trips to the database.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Sequence

from aiokafka import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.fold import fold_signals
from services.scoring.metrics import ScoringMetrics
from services.scoring.repository.writes import apply_changes, claim_new_events
from services.scoring.scorer import Scorer
from services.scoring.signal_decode import ScoringSignal, decode_signal
from services.scoring.watermark_step import WatermarkStep
from shared.clock import Now
from shared.logging import get_logger
from shared.metrics import observe_many

log = get_logger(__name__)

RecordKey = tuple[str, int, int]  # topic, partition, offset
# records decoded between two yields to the event loop while the previous batch's
# statements run: ~2 ms, short next to a statement's round trip
PREPARE_SLICE = 100


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
        # signals decoded ahead by ``prepare``: the batch applying and the next one
        self._decoded: deque[dict[RecordKey, ScoringSignal]] = deque(maxlen=2)

    async def prepare(self, records: Sequence[ConsumerRecord]) -> None:
        """Decode ``records`` before their transaction, while the previous batch's runs
        (``shared.db_consumer``). Decoding is pure, so a signal decoded here is the one
        the transaction would decode; a record that fails is left to it (and isolated)."""
        decoded: dict[RecordKey, ScoringSignal] = {}
        self._decoded.append(decoded)
        for start in range(0, len(records), PREPARE_SLICE):
            for record in records[start : start + PREPARE_SLICE]:
                try:
                    decoded[_key(record)] = decode_signal(record.value or b"")
                except (ValidationError, ValueError):
                    continue
            await asyncio.sleep(0)

    async def __call__(self, session: AsyncSession, records: Sequence[ConsumerRecord]) -> None:
        signal_records, marks = self._watermarks.split(records)
        progress = await self._watermarks.advance(session, marks)
        signals = self._parse(signal_records)
        first = _first_of_each(signals)
        keys = [(account, event, s.occurred_at) for (account, event), s in first.items()]
        new = await claim_new_events(session, keys)
        fresh = [s for key, s in first.items() if key in new]
        self._metrics.duplicates.inc(len(signals) - len(fresh))
        if fresh:
            self._watermarks.count_late(fresh, progress)
            if self._scorer.hooks is not None:
                await self._scorer.hooks.before_fold(session, fresh)  # renewals by update
            changes = fold_signals(fresh)
            await apply_changes(session, changes)
            await self._scorer.rescore(
                session, list(changes.accounts), as_of=None, trigger="event", bound=progress.bound
            )
            self._observe(fresh)
        await self._watermarks.release(session, progress)

    def _parse(self, records: Sequence[ConsumerRecord]) -> list[ScoringSignal]:
        signals: list[ScoringSignal] = []
        for record in records:
            ready = self._prepared(record)
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

    def _prepared(self, record: ConsumerRecord) -> ScoringSignal | None:
        key = _key(record)
        for decoded in self._decoded:
            signal = decoded.get(key)
            if signal is not None:
                return signal
        return None

    def _observe(self, fresh: Sequence[ScoringSignal]) -> None:
        now = self._now()
        self._metrics.batch_size.observe(len(fresh))
        for source, count in Counter(s.source for s in fresh).items():
            self._metrics.events_applied.labels(source).inc(count)
        lags = [max(0.0, (now - signal.occurred_at).total_seconds()) for signal in fresh]
        observe_many(self._metrics.event_time_lag, lags)


def _key(record: ConsumerRecord) -> RecordKey:
    return record.topic, record.partition, record.offset


def _first_of_each(signals: Sequence[ScoringSignal]) -> dict[tuple[str, str], ScoringSignal]:
    """Each (account, event id) once, the first record of it, in batch order."""
    first: dict[tuple[str, str], ScoringSignal] = {}
    for signal in signals:
        first.setdefault((signal.account_id, signal.event_id), signal)
    return first
