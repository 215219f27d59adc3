"""Users and features active again since a past cut-off, put back as they stood then."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.scoring.domain.account_state import AccountState, Rollup, UserDay
from services.scoring.scorecard.past_state import state_at

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=30)


def used(user: str, feature: str, days_ago: int) -> tuple[UserDay, Rollup]:
    day = (NOW - timedelta(days=days_ago)).date()
    return UserDay(day, "used", user), Rollup(day, "usage", "used", feature, "", 1, 1.0)


def test_a_user_active_again_since_is_put_back_at_the_last_day_before_the_cut_off() -> None:
    history = [used("ann", "reports", d) for d in (40, 33, 31, 2)] + [used("bob", "alerts", 35)]
    state = AccountState(
        account_id="a",
        first_seen_at=NOW - timedelta(days=60),
        user_last_seen={"ann": NOW - timedelta(days=2), "bob": NOW - timedelta(days=35)},
        feature_last_used={"reports": NOW - timedelta(days=2), "alerts": NOW - timedelta(days=35)},
        user_days=tuple(u for u, _ in history),
        rollups=tuple(r for _, r in history),
    )
    past = state_at(state, CUTOFF)
    end_of_day_31 = datetime.combine((NOW - timedelta(days=31)).date(), datetime.max.time(), UTC)
    assert past.user_last_seen == {"ann": end_of_day_31, "bob": NOW - timedelta(days=35)}
    assert past.feature_last_used == {"reports": end_of_day_31, "alerts": NOW - timedelta(days=35)}
    # active on the cut-off's own day: at most the cut-off itself
    same_day = replace(state, user_days=(UserDay(CUTOFF.date(), "used", "ann"),))
    assert state_at(same_day, CUTOFF).user_last_seen["ann"] == CUTOFF
    # nothing kept before the cut-off (past the retention): left out
    forgotten = replace(state, user_days=(), rollups=())
    assert state_at(forgotten, CUTOFF).user_last_seen == {"bob": NOW - timedelta(days=35)}
    # nobody used anything since: the state itself
    assert state_at(state, NOW) is state


@given(st.lists(st.tuples(st.sampled_from("abcd"), st.integers(0, 60)), min_size=1))
def test_as_of_the_cut_off_it_is_the_state_of_the_days_before(uses: list[tuple[str, int]]) -> None:
    """Against the naive recomputation: from the days up to the cut-off alone, each user's
    latest day (its end, at most the cut-off)."""
    days = [UserDay((NOW - timedelta(days=d)).date(), "used", u) for u, d in uses]
    latest = {u: NOW - timedelta(days=min(d for v, d in uses if v == u)) for u, _ in uses}
    state = AccountState(
        account_id="a",
        first_seen_at=NOW - timedelta(days=90),
        user_last_seen={u: min(t, NOW) for u, t in latest.items()},
        user_days=tuple(days),
    )
    expected = {}
    for u in latest:
        before = [d.day for d in days if d.user_id == u and d.day <= CUTOFF.date()]
        if latest[u] <= CUTOFF:
            expected[u] = latest[u]
        elif before:
            end = datetime.combine(max(before), datetime.max.time(), UTC)
            expected[u] = min(CUTOFF, end)
    assert state_at(state, CUTOFF).user_last_seen == expected
