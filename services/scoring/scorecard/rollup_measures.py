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

from collections.abc import Callable
from datetime import datetime

from services.scoring.account_state import AccountState, StateNeeds
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

Row = tuple[int, str, str, str, int, float]  # age in days, type, feature, detail, events, qty
Reader = Callable[["RollupView"], float | None]


class RollupView:
    """The rollups and users' days of one account at one ``as_of``, aged once, by source."""

    __slots__ = ("_by_source", "_state", "_users", "today")

    def __init__(self, state: AccountState, as_of: datetime) -> None:
        self._state, self.today = state, as_of.date().toordinal()
        self._by_source: dict[str, list[Row]] | None = None
        self._users: list[tuple[int, str, str]] | None = None

    def rows(self, source: str) -> list[Row]:
        """The source's rollups up to ``as_of``'s day."""
        if self._by_source is None:
            today, by = self.today, dict[str, list[Row]]()
            for r in self._state.rollups:
                age = today - r.day.toordinal()
                if age >= 0:
                    row = (age, r.type, r.feature, r.detail, r.events, r.quantity)
                    by.setdefault(r.source, []).append(row)
            self._by_source = by
        return self._by_source.get(source, [])

    def user_days(self) -> list[tuple[int, str, str]]:
        """(age, type, user) of each user's active day up to ``as_of``'s day."""
        if self._users is None:
            today = self.today
            aged = ((today - d.day.toordinal(), d.type, d.user_id) for d in self._state.user_days)
            self._users = [day for day in aged if day[0] >= 0]
        return self._users


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


def _match(m: Measure) -> Callable[[Row], bool]:
    types, features, severities = frozenset(m.types), frozenset(m.features), frozenset(m.severities)
    return lambda row: (
        (not types or row[1] in types)
        and (not features or row[2] in features)
        and (not severities or row[3] in severities)
    )


def _windowed(m: Measure) -> Reader:
    """count, sum of quantity or days active over the window, or its rate against the
    baseline's: (rate in the window) / (rate in the ``baseline_days`` before it)."""
    source, match = m.source, _match(m)
    window, baseline = m.window_days or 0, m.baseline_days
    end = window + (baseline or 0)
    factor = (baseline or 0) / window
    quantity = m.aggregate == "sum_quantity"

    def totals(view: RollupView) -> tuple[float, float]:
        current = before = 0.0
        if m.aggregate == "days_active":
            ages = {row[0] for row in view.rows(source) if row[0] < end and match(row)}
            current = float(sum(1 for age in ages if age < window))
            return current, float(len(ages)) - current
        for row in view.rows(source):
            age = row[0]
            if age < end and match(row):
                value = row[5] if quantity else row[4]
                if age < window:
                    current += value
                else:
                    before += value
        return current, before

    def read(view: RollupView) -> float | None:
        current, before = totals(view)
        if baseline is None:
            return current
        return None if before <= 0 else current / (before / factor)

    return read


def _distinct_users(m: Measure) -> Reader:
    window, types = m.window_days or 0, frozenset(m.types)
    return lambda view: float(
        len({user for age, kind, user in view.user_days() if age < window and kind in types})
    )


def _distinct_features(m: Measure) -> Reader:
    window, match = m.window_days or 0, _match(m)
    return lambda view: float(
        len({row[2] for row in view.rows("usage") if row[0] < window and row[4] and match(row)})
    )


def _days_since_last(m: Measure) -> Reader:
    source, match = m.source, _match(m)

    def read(view: RollupView) -> float | None:
        ages = [row[0] for row in view.rows(source) if row[4] and match(row)]
        return float(min(ages)) if ages else None

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
