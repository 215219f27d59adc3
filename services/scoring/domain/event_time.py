"""Event time in scoring: watermarks, the time an account may be judged at. Pure.

Ingest reports, per raw partition and on every ``signals`` partition, how far
in event time it has read (``shared.contracts.watermarks``). Scoring keeps the
latest report per (signals partition, source, raw partition) with its offsets
and derives one bound: no account is judged at a time past it, so silence is
only silence where every source has been read up to that time.

- A report that is caught up and recent (``fresh``) stands for the wall clock;
  when every report is, no bound is in effect: every source is read to the
  present, so an event is scored at once at its own time, even one dated ahead
  of the wall clock (judging that at "now" would make the stored state depend on
  when it was computed, and re-score it every second until its time came).
- A caught-up report that is not recent stands for its emission time.
- Otherwise a report stands for its watermark (the highest event time read);
  none yet holds time back entirely (``HELD``).
- Accounts may be judged up to the allowed lateness past the slowest of them
  while it reads the present (within the lateness of the wall clock); a source
  reading history bounds judgements at what it has read, exactly.
- A watermark never moves back, except when a report that is not caught up
  follows a caught-up one: the source was idle and now reads a new backlog
  (history produced to a pipeline that was current), and the backlog's progress
  is what it has read, not the wall clock it stood for while idle.
- Until every (signals partition, raw partition) of each reported source is
  known, time is held back; with no report at all watermarks are not in effect
  (signals produced without ingest are scored at their own time, as before).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from services.scoring.domain.account_state import JudgedAt
from shared.contracts.watermarks import WatermarkRecord

HELD = datetime.min.replace(tzinfo=UTC)
Key = tuple[int, str, int]  # (signals partition, source, raw partition)


@dataclass(frozen=True)
class WatermarkRow:
    signals_partition: int
    source: str
    raw_partition: int
    raw_partitions: int
    signals_partitions: int
    watermark: datetime | None
    caught_up: bool
    emitted_at: datetime
    seen: datetime | None = None  # read, without the idle allowance (None: unknown)

    @property
    def key(self) -> Key:
        return (self.signals_partition, self.source, self.raw_partition)


def row_of(record: WatermarkRecord) -> WatermarkRow:
    return WatermarkRow(
        record.signals_partition,
        record.source,
        record.raw_partition,
        record.raw_partitions,
        record.signals_partitions,
        record.watermark,
        record.caught_up,
        record.emitted_at,
        record.seen,
    )


def merge(rows: Mapping[Key, WatermarkRow], new: Iterable[WatermarkRow]) -> dict[Key, WatermarkRow]:
    """Watermarks never move back but when a source falls behind (``fell_behind``); the
    latest report says whether it is caught up."""
    merged = dict(rows)
    for row in sorted(new, key=lambda r: r.emitted_at):
        old = merged.get(row.key)
        if old is None:
            merged[row.key] = row
            continue
        if row.emitted_at >= old.emitted_at and fell_behind(old, row):
            merged[row.key] = row
            continue
        latest = row if row.emitted_at >= old.emitted_at else old
        merged[row.key] = replace(
            latest,
            watermark=_latest(old.watermark, row.watermark),
            seen=_latest(old.seen, row.seen),
        )
    return merged


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def fell_behind(old: WatermarkRow, new: WatermarkRow) -> bool:
    """An idle partition receives events again: the wall clock it stood for is no
    promise about them (a replay's history), its watermark is the new backlog's."""
    return old.caught_up and not new.caught_up


def effective(
    row: WatermarkRow, now: datetime, fresh: timedelta, catching_up: bool = False
) -> datetime:
    if row.watermark is None:
        return HELD
    if row.caught_up:
        if catching_up:  # history may be on its way here too: what was read, no more
            return HELD if row.seen is None else min(row.seen, row.watermark)
        if now - row.emitted_at <= fresh:
            return now
        return max(row.emitted_at, row.watermark)
    return row.watermark


def catching_up(rows: Mapping[Key, WatermarkRow], now: datetime, lateness: timedelta) -> bool:
    """Some partition reads history (behind, and further than the lateness behind the
    wall clock): a replay or a restart catching up. A caught-up partition then stands
    for what it has read, not for the wall clock: the replay's producer may not have
    written its share yet (an idle partition cannot tell history to come from none)."""
    edge = now - lateness
    return any(
        not r.caught_up and (r.watermark is None or r.watermark < edge) for r in rows.values()
    )


def _present(row: WatermarkRow, now: datetime, fresh: timedelta) -> bool:
    """Caught up and recently reported: the source is read to the present."""
    return row.watermark is not None and row.caught_up and now - row.emitted_at <= fresh


def complete(rows: Mapping[Key, WatermarkRow]) -> bool:
    """Every raw partition of every reported source is known on every signals partition."""
    signals = max(r.signals_partitions for r in rows.values())
    wanted: dict[str, int] = {}
    for row in rows.values():
        wanted[row.source] = max(wanted.get(row.source, 1), row.raw_partitions)
    for source, partitions in wanted.items():
        have = {(r.signals_partition, r.raw_partition) for r in rows.values() if r.source == source}
        if not {(s, p) for s in range(signals) for p in range(partitions)} <= have:
            return False
    return True


def judgement_bound(
    rows: Mapping[Key, WatermarkRow],
    now: datetime,
    fresh: timedelta,
    lateness: timedelta = timedelta(0),
) -> datetime | None:
    """The latest time any account may be judged at; ``None``: not in effect.

    The slowest effective watermark plus the allowed lateness: a partition read
    a few hundred milliseconds behind the others (as in any live stream, with
    records fetched but not yet returned) must not delay scoring, and silence
    shorter than the lateness is no signal to a model whose windows are days.
    """
    if not rows:
        return None
    if not complete(rows):
        return HELD
    if all(_present(r, now, fresh) for r in rows.values()):
        return None
    behind = catching_up(rows, now, lateness)
    slowest = min(effective(r, now, fresh, behind) for r in rows.values())
    if slowest == HELD:
        return HELD
    # the allowance is for the present: history is judged no later than it was read
    return slowest + lateness if slowest + lateness >= now else slowest


def source_watermarks(
    rows: Mapping[Key, WatermarkRow], now: datetime, fresh: timedelta
) -> dict[str, datetime]:
    """Per source, the effective watermark of its slowest partition (for lag metrics)."""
    out: dict[str, datetime] = {}
    for row in rows.values():
        mark = effective(row, now, fresh)
        out[row.source] = min(mark, out.get(row.source, mark))
    return out


def read_up_to(rows: Mapping[Key, WatermarkRow]) -> dict[str, datetime]:
    """Per source, the lowest watermark reported (an event older than it is late)."""
    out: dict[str, datetime] = {}
    for row in rows.values():
        if row.watermark is not None:
            out[row.source] = min(row.watermark, out.get(row.source, row.watermark))
    return out


def judgement_time(
    account: JudgedAt, as_of: datetime | None, bound: datetime | None
) -> datetime | None:
    """When to judge ``account``: its own clock (or ``as_of``), never past ``bound``.

    Never earlier than the account was last judged (a late event re-scores at
    that same time), nor than its latest applied event: the stored state keeps
    the latest use of each user and feature, not their history, so it cannot be
    judged as of a time before what it holds. ``None``: not yet (held back).
    """
    latest: datetime = account.last_event_at
    previous: datetime | None = account.scored_as_of
    own = as_of or (previous if previous is not None and previous > latest else latest)
    if bound is None:
        return own
    at = min(own, bound)
    if previous is not None and at < previous and latest <= previous:
        return previous  # late events only: the same time again, now with them
    return None if at < latest else at
