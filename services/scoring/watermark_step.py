"""Scoring's watermark step, run in the consumer loop's (or a clock chunk's) transaction.

Splits watermark records from signals, keeps the reports (monotonic) with the
offsets, gives the bound that judgement times are clamped to, counts late
events and re-scores accounts held back by an earlier bound.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.domain.event_time import (
    Key,
    WatermarkRow,
    judgement_bound,
    merge,
    read_up_to,
    row_of,
    source_watermarks,
)
from services.scoring.domain.signal_decode import ScoringSignal
from services.scoring.metrics import ScoringMetrics
from services.scoring.repository.watermarks import (
    held_back_accounts,
    load_watermarks,
    store_watermarks,
)
from services.scoring.scorer import Scorer
from shared.clock.periodic import Now, utc_now
from shared.contracts.watermarks import is_watermark, watermark_from_json
from shared.logging import get_logger

log = get_logger(__name__)
UNBOUNDED = datetime.max.replace(tzinfo=UTC)


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
        now: Now = utc_now,
        sync_s: float = 1.0,
    ) -> None:
        self._scorer = scorer
        self._metrics = metrics
        self._fresh = timedelta(seconds=fresh_s)
        self._lateness = timedelta(seconds=lateness_s)
        self._chunk = held_back_chunk
        self._now = now
        self._sync_s = sync_s
        self._rows: dict[Key, WatermarkRow] | None = None  # None: not read yet
        self._dirty: set[Key] = set()  # reports taken but not stored yet
        self._synced_at = float("-inf")
        self._released_at = float("-inf")

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
        """Take the batch's reports; the bound they (and the wall clock) give now.

        Reports are kept in memory and synced with PostgreSQL at most every
        ``sync_s`` (a few queries per batch cost the live pipeline its latency).
        Persisting later is safe: a restart resumes from older reports, which
        only holds time back until ingest's next reports (every few seconds).
        """
        now = now or self._now()
        tick = time.monotonic()
        if self._rows is None or tick - self._synced_at >= self._sync_s:
            await self._sync(session, now, tick)
        before = self._rows or {}
        new = self._parse(marks)
        rows = merge(before, new) if new else before
        self._rows = rows
        self._dirty |= {r.key for r in new}
        if any(
            r.caught_up and not rows[r.key].caught_up
            for r in before.values()
            if r.key in self._dirty
        ):
            await self._sync(session, now, tick)  # fell behind: say so at once
        bound = judgement_bound(rows, now, self._fresh, self._lateness)
        return Progress(bound, read_up_to(before))

    async def _sync(self, session: AsyncSession, now: datetime, tick: float) -> None:
        """Store our newer reports, read everyone's (other instances' partitions)."""
        if self._rows is not None and self._dirty:
            # one row per key: a batch may hold several reports of one partition
            await store_watermarks(session, [self._rows[k] for k in sorted(self._dirty)])
        stored = await load_watermarks(session)
        mine = [self._rows[k] for k in self._dirty] if self._rows is not None else []
        self._rows = merge(stored, mine) if mine else stored
        self._dirty = set()
        self._synced_at = tick
        for source, mark in source_watermarks(self._rows, now, self._fresh).items():
            self._metrics.watermark_lag.labels(source).set(max(0.0, (now - mark).total_seconds()))

    def _parse(self, marks: Sequence[ConsumerRecord]) -> list[WatermarkRow]:
        new = []
        for record in marks:
            try:
                new.append(row_of(watermark_from_json(record.value or b"")))
            except (ValidationError, ValueError) as error:
                self._metrics.malformed.inc()
                log.warning(
                    "skipping malformed watermark", offset=record.offset, error=str(error)[:300]
                )
        return new

    def count_late(self, signals: Sequence[ScoringSignal], progress: Progress) -> None:
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
        tick = time.monotonic()
        if tick - self._released_at < self._sync_s:
            return 0
        # no bound in effect (every source read to the present): whatever an earlier bound
        # held back is judged at its own time now
        reach = UNBOUNDED if progress.bound is None else progress.bound
        ids = await held_back_accounts(session, reach, self._chunk)
        # a full chunk: more are waiting, go on with the next batch
        self._released_at = tick if len(ids) < self._chunk else float("-inf")
        if ids:
            await self._scorer.rescore(
                session, ids, as_of=None, trigger="watermark", bound=progress.bound
            )
        return len(ids)

    async def clock_bound(self, session: AsyncSession, now: datetime) -> datetime | None:
        """The bound for a clock pass at ``now`` (no new reports)."""
        return (await self.advance(session, [], now)).bound
