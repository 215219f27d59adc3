"""Playbook rules and episodes: once per episode, resolved when cleared, re-armed, replay-safe."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.triggers.decisions import on_clock, on_health_changes
from services.triggers.episodes import Episode
from services.triggers.rules_config import PlaybookConfig
from shared.contracts import AccountFacts, HealthChange

CFG = PlaybookConfig()
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def change(
    hours: float,
    score: float,
    band: str,
    *,
    account: str = "a1",
    segment: str = "smb",
    adoption: float = 80,
    **facts: object,
) -> HealthChange:
    return HealthChange(
        event_id=f"{account}-{hours}",
        account_id=account,
        as_of=T0 + timedelta(hours=hours),
        score=score,
        previous_score=None,
        band=band,
        previous_band=None,
        segment=segment,
        components={"usage": score, "adoption": adoption},
        coverage=1.0,
        reasons=[],
        model_version="t",
        account=AccountFacts(**facts),
    )


def run(changes: list[HealthChange]):
    view, events = None, []
    episodes: dict[str, Episode] = {}
    for c in changes:
        outcome = on_health_changes(view, episodes, [c], CFG)
        view = outcome.view
        for t in outcome.transitions:
            if t.kind == "triggered":
                episodes[t.playbook] = Episode(t.episode_id, t.playbook, t.at, t.due_by, t.reason)
            else:
                episodes.pop(t.playbook)
        events += outcome.events
    return view, episodes, events


def kinds(events) -> list[tuple[str, str]]:
    return [(e.playbook, e.kind) for e in events]


def test_at_risk_fires_once_per_episode_resolves_and_rearms() -> None:
    _, _, events = run(
        [
            change(0, 80, "green"),
            change(1, 35, "red"),
            change(2, 30, "red"),
            change(3, 75, "green"),
            change(4, 20, "red"),
        ]
    )
    at_risk = [(e.kind, e.at) for e in events if e.playbook == "at_risk"]
    assert at_risk == [
        ("triggered", T0 + timedelta(hours=1)),
        ("resolved", T0 + timedelta(hours=3)),
        ("triggered", T0 + timedelta(hours=4)),
    ]
    first, second = [e for e in events if e.playbook == "at_risk" and e.kind == "triggered"]
    assert first.episode_id != second.episode_id
    assert first.due_by == first.at + timedelta(hours=24)
    assert first.health.band == "red"


def test_score_drop_of_20_points_in_7_days_whatever_the_band() -> None:
    _, _, events = run([change(0, 95, "green"), change(24, 80, "green"), change(48, 74, "green")])
    assert kinds(events) == [("score_drop", "triggered")]
    assert events[0].reason == "Score down 21 points in 7 days"


def test_replaying_the_same_changes_yields_nothing_new() -> None:
    script = [change(0, 80, "green"), change(1, 35, "red"), change(3, 75, "green")]
    view, episodes, events = run(script)
    again = on_health_changes(view, episodes, script, CFG)
    assert again.events == [] and again.transitions == []
    # and a fresh run over the same input gives the same ids
    _, _, replayed = run(script)
    assert [e.event_id for e in replayed] == [e.event_id for e in events]


def test_adoption_needs_an_account_older_than_30_days() -> None:
    young = change(0, 60, "yellow", adoption=20, subscription_started_at=T0 - timedelta(days=5))
    old = change(1, 60, "yellow", adoption=20, subscription_started_at=T0 - timedelta(days=60))
    assert ("adoption", "triggered") not in kinds(run([young])[2])
    assert ("adoption", "triggered") in kinds(run([old])[2])


def test_expansion_when_green_and_near_the_seat_limit() -> None:
    events = run([change(0, 90, "green", seats=10, active_users_7d=9)])[2]
    assert ("expansion", "triggered") in kinds(events)
    assert kinds(run([change(0, 90, "green", seats=10, active_users_7d=5)])[2]) == []


def test_renewal_enters_its_window_with_the_clock() -> None:
    renews = (T0 + timedelta(days=120)).date()
    view, episodes, events = run([change(0, 80, "green", renewal_at=renews)])
    assert kinds(events) == []
    later = on_clock(view, episodes, T0 + timedelta(days=31), CFG)
    assert kinds(later.events) == [("renewal", "triggered")]
    assert later.events[0].due_by == datetime.combine(renews, datetime.min.time(), tzinfo=UTC)


def test_enterprise_renewal_window_is_180_days() -> None:
    renews = (T0 + timedelta(days=150)).date()
    events = run([change(0, 80, "green", segment="enterprise", renewal_at=renews)])[2]
    assert kinds(events) == [("renewal", "triggered")]


def test_onboarding_then_stalled_without_first_value() -> None:
    started = T0 - timedelta(days=2)
    view, episodes, events = run([change(0, 60, "yellow", subscription_started_at=started)])
    assert kinds(events) == [("onboarding", "triggered")]
    episodes = {"onboarding": Episode(events[0].episode_id, "onboarding", T0, None, "x")}
    later = on_clock(view, episodes, started + timedelta(days=31), CFG)
    assert sorted(kinds(later.events)) == [
        ("onboarding", "resolved"),
        ("onboarding_stalled", "triggered"),
    ]


def test_first_value_resolves_onboarding() -> None:
    started = T0 - timedelta(days=2)
    _, _, events = run(
        [
            change(0, 60, "yellow", subscription_started_at=started),
            change(5, 70, "green", subscription_started_at=started, first_value_at=T0),
        ]
    )
    assert kinds(events) == [("onboarding", "triggered"), ("onboarding", "resolved")]


def test_renewal_date_in_the_past_does_not_fire() -> None:
    events = run([change(0, 80, "green", renewal_at=date(2026, 1, 1))])[2]
    assert kinds(events) == []
