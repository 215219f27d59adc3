"""Health-change revisions: a correction at the same as_of is applied, a replay is not."""

from __future__ import annotations

from datetime import timedelta

from services.triggers.domain.decisions import is_newer, on_health_changes
from services.triggers.domain.episodes import Track
from shared.contracts import HealthChange, PlaybookEvent
from tests.unit.triggers.test_decisions import CFG, T0, Account, change


def rev(c: HealthChange, revision: int | None, tag: str = "") -> HealthChange:
    """``c`` as scoring's ``revision``-th published change (a distinct event id per tag)."""
    return c.model_copy(update={"revision": revision, "event_id": f"{c.event_id}{tag}"})


GREEN = rev(change(0, 80, "green"), 1)
RED = rev(change(1, 30, "red"), 2)  # judged before late events were read
CORRECTED = rev(change(1, 60, "yellow"), 3, "-corrected")  # the same as_of, re-scored


def at_risk(events: list[PlaybookEvent]) -> list[str]:
    return [e.kind for e in events if e.playbook == "at_risk"]


def test_a_correction_at_the_same_as_of_replaces_the_judgement_and_clears_red() -> None:
    account = Account()
    account.change(GREEN)
    assert at_risk(account.change(RED)) == ["triggered"]
    events = account.change(CORRECTED)
    assert account.view is not None
    assert (account.view.score, account.view.band, account.view.revision) == (60, "yellow", 3)
    assert account.view.health_event_id == CORRECTED.event_id
    # the point at that time is replaced, not duplicated (score_drop reads these)
    assert list(account.view.recent_scores) == [(GREEN.as_of, 80), (RED.as_of, 60)]
    assert at_risk(events) == ["resolved"]
    assert "at_risk" not in account.episodes
    assert at_risk(account.clock(T0 + timedelta(hours=48))) == []


def test_without_revisions_the_same_as_of_is_still_a_replay() -> None:
    account = Account()
    for c in (GREEN, RED, CORRECTED):
        account.change(rev(c, None))
    assert account.view is not None and account.view.band == "red"
    assert "at_risk" in account.episodes


def test_a_resent_older_revision_or_a_duplicate_changes_nothing() -> None:
    account = Account()
    for c in (GREEN, RED, CORRECTED):
        account.change(c)
    before = account.view
    for stale in (RED, CORRECTED, GREEN):
        outcome = on_health_changes(
            before, account.episodes, [stale], CFG, wall_now=stale.as_of, tracks=account.tracks
        )
        assert outcome.view is before
        assert (outcome.scores, outcome.applied, outcome.transitions) == ([], [], [])


def test_a_batch_is_applied_in_revision_order() -> None:
    batch = [CORRECTED, GREEN, RED, CORRECTED]  # out of order, one duplicate
    outcome = on_health_changes(None, {}, batch, CFG, wall_now=RED.as_of)
    assert outcome.applied == [GREEN.event_id, RED.event_id, CORRECTED.event_id]
    assert outcome.view is not None and outcome.view.revision == 3
    assert outcome.scores == [(GREEN.as_of, 80), (RED.as_of, 60)]  # one point per as_of
    assert at_risk(outcome.events) == ["triggered", "resolved"]


def test_revision_wins_over_as_of_only_when_both_sides_have_one() -> None:
    later_without = rev(change(2, 50, "yellow"), None)
    account = Account()
    account.change(GREEN)
    assert account.view is not None
    assert is_newer(RED, account.view)
    assert not is_newer(rev(RED, 1), account.view)
    assert is_newer(later_without, account.view)  # no revision: by as_of
    assert not is_newer(rev(GREEN, None), account.view)


def test_an_episode_reopened_by_a_correction_at_the_same_as_of_gets_a_new_id() -> None:
    """red -> corrected yellow -> corrected red again, all at one as_of: the second
    ``at_risk`` is a new episode (its own id), not the resolved one reopened."""
    account = Account()
    account.change(GREEN)
    first = account.change(RED)
    account.change(CORRECTED)
    again = account.change(rev(change(1, 25, "red"), 4, "-red-again"))
    opened = [e for e in (*first, *again) if e.playbook == "at_risk" and e.kind == "triggered"]
    assert len(opened) == 2
    assert opened[0].episode_id != opened[1].episode_id
    assert opened[0].event_id != opened[1].event_id
    assert account.episodes["at_risk"].episode_id == opened[1].episode_id


def expanding(hours: float, revision: int, band: str = "green", active: int = 10) -> HealthChange:
    """``expansion``'s seat signal: ``active`` of 10 seats used in 30 days."""
    score = {"green": 90, "red": 25}[band]
    c = change(hours, score, band, seats=10, active_users_7d=active, active_users_30d=active)
    return rev(c, revision, f"-r{revision}")


def test_a_resolve_that_a_correction_undoes_leaves_no_cool_down() -> None:
    """A replayed history (wall clock far ahead): a state judged before its usage was read
    resolves ``expansion``; its correction at the same time must not leave the resolve's
    30-day cool-down standing, or the real episode is lost at the end."""
    late = T0 + timedelta(days=400)
    account = Account()
    account.change(expanding(0, 1), wall_now=late)
    assert account.tracks["expansion"].opened_at is not None  # held back: history
    account.change(expanding(100, 2, "red", active=0), wall_now=late)  # off: clearing
    account.change(expanding(200, 3, "red", active=0), wall_now=late)  # off > exit dwell
    assert account.tracks["expansion"].last_resolved_at == T0 + timedelta(hours=200)
    account.change(expanding(200, 4), wall_now=late)  # the correction at the same as_of
    # as if the resolve never was: holding since T0, its episode open, no cool-down
    assert account.tracks["expansion"].core() == Track(T0, T0)
    # the end of the catch-up, within the horizon: the episode that holds opens
    end = T0 + timedelta(hours=300)
    events = account.clock(end)
    assert [(e.playbook, e.kind) for e in events if e.playbook == "expansion"] == [
        ("expansion", "triggered")
    ]


def test_a_correction_that_keeps_the_change_keeps_its_effect_once() -> None:
    """Evaluating the same time again starts from the same place: a repeated correction
    gives the same track, not a second step."""
    late = T0 + timedelta(days=400)
    once, twice = Account(), Account()
    for account in (once, twice):
        account.change(expanding(0, 1), wall_now=late)
        account.change(expanding(100, 2, "red", active=0), wall_now=late)
    twice.change(expanding(100, 3, "red", active=0), wall_now=late)
    assert once.tracks == twice.tracks
