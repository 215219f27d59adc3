"""Custom playbooks' conditions: the scorecard's ``playbooks`` judged on an account's view.

The same contract as a built-in rule (``rules.py``): told whether the condition
already holds (``latched``), a numeric condition applies its exit threshold then,
not its enter threshold, so a value sitting between the two does not flap. A
value the view lacks (a measure without data, a fact not known, a playbook for
other segments) holds nothing; dwell, cool-down and the horizon are the episodes'.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from services.triggers.domain.playbooks import OFF, AccountView, Condition
from shared.custom_playbooks import BUILT_IN_PLAYBOOKS, CustomPlaybook, PlaybookCondition, holds


def judge(spec: CustomPlaybook, view: AccountView, now: datetime, latched: bool) -> Condition:
    if not spec.applies_to(view.segment):
        return OFF
    when = spec.when
    if when.signal == "band":
        if view.band not in (when.bands or ()):
            return OFF
        return _on(spec, now, f"Health is {view.band} ({view.score:.0f})")
    value = value_of(when, view)
    if value is None:
        return OFF
    threshold = when.exit_threshold if latched else (when.enter or 0.0)
    if not holds(value, when.op or "<", threshold):
        return OFF
    return _on(spec, now, f"{_label(when)} is {value:g} ({when.op} {threshold:g})")


def value_of(when: PlaybookCondition, view: AccountView) -> float | None:
    """The number the condition reads, or None when the view does not have it."""
    match when.signal:
        case "score":
            return view.score
        case "component":
            return view.components.get(when.name or "")
        case "measure":
            return view.measures.get(when.name or "")
        case "fact":
            return _fact(view, when.name or "")
    return None


def _fact(view: AccountView, name: str) -> float | None:
    facts: dict[str, float | None] = {
        "seats": view.seats,
        "active_users_7d": view.active_users_7d,
        "active_users_30d": view.active_users_30d,
        "usage_ratio_to_baseline": view.usage_ratio,
        "usage_ratio_14d_to_baseline": view.usage_ratio_14d,
    }
    return facts.get(name)


def _label(when: PlaybookCondition) -> str:
    return "Score" if when.signal == "score" else f"{when.signal.capitalize()} {when.name}"


def _on(spec: CustomPlaybook, now: datetime, why: str) -> Condition:
    reason = f"{spec.title}: {why}" if spec.title else why
    return Condition(True, reason, now + timedelta(hours=spec.due_hours))


def evaluate_custom(
    view: AccountView,
    now: datetime,
    playbooks: Sequence[CustomPlaybook],
    latched: Collection[str] = frozenset(),
) -> dict[str, Condition]:
    """Every custom playbook's condition; one the live scorecard no longer declares is
    off, so its open episode resolves instead of staying open for ever."""
    conditions = {p.name: judge(p, view, now, p.name in latched) for p in playbooks}
    for name in latched:
        if name not in conditions and name not in BUILT_IN_PLAYBOOKS:
            conditions[name] = OFF
    return conditions
