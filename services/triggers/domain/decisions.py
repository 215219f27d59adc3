"""The triggers' decision step: health changes or the clock -> episode transitions. Pure.

Health changes are applied in revision order: a change whose revision is not
greater than the last one applied is a duplicate or a replay and changes
nothing. A greater revision at the same ``as_of`` is scoring's correction (it
folded late-read events) and replaces what that time said. Changes without a
revision (from before revisions) fall back to ``as_of`` order. The
wall clock is given (``wall_now``): episodes open only for an evaluation time
within the rules' horizon of it; older ones update the bookkeeping silently, and
an episode they would have opened is recorded as held back, with why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.triggers.custom_rules import evaluate_custom
from services.triggers.domain.episodes import Episode, Gate, Track, Transition, advance, as_before
from services.triggers.domain.playbook_config import PlaybookConfig
from services.triggers.domain.playbooks import AccountView, evaluate
from shared.contracts import HealthChange, PlaybookEvent
from shared.custom_playbooks import CustomPlaybook

RECENT_SCORES = 200


@dataclass
class Outcome:
    """What one account's evaluation decided."""

    view: AccountView | None
    scores: list[tuple[datetime, float]] = field(default_factory=list)  # one per as_of
    applied: list[str] = field(default_factory=list)  # event ids of the changes applied
    transitions: list[Transition] = field(default_factory=list)
    events: list[PlaybookEvent] = field(default_factory=list)
    tracks: dict[str, Track] = field(default_factory=dict)  # the tracks that changed
    held_back: list[str] = field(default_factory=list)  # playbooks held back as historical
    held: list[HeldBack] = field(default_factory=list)  # and those episodes, to list


@dataclass(frozen=True)
class HeldBack:
    """An episode the horizon kept from being emitted: listed as such, with why."""

    transition: Transition
    why: str
    segment: str
    health: dict[str, object]


@dataclass
class _Known:
    """An account's episodes and tracks as the evaluation moves them along."""

    episodes: dict[str, Episode]
    tracks: dict[str, Track]


def is_newer(change: HealthChange, view: AccountView | None) -> bool:
    """Whether ``change`` supersedes what ``view`` was built from."""
    if view is None:
        return True
    if change.revision is not None and view.revision is not None:
        return change.revision > view.revision
    return change.as_of > view.as_of


def _order(change: HealthChange) -> tuple[int, int, datetime, str]:
    # changes without a revision predate revisions: they go first, by event time
    if change.revision is None:
        return (0, 0, change.as_of, change.event_id)
    return (1, change.revision, change.as_of, change.event_id)


def _with_point(
    points: Sequence[tuple[datetime, float]], at: datetime, value: float
) -> list[tuple[datetime, float]]:
    """``points`` with ``(at, value)``: a correction replaces the point at the same time."""
    return sorted([*(p for p in points if p[0] != at), (at, value)], key=lambda p: p[0])


def view_from_change(change: HealthChange, previous: AccountView | None) -> AccountView:
    facts = change.account
    recent = _with_point(previous.recent_scores if previous else (), change.as_of, change.score)
    return AccountView(
        account_id=change.account_id,
        segment=change.segment,
        score=change.score,
        band=change.band,
        components=dict(change.components),
        first_seen_at=previous.first_seen_at if previous else change.as_of,
        as_of=change.as_of,
        health_event_id=change.event_id,
        revision=change.revision,
        recent_scores=tuple(recent[-RECENT_SCORES:]),
        seats=facts.seats,
        active_users_7d=facts.active_users_7d,
        active_users_30d=facts.active_users_30d,
        usage_ratio=facts.usage_ratio_to_baseline,
        usage_ratio_14d=facts.usage_ratio_14d_to_baseline,
        renewal_at=facts.renewal_at,
        started_at=facts.subscription_started_at,
        first_value_at=facts.first_value_at,
        canceled=facts.canceled,
        measures=_measures(change, previous),
    )


def _measures(change: HealthChange, previous: AccountView | None) -> dict[str, float | None]:
    """The change's measure values; a change without an explanation (from before them,
    or a facts-only change) keeps what the account's last one said."""
    if change.explanation is None:
        return dict(previous.measures) if previous else {}
    return {name: m.value for name, m in change.explanation.measures.items()}


def on_health_changes(
    view: AccountView | None,
    open_episodes: Mapping[str, Episode],
    changes: Sequence[HealthChange],
    config: PlaybookConfig,
    *,
    wall_now: datetime,
    tracks: Mapping[str, Track] | None = None,
    custom: Sequence[CustomPlaybook] = (),
) -> Outcome:
    """``custom``: the live scorecard's playbooks, judged beside the built-in ones."""
    outcome = Outcome(view)
    known = _Known(dict(open_episodes), dict(tracks or {}))
    for change in sorted(changes, key=_order):
        if not is_newer(change, outcome.view):
            continue  # a duplicate or a replay of something already applied
        outcome.view = view_from_change(change, outcome.view)
        outcome.scores = _with_point(outcome.scores, change.as_of, change.score)
        outcome.applied.append(change.event_id)
        _step(outcome, known, change.as_of, _Rules(config, custom), wall_now)
    return outcome


def on_clock(
    view: AccountView,
    open_episodes: Mapping[str, Episode],
    now: datetime,
    config: PlaybookConfig,
    *,
    wall_now: datetime,
    tracks: Mapping[str, Track] | None = None,
    custom: Sequence[CustomPlaybook] = (),
) -> Outcome:
    """Time moves conditions too: renewal and onboarding windows, dwell, the horizon.

    A clock pass at the end of a catch-up opens what holds then, however old the
    last health change: no new change means the health has not moved since.
    """
    outcome = Outcome(view)
    if now > view.as_of:
        known = _Known(dict(open_episodes), dict(tracks or {}))
        _step(outcome, known, now, _Rules(config, custom), wall_now)
    return outcome


@dataclass(frozen=True)
class _Rules:
    """The built-in playbooks' parameters and the live scorecard's custom playbooks."""

    config: PlaybookConfig
    custom: Sequence[CustomPlaybook]

    def gate(self, playbook: str) -> Gate:
        spec = next((p for p in self.custom if p.name == playbook), None)
        if spec is None:
            return _gate(self.config, playbook)
        hours = (spec.dwell_hours, spec.cooldown_hours, spec.exit_dwell_hours)
        return Gate(*(timedelta(hours=h) for h in hours))

    def payload(self, playbook: str) -> dict[str, str | bool | float] | None:
        spec = next((p for p in self.custom if p.name == playbook), None)
        return dict(spec.payload) if spec is not None else None


def _step(outcome: Outcome, known: _Known, at: datetime, rules: _Rules, wall_now: datetime) -> None:
    view = outcome.view
    assert view is not None
    config = rules.config
    holding = {p for p, t in known.tracks.items() if as_before(t, at).condition_since}
    latched = holding | set(known.episodes)
    conditions = evaluate(view, at, config, latched)
    conditions.update(evaluate_custom(view, at, rules.custom, latched))
    step = advance(
        view.account_id,
        conditions,
        known.episodes,
        known.tracks,
        at,
        gates={p: rules.gate(p) for p in conditions},
        emit=wall_now - at <= timedelta(hours=config.horizon_hours),
        default_since=view.as_of,
    )
    known.tracks.update(step.tracks)
    outcome.tracks.update(step.tracks)
    outcome.held_back += step.held_back
    for held in step.held:
        outcome.held.append(
            HeldBack(held, _why_held(at, wall_now, config), view.segment, _health(view))
        )
    for transition in step.transitions:
        outcome.transitions.append(transition)
        if transition.kind != "superseded":  # a bookkeeping step: its successor is the news
            outcome.events.append(
                playbook_event(view, transition, rules.payload(transition.playbook))
            )
        if transition.kind == "triggered":
            known.episodes[transition.playbook] = Episode(
                transition.episode_id, transition.playbook, at, transition.due_by, transition.reason
            )
        else:
            known.episodes.pop(transition.playbook, None)


def _why_held(at: datetime, wall_now: datetime, config: PlaybookConfig) -> str:
    return (
        f"its state (as of {at.isoformat()}) was older than the {config.horizon_hours:g} h"
        f" horizon of the wall clock ({wall_now.isoformat()}): history is not announced"
    )


def _health(view: AccountView) -> dict[str, object]:
    return {"score": view.score, "band": view.band, "components": dict(view.components)}


def _gate(config: PlaybookConfig, playbook: str) -> Gate:
    timing = config.timing_of(playbook)
    return Gate(
        timedelta(hours=timing.dwell_hours),
        timedelta(hours=timing.cooldown_hours),
        timedelta(hours=timing.exit_dwell_hours),
    )


def playbook_event(
    view: AccountView, t: Transition, payload: dict[str, str | bool | float] | None = None
) -> PlaybookEvent:
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
        health=_health(view),
        payload=payload,
    )


__all__ = ["HeldBack", "Outcome", "is_newer", "on_clock", "on_health_changes", "playbook_event"]
