"""Measures read from the daily rollups: the filters the plain state cannot answer. Pure.

The plain state keeps one (events, quantity) pair a day and each user's and
feature's latest use: enough for the built-in model, not for "API calls in 7
days" or "users who exported a report". A measure reads the rollups when it
filters usage by type or feature (count, sum of quantity, days active, days
since last, distinct features by type), counts the users of some usage types
(the users' active days), counts ticket events by type or severity, or counts
payment events by type. Everything else reads the state as before, so the
default scorecard loads nothing more.

Windows are in whole UTC days, as every daily bucket: a day counts when its age
(``as_of``'s day minus the day) is at least 0 and below the window.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from datetime import datetime

from services.scoring.domain.account_state import AccountState, StateNeeds
from services.scoring.domain.rollup_index import (
    Keyed,
    RollupIndex,
    UserIndex,
    rollup_index,
    user_index,
)
from services.scoring.scorecard.document import Measure

# a measure with no window that reads the rollups (days since the last matching event)
# reads all the retained days
ALL_RETAINED = 3650

# (source, aggregate) -> the filters it takes; a pair absent here takes none
FILTERS: dict[tuple[str, str], frozenset[str]] = {
    **{
        ("usage", a): frozenset({"types", "features"})
        for a in ("count", "sum_quantity", "days_active", "days_since_last", "distinct_features")
    },
    ("usage", "distinct_users"): frozenset({"types"}),  # users' days are kept per type
    ("ticket", "count"): frozenset({"types", "severities"}),
    ("ticket", "open_tickets"): frozenset({"severities"}),
    **{
        ("survey", a): frozenset({"kinds"})
        for a in ("count", "latest_survey", "mean_survey_points", "mean_score")
    },
    ("payment", "count"): frozenset({"types"}),
    ("payment", "sum_quantity"): frozenset({"types"}),
}

Reader = Callable[["RollupView"], float | None]


class RollupView:
    """The rollups and users' days of one account at one ``as_of``: a day counts in a
    window of ``w`` days when its ordinal is in ``(today - w, today]``."""

    __slots__ = ("_keys", "_state", "_users", "today")

    def __init__(self, state: AccountState, as_of: datetime) -> None:
        self._state, self.today = state, as_of.date().toordinal()
        self._keys: RollupIndex | None = None
        self._users: UserIndex | None = None

    def keys(self, source: str) -> list[Keyed]:
        """The source's keys, each with its days."""
        if self._keys is None:
            self._keys = rollup_index(self._state.rollups)
        return self._keys.get(source, [])

    def users(self, kind: str) -> list[tuple[str, list[int]]]:
        """Each user active with usage of ``kind``, with the ordinals of those days."""
        if self._users is None:
            self._users = user_index(self._state.user_days)
        return self._users.get(kind, [])


def reads_rollups(m: Measure) -> bool:
    """Whether the measure reads the rollups or the users' days rather than the state."""
    if m.source == "usage":
        if m.aggregate in ("distinct_users", "distinct_features"):
            return bool(m.types)
        return bool(m.types or m.features)
    if m.source == "ticket":
        return m.aggregate == "count" and bool(m.types or m.severities or m.baseline_days)
    return m.source == "payment" and m.aggregate in ("count", "sum_quantity")


def needs_of(m: Measure) -> StateNeeds:
    """What the measure reads beyond the default state, and how many days back."""
    span = (m.window_days or 0) + (m.baseline_days or 0)
    if not reads_rollups(m):
        return StateNeeds(state_days=span)
    days = span or ALL_RETAINED
    if m.aggregate == "distinct_users":
        return StateNeeds(user_days=True, rollup_days=days)
    return StateNeeds(rollups=True, rollup_days=days)


def _match(m: Measure) -> Callable[[Keyed], bool]:
    types, features, severities = frozenset(m.types), frozenset(m.features), frozenset(m.severities)
    return lambda key: (
        (not types or key.type in types)
        and (not features or key.feature in features)
        and (not severities or key.detail in severities)
    )


def _windowed(m: Measure) -> Reader:
    """count, sum of quantity or days active over the window, or its rate against the
    baseline's: (rate in the window) / (rate in the ``baseline_days`` before it)."""
    source, match = m.source, _match(m)
    window, baseline = m.window_days or 0, m.baseline_days
    span = window + (baseline or 0)
    factor = (baseline or 0) / window
    quantity = m.aggregate == "sum_quantity"
    days_active = m.aggregate == "days_active"

    def totals(view: RollupView) -> tuple[float, float]:
        today = view.today
        start, cut = today - span, today - window
        current = before = 0.0
        days: set[int] = set()
        for key in view.keys(source):
            if not match(key):
                continue
            series = key.series
            ords = series.ords
            hi = bisect_right(ords, today)
            mid = bisect_right(ords, cut, 0, hi)
            lo = bisect_right(ords, start, 0, mid)
            if days_active:
                days.update(ords[lo:hi])
                continue
            column = 1 if quantity else 0
            for pair in series.counts[mid:hi]:
                current += pair[column]
            for pair in series.counts[lo:mid]:
                before += pair[column]
        if days_active:
            current = float(sum(1 for day in days if day > cut))
            return current, float(len(days)) - current
        return current, before

    def read(view: RollupView) -> float | None:
        current, before = totals(view)
        if baseline is None:
            return current
        return None if before <= 0 else current / (before / factor)

    return read


def _distinct_users(m: Measure) -> Reader:
    window, types = m.window_days or 0, sorted(set(m.types))

    def read(view: RollupView) -> float:
        today, users = view.today, set[str]()
        for kind in types:
            for user, ords in view.users(kind):
                i = bisect_right(ords, today)
                if i and ords[i - 1] > today - window:
                    users.add(user)
        return float(len(users))

    return read


def _last_active(key: Keyed, today: int) -> int | None:
    """The ordinal of the key's last day with events up to ``today``."""
    ords, counts = key.series
    i = bisect_right(ords, today)
    while i and not counts[i - 1][0]:
        i -= 1
    return ords[i - 1] if i else None


def _distinct_features(m: Measure) -> Reader:
    window, match = m.window_days or 0, _match(m)

    def read(view: RollupView) -> float:
        today, features = view.today, set[str]()
        for key in view.keys("usage"):
            if match(key):
                last = _last_active(key, today)
                if last is not None and last > today - window:
                    features.add(key.feature)
        return float(len(features))

    return read


def _days_since_last(m: Measure) -> Reader:
    source, match = m.source, _match(m)

    def read(view: RollupView) -> float | None:
        today = view.today
        lasts = [_last_active(key, today) for key in view.keys(source) if match(key)]
        latest = max((last for last in lasts if last is not None), default=None)
        return None if latest is None else float(today - latest)

    return read


def rollup_reader(m: Measure) -> Reader:
    """The reader of a measure :func:`reads_rollups` says reads the rollups."""
    if m.aggregate == "distinct_users":
        return _distinct_users(m)
    if m.aggregate == "distinct_features":
        return _distinct_features(m)
    if m.aggregate == "days_since_last":
        return _days_since_last(m)
    return _windowed(m)
