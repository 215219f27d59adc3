"""An episode's lifecycle (pure): which action each status allows, what it sets;
feedback's Wilson interval; the held-back episode the state machine records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.triggers.domain.decisions import on_clock, on_health_changes
from services.triggers.domain.episodes import Episode, episode_id
from services.triggers.domain.feedback import Durations, Feedback, as_data, lines, of_data, wilson
from services.triggers.domain.lifecycle import Request, decide, shown_status
from services.triggers.domain.playbook_config import PlaybookConfig, Timing
from services.triggers.feedback_gauges import FeedbackGauges
from services.triggers.metrics import TriggersMetrics
from shared.errors import Conflict, InvalidInput
from tests.unit.triggers.test_decisions import CFG, T0, change

AT = datetime(2026, 3, 2, tzinfo=UTC)
LATER = AT + timedelta(hours=1)


@pytest.mark.parametrize(
    ("stored", "resolved", "request_", "status"),
    [
        ("open", None, Request("acknowledge"), "acknowledged"),
        ("snoozed", None, Request("acknowledge"), "acknowledged"),
        ("acknowledged", None, Request("assign", owner="o"), "acknowledged"),
        ("open", AT, Request("assign", owner="o"), "open"),  # shown resolved: still assignable
        ("acknowledged", None, Request("snooze", until=LATER), "snoozed"),
        ("open", AT, Request("close", resolution="actioned"), "closed"),  # judged after clearing
        ("snoozed", None, Request("close", resolution="false_alarm"), "closed"),
    ],
)
def test_allowed_transitions(stored, resolved, request_, status) -> None:
    assert decide(stored, resolved, request_, AT).status == status


@pytest.mark.parametrize(
    ("stored", "resolved", "request_"),
    [
        ("closed", None, Request("close", resolution="actioned")),
        ("closed", None, Request("assign", owner="o")),
        ("acknowledged", None, Request("acknowledge")),
        ("open", AT, Request("snooze", until=LATER)),  # resolved: nothing to snooze
        ("held_back", AT, Request("acknowledge")),
    ],
)
def test_invalid_transitions_conflict(stored, resolved, request_) -> None:
    with pytest.raises(Conflict):
        decide(stored, resolved, request_, AT)


def test_a_snooze_must_end_in_the_future_with_an_offset() -> None:
    for until in (AT, AT - timedelta(seconds=1), LATER.replace(tzinfo=None)):
        with pytest.raises(InvalidInput):
            decide("open", None, Request("snooze", until=until), AT)


def test_shown_status() -> None:
    assert shown_status("closed", AT) == "closed"
    assert shown_status("acknowledged", AT) == "resolved"
    assert shown_status("snoozed", None) == "snoozed"
    assert shown_status("held_back", AT) == "held_back"


def test_wilson_interval_known_values() -> None:
    p, low, high = wilson(6, 10)
    assert p == 0.6 and low == pytest.approx(0.3127, abs=1e-4)
    assert high == pytest.approx(0.8318, abs=1e-4)
    assert wilson(0, 5)[1] == 0.0 and wilson(5, 5)[2] == 1.0
    assert Feedback("at_risk", "smb", 3).precision is None


def test_an_episode_held_back_is_recorded_with_the_id_it_would_be_emitted_with() -> None:
    old = change(0, 30, "red")
    held = on_health_changes(None, {}, [old], CFG, wall_now=T0 + timedelta(days=3))
    assert held.events == [] and held.held_back == ["at_risk"]
    (record,) = held.held
    assert record.transition.kind == "held_back"
    assert record.transition.episode_id == episode_id("a1", "at_risk", T0)
    assert "older than the 24 h horizon" in record.why and record.segment == "smb"
    live = on_health_changes(None, {}, [old], CFG, wall_now=T0 + timedelta(hours=1))
    assert live.transitions[0].episode_id == record.transition.episode_id


def test_closed_while_holding_a_playbook_with_a_cool_down_opens_anew_after_it() -> None:
    config = PlaybookConfig(timing={"at_risk": Timing(cooldown_hours=48)})
    first = on_health_changes(None, {}, [change(0, 30, "red")], config, wall_now=T0)
    (opened,) = first.transitions
    assert first.view is not None
    closed_at = T0 + timedelta(hours=1)
    current = {"at_risk": Episode(opened.episode_id, "at_risk", T0, None, "red", closed_at)}

    def clock(hours: float):
        at = T0 + timedelta(hours=hours)
        assert first.view is not None
        return on_clock(first.view, current, at, config, wall_now=at, tracks=first.tracks)

    assert clock(40).transitions == [], "within the cool-down the close stands"
    renewed = clock(49)
    assert [t.kind for t in renewed.transitions] == ["superseded", "triggered"]
    assert [e.kind for e in renewed.events] == ["triggered"], "the supersede is not news"
    assert renewed.transitions[0].episode_id == opened.episode_id
    assert renewed.transitions[1].episode_id not in (opened.episode_id, first.events[0].episode_id)
    no_cooldown = {"at_risk": Episode(opened.episode_id, "at_risk", T0, None, "red", closed_at)}
    still = on_clock(
        first.view, no_cooldown, T0 + timedelta(days=30), CFG, wall_now=T0, tracks=first.tracks
    )
    assert still.transitions == [], "without a cool-down a close stands while it holds"


def test_feedback_gauges_carry_built_in_and_custom_playbooks_by_well_formed_names() -> None:
    metrics = TriggersMetrics.new()
    gauges = FeedbackGauges(metrics, window=timedelta(days=90), every_s=60)
    known = Feedback(
        "at_risk", "smb", 4, {"actioned": 3, "false_alarm": 1}, Durations(4, 60.0, 90.0)
    )
    custom = Feedback("integration_broken", "apac_smb", 2, {"actioned": 1, "not_useful": 1})
    gauges.show([known, custom, Feedback("Made Up!", "smb", 1, {"actioned": 1})])
    gauges.show([known, custom])  # refreshed: the same series, set again
    samples = [s for m in metrics.registry.collect() for s in m.samples]
    precision = [s for s in samples if s.name == "vigil_triggers_playbook_precision"]
    assert [(s.labels, s.value) for s in precision] == [
        ({"playbook": "at_risk", "segment": "smb"}, 0.75),
        ({"playbook": "integration_broken", "segment": "apac_smb"}, 0.5),
    ]
    assert not [s for s in samples if s.labels.get("playbook") == "Made Up!"]
    ack = {s.labels["quantile"]: s.value for s in samples if "acknowledge" in s.name}
    assert ack == {"0.5": 60.0, "0.9": 90.0}


def test_the_feedback_table_reads_as_the_api_answers_it() -> None:
    row = Feedback(
        "at_risk",
        "smb",
        12,
        {"actioned": 3, "not_useful": 0, "false_alarm": 1},
        Durations(4, 7200.0, 9000.0),
        Durations(4, 3 * 86_400.0, 4 * 86_400.0),
    )
    again = of_data(as_data([row]))
    assert again == [row]
    header, printed, *legend = lines(again)
    assert header.split()[:3] == ["playbook", "segment", "alarms"]
    assert printed.split() == [
        "at_risk", "smb", "12", "3", "0", "1", "75%", "30%-95%", "2.0", "h", "3.0", "d"
    ]  # fmt: skip
    assert any("Wilson interval" in line for line in legend)
    assert lines([]) == ["  no episode closed with a resolution yet"]
