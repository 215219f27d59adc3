"""Per raw partition event-time progress, and when to tell scoring about it. Pure.

A partition's watermark is the highest event time of a valid event read from
it. Once ingest has read the partition to its end and nothing new has come for
``idle_s`` (idle), the watermark also advances with the wall clock less the
allowed lateness, so a quiet source never holds time back (Flink's idleness).
Nothing read and not idle: no watermark, the partition holds time back.

"Read to its end" alone is not idle: a producer replaying history keeps a
partition's end moving while ingest reads it, and at its end a moment later
there is more history. An idle partition that receives events again starts a
new backlog: its watermark is what it has read of that backlog, however old
(history produced to a pipeline that was current is read as history, not as
late events; scoring lets such a report move its watermark back).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.contracts.watermarks import WatermarkRecord

PartitionKey = tuple[str, int]  # (raw topic, partition)


@dataclass
class _Progress:
    seen: datetime | None = None  # the highest event time read this session
    backlog: datetime | None = None  # the highest read since the partition was last idle
    caught_up: bool = False  # read to its end at the last look
    idle: bool = False  # caught up and quiet for ``idle_s``; reported as caught up
    read_at: float = 0.0  # monotonic time of the last event read (or of the session start)
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
    seen: datetime | None = None


class WatermarkTracker:
    """One per ingest session: it starts again from what the session reads."""

    def __init__(
        self,
        sources: Mapping[str, str],
        *,
        lateness: timedelta,
        interval_s: float,
        idle_s: float = 0.0,
        monotonic: float = 0.0,
    ) -> None:
        self._sources = dict(sources)  # raw topic -> source name
        self._lateness = lateness
        self._interval_s = interval_s
        self._idle_s = idle_s
        self._started = monotonic  # a partition is quiet from the session's start at most
        self._parts: dict[PartitionKey, _Progress] = {}
        self._empty: set[str] = set()  # expected sources' topics with nothing produced yet

    def observe(
        self, topic: str, partition: int, occurred_at: datetime, monotonic: float = 0.0
    ) -> None:
        """A valid event was read (its event time counts, however old)."""
        progress = self._part((topic, partition))
        if progress.idle:  # reported read to the present: this is a new backlog
            progress.idle, progress.backlog = False, None
        progress.read_at = max(progress.read_at, monotonic)
        if progress.seen is None or occurred_at > progress.seen:
            progress.seen = occurred_at
        if progress.backlog is None or occurred_at > progress.backlog:
            progress.backlog = occurred_at

    def _part(self, key: PartitionKey) -> _Progress:
        progress = self._parts.get(key)
        if progress is None:
            progress = self._parts[key] = _Progress(read_at=self._started)
        return progress

    def positions(
        self,
        lags: Mapping[PartitionKey, int],
        counts: Mapping[str, int],
        empty: Iterable[str] = (),
        monotonic: float | None = None,
    ) -> None:
        """The assignment and how far behind each partition is (0 = caught up).

        ``empty``: topics of expected sources nothing was ever produced to; they
        hold time back even when caught up (their history may be yet to come).
        """
        self._empty = set(empty)
        for key in [k for k in self._parts if k not in lags]:
            del self._parts[key]  # revoked: another instance reports it now
        for key, lag in lags.items():
            progress = self._part(key)
            progress.caught_up = lag <= 0
            progress.partitions = max(1, counts.get(key[0], progress.partitions))
            if monotonic is not None:
                self._settle(key, progress, monotonic)

    def watermark(self, key: PartitionKey, now: datetime) -> datetime | None:
        progress = self._parts[key]
        if not progress.idle:
            return progress.backlog
        idle = now - self._lateness
        return idle if progress.seen is None or progress.seen < idle else progress.seen

    def read(self, key: PartitionKey) -> datetime | None:
        """What was read of the partition, without the idle allowance."""
        progress = self._parts[key]
        return progress.seen if progress.idle else progress.backlog

    def _settle(self, key: PartitionKey, progress: _Progress, monotonic: float) -> None:
        """Idle: read to its end, nothing new for ``idle_s``, and not an expected source
        nothing was produced to yet. Once idle, it stays so until an event is read."""
        if not progress.caught_up or key[0] in self._empty:
            if progress.idle:  # fell behind: a new backlog, nothing of it read yet
                progress.idle, progress.backlog = False, None
            return
        if not progress.idle and monotonic - progress.read_at >= self._idle_s:
            progress.idle = True

    def due(self, now: datetime, monotonic: float) -> list[PartitionMark]:
        """Partitions to report now: moved while behind, flipped, or not reported lately.

        A caught-up partition is reported about once per interval: scoring
        treats a recent caught-up report as "read up to the wall clock".
        """
        marks = []
        parts = [(k, p) for k, p in sorted(self._parts.items()) if k[0] in self._sources]
        for key, progress in parts:
            self._settle(key, progress, monotonic)
        # Every partition is re-sent in the same round: reports staggered over the
        # interval (partitions go idle at different moments) would leave no quiet moment
        # on ``signals``, and a consumer's lag would never read zero twice in a row.
        round_due = any(
            p.sent_at is None or monotonic - p.sent_at >= self._interval_s for _, p in parts
        )
        for key, progress in parts:
            state = (self.watermark(key, now), progress.idle)
            stale = round_due
            moved = progress.sent is None or (
                state != progress.sent and not (state[1] and progress.sent[1])
            )
            if stale or moved:
                progress.sent_at, progress.sent = monotonic, state
                marks.append(
                    PartitionMark(key[0], key[1], progress.partitions, *state, self.read(key))
                )
        return marks

    def reopened(self, keys: Iterable[PartitionKey], monotonic: float) -> list[PartitionMark]:
        """Partitions last reported idle that a batch about to be sent read events from.

        Their report goes out before the batch's signals: scoring must not judge
        those signals by the wall clock the partition stood for while idle (the
        batch may be a replay's history). Nothing of the backlog counts as read
        until the batch's own report, after its signals.
        """
        marks = []
        for key in sorted(set(keys)):
            progress = self._parts.get(key)
            if key[0] not in self._sources or progress is None or progress.sent is None:
                continue
            if progress.sent[1]:
                progress.sent_at, progress.sent = monotonic, (None, False)
                marks.append(PartitionMark(key[0], key[1], progress.partitions, None, False))
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
                seen=m.seen,
            )
            for m in marks
            for p in range(signals_partitions)
        ]
