"""An account's use as it stood at a past cut-off, as far as the rollups tell. Pure.

The state keeps each user's and each feature's *latest* use. At a past cut-off, a
user active again since would look as if never seen: a backtest would count
fewer users than there were, and more silent days. The daily rollups keep which
users (and which features) were active on which day, so each of those is put back
at the last day it was active on or before the cut-off: the end of that day (at
most the cut-off itself), the most recent moment the day allows. One left out of
the rollups' retention stays out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from services.scoring.domain.account_state import AccountState

END_OF_DAY = timedelta(days=1) - timedelta(microseconds=1)


def state_at(state: AccountState, at: datetime) -> AccountState:
    """``state`` with its users' and features' latest use as of ``at``."""
    users = _as_of(state.user_last_seen, at, ((d.day, d.user_id) for d in state.user_days))
    features = _as_of(
        state.feature_last_used,
        at,
        ((r.day, r.feature) for r in state.rollups if r.source == "usage" and r.feature),
    )
    if users is None and features is None:
        return state
    return replace(
        state,
        user_last_seen=state.user_last_seen if users is None else users,
        feature_last_used=state.feature_last_used if features is None else features,
    )


def _as_of(
    latest: Mapping[str, datetime], at: datetime, active: Iterable[tuple[date, str]]
) -> dict[str, datetime] | None:
    """Each name's latest use up to ``at``; None when none was used after ``at``."""
    later = {name for name, seen in latest.items() if seen > at}
    if not later:
        return None
    last_day: dict[str, date] = {}
    cutoff_day = at.date()
    for day, name in active:
        if name in later and day <= cutoff_day and day > last_day.get(name, date.min):
            last_day[name] = day
    kept = {name: seen for name, seen in latest.items() if seen <= at}
    for name, day in last_day.items():
        kept[name] = min(at, datetime.combine(day, time(), UTC) + END_OF_DAY)
    return kept
