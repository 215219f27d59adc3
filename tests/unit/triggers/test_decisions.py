"""Playbook rules and episodes: once per episode, resolved when cleared, re-armed, replay-safe."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.triggers.domain.decisions import Outcome, on_clock, on_health_changes
from services.triggers.domain.episodes import Episode, Track
from services.triggers.domain.playbook_config import PlaybookConfig
from services.triggers.domain.playbooks import AccountView
from shared.contracts import AccountFacts, HealthChange, PlaybookEvent

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


class Account:
    """One account's stored state, carried between evaluations as the service stores it."""

    def __init__(self, config: PlaybookConfig = CFG) -> None:
        self.config = config
        self.view: AccountView | None = None
        self.episodes: dict[str, Episode] = {}
        self.tracks: dict[str, Track] = {}
        self.events: list[PlaybookEvent] = []
        self.held_back: list[str] = []

    def apply(self, outcome: Outcome) -> list[PlaybookEvent]:
        self.view = outcome.view
        self.tracks.update(outcome.tracks)
        self.held_back += outcome.held_back
        for t in outcome.transitions:
            if t.kind == "triggered":
                self.episodes[t.playbook] = Episode(
                    t.episode_id, t.playbook, t.at, t.due_by, t.reason
                )
            else:
                self.episodes.pop(t.playbook)
        self.events += outcome.events
        return outcome.events

    def change(self, c: HealthChange, wall_now: datetime | None = None) -> list[PlaybookEvent]:
        return self.apply(
            on_health_changes(
                self.view,
                self.episodes,
                [c],
                self.config,
                wall_now=wall_now or c.as_of,
                tracks=self.tracks,
            )
        )

    def clock(self, now: datetime, wall_now: datetime | None = None) -> list[PlaybookEvent]:
        assert self.view is not None
        return self.apply(
            on_clock(
                self.view,
                self.episodes,
                now,
                self.config,
                wall_now=wall_now or now,
                tracks=self.tracks,
            )
        )


def run(changes: list[HealthChange]):
    """Live: each change evaluated with the wall clock at its own time."""
    account = Account()
    for c in changes:
        account.change(c)
    return account.view, account.episodes, account.events


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
    again = on_health_changes(view, episodes, script, CFG, wall_now=T0 + timedelta(hours=3))
    assert again.events == [] and again.transitions == []
    # and a fresh run over the same input gives the same ids
    _, _, replayed = run(script)
    assert [e.event_id for e in replayed] == [e.event_id for e in events]


def test_adoption_needs_an_account_older_than_30_days_and_a_day_of_low_adoption() -> None:
    young, old = Account(), Account()
    young.change(
        change(0, 60, "yellow", adoption=20, subscription_started_at=T0 - timedelta(days=5))
    )
    old.change(
        change(0, 60, "yellow", adoption=20, subscription_started_at=T0 - timedelta(days=60))
    )
    assert young.clock(T0 + timedelta(hours=24)) == []
    assert ("adoption", "triggered") not in kinds(old.events)  # dwell: 24 h
    assert ("adoption", "triggered") not in kinds(old.clock(T0 + timedelta(hours=23)))
    assert ("adoption", "triggered") in kinds(old.clock(T0 + timedelta(hours=24)))


def test_expansion_when_green_and_near_the_seat_limit() -> None:
    near, far = Account(), Account()
    assert kinds(near.change(change(0, 90, "green", seats=10, active_users_7d=9))) == [
        ("expansion", "triggered")
    ]
    far.change(change(0, 90, "green", seats=10, active_users_7d=5))
    assert far.clock(T0 + timedelta(hours=6)) == []


def test_seat_use_is_counted_over_30_days_where_the_change_says() -> None:
    """Who logged in this week swings a small account's 7-day count; the month does not."""
    month, week = Account(), Account()
    opened = month.change(change(0, 90, "green", seats=6, active_users_7d=4, active_users_30d=6))
    assert kinds(opened) == [("expansion", "triggered")]
    assert "6 of 6 seats active in 30 days" in opened[0].reason
    assert week.change(change(0, 90, "green", seats=6, active_users_7d=6, active_users_30d=4)) == []


def test_renewal_enters_its_window_with_the_clock() -> None:
    renews = (T0 + timedelta(days=120)).date()
    view, episodes, events = run([change(0, 80, "green", renewal_at=renews)])
    assert kinds(events) == []
    now = T0 + timedelta(days=31)
    later = on_clock(view, episodes, now, CFG, wall_now=now)
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
    now = started + timedelta(days=31)
    later = on_clock(view, episodes, now, CFG, wall_now=now)
    assert sorted(kinds(later.events)) == [
        ("onboarding", "resolved"),
        ("onboarding_stalled", "triggered"),
    ]


def test_onboarding_lasts_its_window_first_value_or_not() -> None:
    started = T0 - timedelta(days=2)
    account = Account()
    account.change(change(0, 60, "yellow", subscription_started_at=started))
    account.change(change(5, 70, "green", subscription_started_at=started, first_value_at=T0))
    assert kinds(account.events) == [("onboarding", "triggered")]
    assert account.clock(started + timedelta(days=29)) == []
    ended = account.clock(started + timedelta(days=30))
    assert kinds(ended) == [("onboarding", "resolved")]  # not stalled: first value reached


def test_renewal_date_in_the_past_does_not_fire() -> None:
    events = run([change(0, 80, "green", renewal_at=date(2026, 1, 1))])[2]
    assert kinds(events) == []
