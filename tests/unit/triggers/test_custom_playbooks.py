"""Custom playbooks go through the built-ins' machinery: enter and exit thresholds,
dwell, exit dwell, cool-down, segments, the horizon, a payload on their events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.triggers.domain.decisions import Outcome, on_clock, on_health_changes
from services.triggers.domain.playbook_config import PlaybookConfig
from shared.contracts import HealthChange
from shared.contracts.outputs import Explanation, MeasureExplanation
from shared.custom_playbooks import CustomPlaybook
from tests.unit.triggers import test_decisions as decisions

CFG = PlaybookConfig(enabled={"score_drop": False, "at_risk": False})
T0 = datetime(2026, 3, 1, tzinfo=UTC)
H = timedelta(hours=1)


def spec(**changes: Any) -> CustomPlaybook:
    data: dict[str, Any] = {
        "name": "integration_broken",
        "title": "Integration broken",
        "when": {"signal": "measure", "name": "api_calls_7d", "op": "<", "enter": 1, "exit": 5},
        "due_hours": 48,
        "payload": {"queue": "integrations", "priority": 2},
    }
    return CustomPlaybook.model_validate(data | changes)


def change(hours: float, api_calls: float | None, *, segment: str = "smb") -> HealthChange:
    measures = {"api_calls_7d": MeasureExplanation(value=api_calls, points=None)}
    return HealthChange(
        event_id=f"a1-{hours}",
        account_id="a1",
        as_of=T0 + hours * H,
        score=80,
        previous_score=None,
        band="green",
        previous_band=None,
        segment=segment,
        components={"usage": 80},
        coverage=1.0,
        reasons=[],
        model_version="t",
        revision=int(hours) + 1,
        explanation=Explanation(
            scorecard_version="c1",
            segment=segment,
            measures=measures,
            components={},
            weighted_mean=None,
            caps=[],
        ),
    )


class Account(decisions.Account):
    def __init__(self, *custom: CustomPlaybook) -> None:
        super().__init__(CFG)
        self.custom = custom

    def times(self, outcome: Outcome) -> list[tuple[str, float]]:
        return [(e.kind, (e.at - T0) / H) for e in self.apply(outcome)]

    def change(  # type: ignore[override]
        self, hours: float, api_calls: float | None, **kw: Any
    ) -> list[tuple[str, float]]:
        c = change(hours, api_calls, **kw)
        return self.times(
            on_health_changes(
                self.view,
                self.episodes,
                [c],
                CFG,
                wall_now=c.as_of,
                tracks=self.tracks,
                custom=self.custom,
            )
        )

    def clock(self, hours: float) -> list[tuple[str, float]]:  # type: ignore[override]
        assert self.view is not None
        now = T0 + hours * H
        return self.times(
            on_clock(
                self.view,
                self.episodes,
                now,
                CFG,
                wall_now=now,
                tracks=self.tracks,
                custom=self.custom,
            )
        )


def test_enters_below_enter_holds_until_over_exit_and_carries_its_payload() -> None:
    account = Account(spec())
    assert account.change(0, 40) == []
    assert account.change(1, 0) == [("triggered", 1)]
    assert account.change(2, 3) == []  # over enter, under exit: still broken
    assert account.change(3, 0.5) == []  # once per episode
    assert account.change(4, 6) == [("resolved", 4)]
    opened = account.events[0]
    assert opened.playbook == "integration_broken"
    assert opened.reason == "Integration broken: Measure api_calls_7d is 0 (< 1)"
    assert opened.due_by == opened.at + 48 * H
    assert opened.payload == {"queue": "integrations", "priority": 2}
    assert account.events[1].payload == opened.payload


def test_dwell_opens_only_after_holding_that_long_even_on_the_clock() -> None:
    account = Account(spec(dwell_hours=24))
    assert account.change(0, 0) == []
    assert account.clock(23) == []
    assert account.clock(24) == [("triggered", 24)]


def test_exit_dwell_keeps_a_flicker_from_clearing_it() -> None:
    account = Account(spec(exit_dwell_hours=12))
    assert account.change(0, 0) == [("triggered", 0)]
    assert account.change(1, 9) == []  # off, not for long
    assert account.change(2, 0) == []  # back on: the same episode
    assert account.change(3, 9) == []
    assert account.clock(15) == [("resolved", 15)]


def test_cool_down_after_a_resolve_delays_the_next_episode() -> None:
    account = Account(spec(cooldown_hours=48))
    account.change(0, 0)
    assert account.change(1, 9) == [("resolved", 1)]
    assert account.change(2, 0) == []  # holds again within the cool-down
    assert account.clock(48) == []
    assert account.clock(49) == [("triggered", 49)]
    first, second = (e.episode_id for e in account.events if e.kind == "triggered")
    assert first != second


def test_a_missing_measure_or_another_segment_holds_nothing() -> None:
    account = Account(spec(segments=["enterprise"]))
    assert account.change(0, 0) == []  # smb
    assert account.change(1, 0, segment="enterprise") == [("triggered", 1)]
    assert account.change(2, None, segment="enterprise") == [("resolved", 2)]


def test_a_playbook_the_scorecard_drops_resolves_its_open_episode() -> None:
    account = Account(spec())
    account.change(0, 0)
    account.custom = ()
    assert account.change(1, 0) == [("resolved", 1)]


def test_a_change_without_an_explanation_keeps_the_last_measures() -> None:
    account = Account(spec())
    account.change(0, 0)
    facts_only = change(1, None).model_copy(update={"explanation": None})
    outcome = on_health_changes(
        account.view,
        account.episodes,
        [facts_only],
        CFG,
        wall_now=facts_only.as_of,
        tracks=account.tracks,
        custom=account.custom,
    )
    assert outcome.events == [] and outcome.view is not None
    assert outcome.view.measures == {"api_calls_7d": 0}


def test_history_older_than_the_horizon_is_held_back_like_a_built_in() -> None:
    account = Account(spec())
    c = change(0, 0)
    outcome = on_health_changes(
        None, {}, [c], CFG, wall_now=c.as_of + 48 * H, custom=account.custom
    )
    assert outcome.events == [] and outcome.held_back == ["integration_broken"]


def test_band_score_component_and_fact_conditions() -> None:
    cases: list[tuple[dict[str, Any], bool]] = [
        ({"signal": "band", "bands": ["green"]}, True),
        ({"signal": "band", "bands": ["red", "yellow"]}, False),
        ({"signal": "score", "op": ">=", "enter": 80}, True),
        ({"signal": "component", "name": "usage", "op": ">", "enter": 80}, False),
        ({"signal": "component", "name": "support", "op": "<", "enter": 80}, False),
        ({"signal": "fact", "name": "active_users_7d", "op": "<=", "enter": 0}, True),
    ]
    for when, opens in cases:
        account = Account(spec(when=when))
        assert (account.change(0, 0) == [("triggered", 0)]) is opens, when
