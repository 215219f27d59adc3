"""Rule discipline and the horizon: hysteresis, dwell, cool-down, history held back."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from pydantic import ValidationError

from services.triggers.domain.playbook_config import (
    PLAYBOOKS,
    SEGMENTS,
    PlaybookConfig,
    SegmentRules,
    Timing,
)
from shared.contracts import HealthChange
from tests.unit.triggers.test_decisions import T0, Account, change, kinds

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def flapping(hours: float) -> dict[str, Any]:
    """A steady account whose signals sit on the thresholds: score, band, seats, usage."""
    wave = math.sin(hours / 5)
    score = 80 + 12 * wave if int(hours) % 97 else 55  # now and then a sharp dip
    return {
        "score": score,
        "band": "green" if score >= 70 else "yellow",
        "seats": 10,
        "active_users_7d": 9 if wave > 0 else 8,
        "usage_ratio_to_baseline": 1.1 + 0.25 * (wave > 0.5),
    }


def steady_run(config: PlaybookConfig) -> Account:
    account = Account(config)
    for step in range(60 * 4):  # every 6 hours for 60 days
        hours = 6.0 * step
        f = flapping(hours)
        account.change(
            change(
                hours,
                f.pop("score"),
                f.pop("band"),
                **f,
            )
        )
    return account


def opened(account: Account, playbook: str) -> list[datetime]:
    return [e.at for e in account.events if e.playbook == playbook and e.kind == "triggered"]


@pytest.mark.parametrize("playbook", ["expansion", "score_drop"])
def test_a_steady_flapping_account_opens_at_most_once_a_month(playbook: str) -> None:
    times = opened(steady_run(PlaybookConfig()), playbook)
    assert 1 <= len(times) <= 2
    assert all(b - a >= 30 * DAY for a, b in pairwise(times))


def test_without_discipline_the_same_input_flaps() -> None:
    """The test above can fail: with no dwell, cool-down or hysteresis the input flaps."""
    loose = SegmentRules(
        score_drop_exit_points=20,
        expansion_exit_seat_ratio=0.9,
        expansion_exit_usage_ratio=1.3,
    )
    config = PlaybookConfig(
        timing=dict.fromkeys(PLAYBOOKS, Timing()),
        segments=dict.fromkeys(SEGMENTS, loose),
    )
    account = steady_run(config)
    assert len(opened(account, "expansion")) > 5
    assert len(opened(account, "score_drop")) > 2


def test_at_risk_clears_only_past_its_exit_score() -> None:
    account = Account()
    account.change(change(0, 80, "green"))
    account.change(change(1, 30, "red"))
    assert account.change(change(2, 42, "yellow")) == []  # out of red, not recovered
    assert kinds(account.change(change(3, 46, "yellow"))) == [("at_risk", "resolved")]


def seats(hours: float, active: int) -> HealthChange:
    return change(hours, 90, "green", seats=10, active_users_7d=active)


# the dwell mechanics, on expansion with an entry dwell (its default has none)
DWELLING = PlaybookConfig(
    timing=PlaybookConfig().timing
    | {"expansion": Timing(dwell_hours=6, cooldown_hours=30 * 24, exit_dwell_hours=72)}
)


def test_a_flicker_shorter_than_the_exit_dwell_keeps_the_dwell_running() -> None:
    account = Account(DWELLING)
    account.change(seats(0, 10))
    account.change(seats(1, 7))  # below the exit for 20 h: less than its 72 h exit dwell
    account.change(seats(21, 10))  # so it has held since hour 0, and the 6 h dwell is long past
    assert kinds(account.events) == [("expansion", "triggered")]
    assert account.events[0].at == T0 + 21 * HOUR


def test_dwell_restarts_when_the_condition_clears() -> None:
    account = Account(DWELLING)
    account.change(seats(0, 10))
    account.change(seats(10, 7))
    assert account.clock(T0 + 82 * HOUR) == []  # off 72 h: cleared before it ever opened
    account.change(seats(83, 10))
    assert account.clock(T0 + 88 * HOUR) == []  # 5 h since it held again
    assert kinds(account.clock(T0 + 89 * HOUR)) == [("expansion", "triggered")]


def test_an_open_expansion_resolves_only_after_its_exit_dwell() -> None:
    account = Account()
    account.change(seats(0, 10))
    account.clock(T0 + 6 * HOUR)
    account.change(seats(50, 6))
    assert account.clock(T0 + 121 * HOUR) == []
    assert kinds(account.clock(T0 + 122 * HOUR)) == [("expansion", "resolved")]


def test_an_episode_held_back_is_sent_while_its_condition_flickers() -> None:
    """Live it would be open (a flicker shorter than the exit dwell does not clear it):
    read as history, the first pass within the horizon sends it."""
    end = T0 + 10 * DAY
    account = Account()
    account.change(seats(0, 10), wall_now=end)
    account.change(seats(24, 10), wall_now=end)  # held back
    account.change(seats(10 * 24 - 30, 6), wall_now=end)  # a flicker, 30 h before the end
    sent = account.clock(end, wall_now=end)
    assert kinds(sent) == [("expansion", "triggered")]
    assert account.held_back == ["expansion"]


def test_no_reopen_within_the_cooldown_then_one_after_it() -> None:
    account = Account()
    account.change(change(0, 90, "green"))
    account.change(change(1, 60, "yellow"))  # down 30: opens
    account.change(change(2, 88, "green"))  # recovered: resolves
    account.change(change(3, 60, "yellow"))  # down again: latched, in cool-down
    assert kinds(account.events) == [("score_drop", "triggered"), ("score_drop", "resolved")]
    resolved_at = T0 + 2 * HOUR
    account.change(change(20 * 24, 90, "green"))
    account.change(change(20 * 24 + 1, 60, "yellow"))
    assert len(opened(account, "score_drop")) == 1
    account.change(change(32 * 24, 90, "green"))
    account.change(change(32 * 24 + 1, 60, "yellow"))
    assert opened(account, "score_drop")[1] - resolved_at >= 30 * DAY


HISTORY = [
    change(0, 80, "green", seats=10, active_users_7d=10),
    change(24 * 3, 80, "green", seats=10, active_users_7d=10),  # expansion, for a while
    change(24 * 9, 80, "green", seats=10, active_users_7d=5),
    change(24 * 10, 30, "red"),  # red and a drop, 50 days before the end
    change(24 * 12, 85, "green"),
    change(24 * 52, 90, "green"),
    change(24 * 55, 25, "red"),  # red again five days before the end, and stays
    change(24 * 56, 24, "red"),
]
END = T0 + 60 * DAY


def test_history_emits_nothing_then_exactly_what_holds_once_in_horizon() -> None:
    live, backfill = Account(), Account()
    for c in HISTORY:
        live.change(c)  # each change read as it happened
        assert backfill.change(c, wall_now=END) == []  # all read at the end: history
    assert sorted(backfill.held_back) == sorted(
        ["expansion", "at_risk", "score_drop", "at_risk", "score_drop"]
    )
    live.clock(END)
    opened_now = backfill.clock(END, wall_now=END)
    # the drop is a week old by now: only at_risk still holds
    assert kinds(opened_now) == [("at_risk", "triggered")]
    assert opened_now[0].at == END and opened_now[0].due_by == END + 24 * HOUR
    # the same episode as a live run holds at the end, with the same id
    assert {p: e.episode_id for p, e in backfill.episodes.items()} == {
        p: e.episode_id for p, e in live.episodes.items()
    }
    # replaying the same history, or another clock pass, emits nothing more
    for c in HISTORY:
        assert backfill.change(c, wall_now=END) == []
    assert backfill.clock(END + HOUR, wall_now=END + HOUR) == []


def test_a_late_resolve_still_closes_an_episode_opened_live() -> None:
    account = Account()
    account.change(change(0, 30, "red"))
    assert kinds(account.events) == [("at_risk", "triggered")]
    # read three days late: out of the horizon, yet the open task must be closable
    late = account.change(change(1, 80, "green"), wall_now=T0 + 3 * DAY)
    assert kinds(late) == [("at_risk", "resolved")]


def test_first_in_horizon_change_opens_what_holds() -> None:
    account = Account()
    account.change(change(0, 30, "red"), wall_now=END)
    assert account.events == [] and account.held_back == ["at_risk"]
    recent = account.change(change(60 * 24 - 2, 28, "red"), wall_now=END)
    assert kinds(recent) == [("at_risk", "triggered")]
    assert account.held_back == ["at_risk"]  # counted once, when it was first held back


def test_the_horizon_is_configurable() -> None:
    account = Account(PlaybookConfig(horizon_hours=24 * 90))
    account.change(change(0, 30, "red"), wall_now=END)
    assert kinds(account.events) == [("at_risk", "triggered")]


STARTED = T0 - 2 * DAY


@pytest.mark.parametrize("usage_first", [False, True])
def test_onboarding_opens_once_whichever_of_start_and_usage_arrives_first(
    usage_first: bool,
) -> None:
    first_value = STARTED - HOUR if usage_first else STARTED + HOUR
    account = Account()
    if usage_first:  # usage read before the subscription: no start date known yet
        account.change(change(0, 60, "yellow", first_value_at=first_value))
    account.change(change(1, 60, "yellow", subscription_started_at=STARTED))
    account.change(
        change(2, 65, "yellow", subscription_started_at=STARTED, first_value_at=first_value)
    )
    account.clock(T0 + 5 * DAY)
    triggered = [e for e in account.events if e.playbook == "onboarding"]
    assert [e.kind for e in triggered] == ["triggered"]
    other = Account()
    other.change(change(1, 60, "yellow", subscription_started_at=STARTED))
    assert triggered[0].episode_id == other.events[0].episode_id  # one episode, either order


def test_onboarding_found_by_a_backfill_opens_at_its_end() -> None:
    account = Account()
    account.change(change(0, 60, "yellow", subscription_started_at=STARTED), wall_now=END)
    account.change(
        change(1, 70, "green", subscription_started_at=STARTED, first_value_at=T0), wall_now=END
    )
    assert account.events == []
    assert kinds(account.clock(STARTED + 20 * DAY, wall_now=STARTED + 20 * DAY)) == [
        ("onboarding", "triggered")
    ]


def test_exit_thresholds_must_sit_inside_their_enter_thresholds() -> None:
    with pytest.raises(ValidationError, match="exit thresholds"):
        SegmentRules(expansion_exit_seat_ratio=0.95)
    with pytest.raises(ValidationError, match="unknown playbook in timing"):
        PlaybookConfig(timing={"nope": Timing()})
    with pytest.raises(ValidationError):
        Timing(dwell_hours=-1)


def test_usage_growth_needs_enough_users_and_a_full_baseline_to_mean_something() -> None:
    started = T0 - 60 * DAY
    small, large, young = Account(), Account(), Account()
    growing: dict[str, Any] = {
        "usage_ratio_to_baseline": 1.6,
        "subscription_started_at": started,
        "first_value_at": started,
    }
    for account in (small, large):  # seen by Vigil for 45 days
        account.change(change(-45 * 24, 90, "green", seats=40, active_users_7d=20))
    small.change(change(0, 90, "green", seats=5, active_users_7d=3, **growing))
    large.change(change(0, 90, "green", seats=40, active_users_7d=20, **growing))
    young.change(
        change(0, 90, "green", seats=40, active_users_7d=20, usage_ratio_to_baseline=1.6)
    )  # first seen now: its baseline is still filling
    for account in (small, large, young):
        account.clock(T0 + 6 * HOUR)
    assert [k for k in kinds(large.events) if k[0] == "expansion"] == [("expansion", "triggered")]
    assert small.events == [] and young.events == []


def usage_change(hours: float, r7: float, r14: float, **facts: Any) -> HealthChange:
    """A green account of 20 active users whose usage is ``r7``/``r14`` times its baseline
    over 7/14 days."""
    return change(
        hours,
        90,
        "green",
        seats=40,
        active_users_7d=20,
        usage_ratio_to_baseline=r7,
        usage_ratio_14d_to_baseline=r14,
        **facts,
    )


def expansions(account: Account) -> list[tuple[str, str]]:
    return [k for k in kinds(account.events) if k[0] == "expansion"]


def test_usage_growth_must_last_two_weeks_not_one() -> None:
    """One week over the baseline is chance for a ten-user account; two weeks are growth."""
    started = T0 - 90 * DAY
    week, fortnight = Account(), Account()
    base: dict[str, Any] = {"subscription_started_at": started, "first_value_at": started}
    for account in (week, fortnight):
        account.change(change(-60 * 24, 90, "green", seats=40, active_users_7d=20, **base))
    week.change(usage_change(0, 1.6, 1.2, **base))
    fortnight.change(usage_change(0, 1.6, 1.4, **base))
    assert expansions(week) == []
    assert expansions(fortnight) == [("expansion", "triggered")]
    # once open, a week back at the baseline does not clear it while the fortnight holds
    fortnight.change(usage_change(24, 1.0, 1.2, **base))
    fortnight.clock(T0 + 5 * DAY)
    assert expansions(fortnight) == [("expansion", "triggered")]


def test_usage_growth_is_judged_as_of_its_view_not_as_of_a_later_clock_tick() -> None:
    """A young account's ratio (its baseline still filling) stays young in a stale view:
    a clock tick weeks later must not read it as growth over a full baseline."""
    account = Account()
    account.change(change(-16 * 24, 90, "green", seats=80, active_users_7d=20))
    account.change(usage_change(0, 1.6, 2.1))
    account.clock(T0 + 60 * DAY)
    assert expansions(account) == []
