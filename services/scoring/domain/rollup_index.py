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

from services.scoring.domain.account_state import SEP, Rollup, UserDay, decode_day, rollup_key


class Series(NamedTuple):
    """One key's days, ascending by day ordinal, with each day's (events, quantity) as
    stored (the stored JSON's own lists: indexing copies no value)."""

    ords: list[int]
    counts: list[Sequence[float]]


class Keyed(NamedTuple):
    """A key of one source and its days."""

    type: str
    feature: str
    detail: str
    series: Series


RollupIndex = dict[str, list[Keyed]]  # source -> its keys
UserIndex = dict[
    str, list[tuple[str, list[int]]]
]  # usage type -> (user, active ordinals, ascending)


def index_rollups(rollups: Iterable[Rollup]) -> RollupIndex:
    grouped: dict[str, Series] = {}
    for r in sorted(rollups, key=_day):
        key = rollup_key(r.source, r.type, r.feature, r.detail)
        series = grouped.get(key)
        if series is None:
            series = grouped[key] = Series([], [])
        series.ords.append(r.day.toordinal())
        series.counts.append((r.events, r.quantity))
    return _by_source(grouped)


def _by_source(grouped: dict[str, Series]) -> RollupIndex:
    index: RollupIndex = {}
    for key, series in grouped.items():
        source, kind, feature, detail = key.split(SEP)
        index.setdefault(source, []).append(Keyed(kind, feature, detail, series))
    return index


def index_user_days(user_days: Iterable[UserDay]) -> UserIndex:
    grouped: dict[str, list[int]] = {}
    for d in sorted(user_days, key=_day):
        grouped.setdefault(f"{d.type}{SEP}{d.user_id}", []).append(d.day.toordinal())
    return _by_type(grouped)


def _by_type(grouped: dict[str, list[int]]) -> UserIndex:
    index: UserIndex = {}
    for key, ords in grouped.items():
        kind, user = key.split(SEP, 1)
        index.setdefault(kind, []).append((user, ords))
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
        grouped: dict[str, Series] = {}
        for day, counts, _users in self._days:
            ordinal = day.toordinal()
            for key, pair in counts.items():
                series = grouped.get(key)
                if series is None:
                    series = grouped[key] = Series([], [])
                series.ords.append(ordinal)
                series.counts.append(pair)
        return _by_source(grouped)


class StoredUserDays(_Stored[UserDay]):
    """The loaded days' users' days."""

    def _decoded(self) -> Iterator[UserDay]:
        for day, _counts, users in self._days:
            yield from decode_day(day, {}, users)[1]

    @cached_property
    def by_key(self) -> UserIndex:
        grouped: dict[str, list[int]] = {}
        for day, _counts, users in self._days:
            ordinal = day.toordinal()
            for key in users:
                ords = grouped.get(key)
                if ords is None:
                    grouped[key] = [ordinal]
                else:
                    ords.append(ordinal)
        return _by_type(grouped)


def _stored_day(day: StoredDay) -> date:
    return day[0]


def rollup_index(rollups: Sequence[Rollup]) -> RollupIndex:
    return rollups.by_key if isinstance(rollups, StoredRollups) else index_rollups(rollups)


def user_index(user_days: Sequence[UserDay]) -> UserIndex:
    return user_days.by_key if isinstance(user_days, StoredUserDays) else index_user_days(user_days)
