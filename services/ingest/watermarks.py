"""Per raw partition event-time progress, and when to tell scoring about it. Pure.

A partition's watermark is the highest event time of a valid event read from
it; once ingest has read the partition to its end (caught up), the watermark
also advances with the wall clock less the allowed lateness, so a quiet source
never holds time back (Flink's idleness). Nothing read and not caught up: no
watermark, the partition holds time back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.contracts.watermarks import WatermarkRecord

PartitionKey = tuple[str, int]  # (raw topic, partition)


@dataclass
class _Progress:
    seen: datetime | None = None
    caught_up: bool = False
    partitions: int = 1
    sent_at: float | None = None  # monotonic time of the last emission
    sent: tuple[datetime | None, bool] | None = None


@dataclass(frozen=True)
class PartitionMark:
    topic: str
    partition: int
    partitions: int
    watermark: datetime | None
    caught_up: bool


class WatermarkTracker:
    """One per ingest session: it starts again from what the session reads."""

    def __init__(
        self, sources: Mapping[str, str], *, lateness: timedelta, interval_s: float
    ) -> None:
        self._sources = dict(sources)  # raw topic -> source name
        self._lateness = lateness
        self._interval_s = interval_s
        self._parts: dict[PartitionKey, _Progress] = {}
        self._empty: set[str] = set()  # expected sources' topics with nothing produced yet

    def observe(self, topic: str, partition: int, occurred_at: datetime) -> None:
        """A valid event was read (its event time counts, however old)."""
        progress = self._parts.setdefault((topic, partition), _Progress())
        if progress.seen is None or occurred_at > progress.seen:
            progress.seen = occurred_at

    def positions(
        self,
        lags: Mapping[PartitionKey, int],
        counts: Mapping[str, int],
        empty: Iterable[str] = (),
    ) -> None:
        """The assignment and how far behind each partition is (0 = caught up).

        ``empty``: topics of expected sources nothing was ever produced to; they
        hold time back even when caught up (their history may be yet to come).
        """
        self._empty = set(empty)
        for key in [k for k in self._parts if k not in lags]:
            del self._parts[key]  # revoked: another instance reports it now
        for key, lag in lags.items():
            progress = self._parts.setdefault(key, _Progress())
            progress.caught_up = lag <= 0
            progress.partitions = max(1, counts.get(key[0], progress.partitions))

    def watermark(self, key: PartitionKey, now: datetime) -> datetime | None:
        progress = self._parts[key]
        if not progress.caught_up or key[0] in self._empty:
            return progress.seen
        idle = now - self._lateness
        return idle if progress.seen is None or progress.seen < idle else progress.seen

    def due(self, now: datetime, monotonic: float) -> list[PartitionMark]:
        """Partitions to report now: moved while behind, flipped, or not reported lately.

        A caught-up partition is reported about once per interval: scoring
        treats a recent caught-up report as "read up to the wall clock".
        """
        marks = []
        for key, progress in sorted(self._parts.items()):
            if key[0] not in self._sources:
                continue
            # an expected source with nothing produced yet is not caught up with its history
            state = (self.watermark(key, now), progress.caught_up and key[0] not in self._empty)
            stale = progress.sent_at is None or monotonic - progress.sent_at >= self._interval_s
            moved = progress.sent is None or (
                state != progress.sent and not (state[1] and progress.sent[1])
            )
            if stale or moved:
                progress.sent_at, progress.sent = monotonic, state
                marks.append(PartitionMark(key[0], key[1], progress.partitions, *state))
        return marks

    def lag_seconds(self, now: datetime) -> dict[str, float]:
        """Per source, how far its slowest partition here is behind the wall clock."""
        lowest: dict[str, datetime | None] = {}
        for key in self._parts:
            source = self._sources.get(key[0])
            if source is None:
                continue
            mark = self.watermark(key, now)
            known = lowest.get(source, mark)
            lowest[source] = None if mark is None or known is None else min(mark, known)
        return {s: max(0.0, (now - m).total_seconds()) for s, m in lowest.items() if m is not None}

    def records(
        self, marks: Iterable[PartitionMark], signals_partitions: int, now: datetime
    ) -> list[WatermarkRecord]:
        """Each mark once per ``signals`` partition (every scoring instance sees it)."""
        return [
            WatermarkRecord(
                source=self._sources[m.topic],
                raw_topic=m.topic,
                raw_partition=m.partition,
                raw_partitions=m.partitions,
                signals_partition=p,
                signals_partitions=signals_partitions,
                watermark=m.watermark,
                caught_up=m.caught_up,
                emitted_at=now,
            )
            for m in marks
            for p in range(signals_partitions)
        ]
