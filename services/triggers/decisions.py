"""The triggers' decision step: health changes or the clock -> episode transitions. Pure.

Health changes are applied in event-time order; a change no newer than what
the account already saw is a duplicate or a replay and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.triggers.episodes import Episode, Transition, transitions
from services.triggers.rules import AccountView, evaluate
from services.triggers.rules_config import PlaybookConfig
from shared.contracts import HealthChange, PlaybookEvent

RECENT_SCORES = 200


@dataclass
class Outcome:
    """What one account's evaluation decided."""

    view: AccountView | None
    scores: list[tuple[datetime, float]] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    events: list[PlaybookEvent] = field(default_factory=list)


def view_from_change(change: HealthChange, previous: AccountView | None) -> AccountView:
    facts = change.account
    recent = [*(previous.recent_scores if previous else ()), (change.as_of, change.score)]
    return AccountView(
        account_id=change.account_id,
        segment=change.segment,
        score=change.score,
        band=change.band,
        components=dict(change.components),
        first_seen_at=previous.first_seen_at if previous else change.as_of,
        as_of=change.as_of,
        health_event_id=change.event_id,
        recent_scores=tuple(recent[-RECENT_SCORES:]),
        seats=facts.seats,
        active_users_7d=facts.active_users_7d,
        usage_ratio=facts.usage_ratio_to_baseline,
        renewal_at=facts.renewal_at,
        started_at=facts.subscription_started_at,
        first_value_at=facts.first_value_at,
        canceled=facts.canceled,
    )


def on_health_changes(
    view: AccountView | None,
    open_episodes: Mapping[str, Episode],
    changes: Sequence[HealthChange],
    config: PlaybookConfig,
) -> Outcome:
    outcome = Outcome(view)
    episodes = dict(open_episodes)
    for change in sorted(changes, key=lambda c: (c.as_of, c.event_id)):
        if outcome.view is not None and change.as_of <= outcome.view.as_of:
            continue  # a duplicate or a replay of something already applied
        outcome.view = view_from_change(change, outcome.view)
        outcome.scores.append((change.as_of, change.score))
        _step(outcome, episodes, change.as_of, config)
    return outcome


def on_clock(
    view: AccountView, open_episodes: Mapping[str, Episode], now: datetime, config: PlaybookConfig
) -> Outcome:
    """Time-based playbooks (renewal, onboarding) move with the clock, not with events."""
    outcome = Outcome(view)
    if now > view.as_of:
        _step(outcome, dict(open_episodes), now, config)
    return outcome


def _step(
    outcome: Outcome, episodes: dict[str, Episode], at: datetime, config: PlaybookConfig
) -> None:
    view = outcome.view
    assert view is not None
    conditions = evaluate(view, at, config)
    for transition in transitions(view.account_id, conditions, episodes, at):
        outcome.transitions.append(transition)
        outcome.events.append(playbook_event(view, transition))
        if transition.kind == "triggered":
            episodes[transition.playbook] = Episode(
                transition.episode_id, transition.playbook, at, transition.due_by, transition.reason
            )
        else:
            episodes.pop(transition.playbook, None)


def playbook_event(view: AccountView, t: Transition) -> PlaybookEvent:
    return PlaybookEvent(
        event_id=t.event_id,
        kind=t.kind,
        account_id=view.account_id,
        playbook=t.playbook,
        episode_id=t.episode_id,
        at=t.at,
        due_by=t.due_by,
        reason=t.reason,
        segment=view.segment,
        health={"score": view.score, "band": view.band, "components": dict(view.components)},
    )


__all__ = ["Outcome", "on_clock", "on_health_changes", "playbook_event"]
