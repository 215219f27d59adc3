"""Scoring's watermark step, run in the consumer loop's (or a clock chunk's) transaction.

Splits watermark records from signals, keeps the reports (monotonic) with the
offsets, gives the bound that judgement times are clamped to, counts late
events and re-scores accounts held back by an earlier bound.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.event_time import (
    judgement_bound,
    merge,
    read_up_to,
    row_of,
    source_watermarks,
)
from services.scoring.metrics import ScoringMetrics
from services.scoring.repository.watermarks import (
    held_back_accounts,
    load_watermarks,
    store_watermarks,
)
from services.scoring.scorer import Scorer
from shared.contracts import Signal
from shared.contracts.watermarks import is_watermark, watermark_from_json
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Progress:
    bound: datetime | None  # None: watermarks not in effect
    read_up_to: dict[str, datetime] = field(default_factory=dict)  # before this batch


class WatermarkStep:
    def __init__(
        self,
        scorer: Scorer,
        metrics: ScoringMetrics,
        *,
        fresh_s: float = 10.0,
        lateness_s: float = 60.0,
        held_back_chunk: int = 1000,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._scorer = scorer
        self._metrics = metrics
        self._fresh = timedelta(seconds=fresh_s)
        self._lateness = timedelta(seconds=lateness_s)
        self._chunk = held_back_chunk
        self._wall_clock = wall_clock

    def split(
        self, records: Sequence[ConsumerRecord]
    ) -> tuple[list[ConsumerRecord], list[ConsumerRecord]]:
        """(signal records, watermark records), each in input order."""
        signals: list[ConsumerRecord] = []
        marks: list[ConsumerRecord] = []
        for record in records:
            (marks if is_watermark(record.headers) else signals).append(record)
        return signals, marks

    async def advance(
        self, session: AsyncSession, marks: Sequence[ConsumerRecord], now: datetime | None = None
    ) -> Progress:
        """Store the batch's reports; the bound they (and the wall clock) give now."""
        now = now or self._wall_clock()
        stored = await load_watermarks(session)
        new = []
        for record in marks:
            try:
                new.append(row_of(watermark_from_json(record.value or b"")))
            except (ValidationError, ValueError) as error:
                self._metrics.malformed.inc()
                log.warning(
                    "skipping malformed watermark", offset=record.offset, error=str(error)[:300]
                )
        merged = merge(stored, new) if new else stored
        if new:
            # one row per key: a batch may hold several reports of one partition
            await store_watermarks(session, [merged[k] for k in sorted({r.key for r in new})])
        for source, mark in source_watermarks(merged, now, self._fresh).items():
            self._metrics.watermark_lag.labels(source).set(max(0.0, (now - mark).total_seconds()))
        bound = judgement_bound(merged, now, self._fresh, self._lateness)
        return Progress(bound, read_up_to(stored))

    def count_late(self, signals: Sequence[Signal], progress: Progress) -> None:
        """Events older than their source's watermark when read: folded all the same."""
        late = Counter(
            s.source
            for s in signals
            if s.source in progress.read_up_to and s.occurred_at < progress.read_up_to[s.source]
        )
        for source, count in late.items():
            self._metrics.late_events.labels(source).inc(count)

    async def release(self, session: AsyncSession, progress: Progress) -> int:
        """Re-score (one chunk of) the accounts an earlier bound held back."""
        if progress.bound is None:
            return 0
        ids = await held_back_accounts(session, progress.bound, self._chunk)
        if ids:
            await self._scorer.rescore(
                session, ids, as_of=None, trigger="watermark", bound=progress.bound
            )
        return len(ids)

    async def clock_bound(self, session: AsyncSession, now: datetime) -> datetime | None:
        """The bound for a clock pass at ``now`` (no new reports)."""
        return (await self.advance(session, [], now)).bound
