"""The daily rollups and users' days indexed once per account, for the measures. Pure.

A scorecard's rollup measures each filter one source by type, feature or severity
over a window of days. Scanning every (day, key) row once per measure and per
``as_of`` cost more than the rest of scoring; instead the rows are grouped once by
key, each key's days sorted, and a measure picks its keys (a few dozen per account)
and cuts each key's days to its window by bisection.

The loaded state carries :class:`StoredRollups` and :class:`StoredUserDays`: built
from the stored JSON objects without a ``Rollup`` per key and day (that decoding
was most of a batch's time), indexed once on first use, so that the score, the
band a day earlier and the explanation of one account share it. Any other
sequence (a test's tuple) is indexed on each read, with the same results.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from functools import cached_property
from typing import NamedTuple, TypeVar, overload

from services.scoring.account_state import SEP, Rollup, UserDay, decode_day, rollup_key


class Series(NamedTuple):
    """One key's days, ascending by day ordinal, with their events and quantities;
    ``active`` holds the ordinals of the days with events (all of them, as stored)."""

    ords: list[int]
    events: list[int]
    quantities: list[float]
    active: list[int]


class Keyed(NamedTuple):
    """A key of one source and its days."""

    type: str
    feature: str
    detail: str
    series: Series


RollupIndex = dict[str, list[Keyed]]  # source -> its keys
UserIndex = dict[str, tuple[list[int], list[str]]]  # usage type -> (ordinals, users), ascending


def index_rollups(rollups: Iterable[Rollup]) -> RollupIndex:
    return _index_days(
        (r.day.toordinal(), rollup_key(r.source, r.type, r.feature, r.detail), r.events, r.quantity)
        for r in sorted(rollups, key=_day)
    )


def _index_days(rows: Iterable[tuple[int, str, int, float]]) -> RollupIndex:
    """The index of (ordinal, stored key, events, quantity) rows in ascending days."""
    grouped: dict[str, Series] = {}
    for day, key, events, quantity in rows:
        series = grouped.get(key)
        if series is None:
            series = grouped[key] = Series([], [], [], [])
        series.ords.append(day)
        series.events.append(events)
        series.quantities.append(quantity)
        if events:
            series.active.append(day)
    index: RollupIndex = {}
    for key, series in grouped.items():
        source, kind, feature, detail = key.split(SEP)
        index.setdefault(source, []).append(Keyed(kind, feature, detail, series))
    return index


def index_user_days(user_days: Iterable[UserDay]) -> UserIndex:
    index: UserIndex = {}
    for d in sorted(user_days, key=_day):
        ords, users = index.get(d.type) or index.setdefault(d.type, ([], []))
        ords.append(d.day.toordinal())
        users.append(d.user_id)
    return index


def _day(row: Rollup | UserDay) -> date:
    return row.day


T = TypeVar("T")
StoredDay = tuple[date, Mapping[str, Sequence[float]], Mapping[str, object]]


class _Stored(Sequence[T]):
    """Rows of the loaded days as stored (day, counts by key, users by key), decoded
    into rows only when iterated; ``by_key`` is indexed straight from the stored keys."""

    def __init__(self, days: Iterable[StoredDay]) -> None:
        self._days = sorted(days, key=_stored_day)

    @cached_property
    def rows(self) -> tuple[T, ...]:
        return tuple(self._decoded())

    def _decoded(self) -> Iterator[T]:
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[T]: ...
    def __getitem__(self, i: int | slice) -> T | Sequence[T]:
        return self.rows[i]

    def __len__(self) -> int:
        return len(self.rows)


class StoredRollups(_Stored[Rollup]):
    """The loaded days' rollups."""

    def _decoded(self) -> Iterator[Rollup]:
        for day, counts, _users in self._days:
            yield from decode_day(day, counts, ())[0]

    @cached_property
    def by_key(self) -> RollupIndex:
        return _index_days(
            (day.toordinal(), key, int(events), quantity)
            for day, counts, _users in self._days
            for key, (events, quantity) in counts.items()
        )


class StoredUserDays(_Stored[UserDay]):
    """The loaded days' users' days."""

    def _decoded(self) -> Iterator[UserDay]:
        for day, _counts, users in self._days:
            yield from decode_day(day, {}, users)[1]

    @cached_property
    def by_key(self) -> UserIndex:
        index: UserIndex = {}
        for day, _counts, users in self._days:
            ordinal = day.toordinal()
            for key in users:
                kind, user = key.split(SEP, 1)
                ords, names = index.get(kind) or index.setdefault(kind, ([], []))
                ords.append(ordinal)
                names.append(user)
        return index


def _stored_day(day: StoredDay) -> date:
    return day[0]


def rollup_index(rollups: Sequence[Rollup]) -> RollupIndex:
    return rollups.by_key if isinstance(rollups, StoredRollups) else index_rollups(rollups)


def user_index(user_days: Sequence[UserDay]) -> UserIndex:
    return user_days.by_key if isinstance(user_days, StoredUserDays) else index_user_days(user_days)
