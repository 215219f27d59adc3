"""Playbook rules: pure functions from an account's view and a time to conditions.

Each rule says whether its condition holds now, why, and by when the playbook
is due. Opening and closing episodes is ``episodes.py``'s job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from services.triggers.rules_config import PlaybookConfig, SegmentRules

DAY = timedelta(days=1)


@dataclass(frozen=True)
class AccountView:
    """What the rules know of an account: its latest health and facts."""

    account_id: str
    segment: str
    score: float
    band: str
    components: Mapping[str, float | None]
    first_seen_at: datetime
    as_of: datetime
    health_event_id: str = ""
    recent_scores: Sequence[tuple[datetime, float]] = ()
    seats: int | None = None
    active_users_7d: int = 0
    usage_ratio: float | None = None
    renewal_at: date | None = None
    started_at: datetime | None = None
    first_value_at: datetime | None = None
    canceled: bool = False


@dataclass(frozen=True)
class Condition:
    active: bool
    reason: str = ""
    due_by: datetime | None = None


Rule = Callable[[AccountView, datetime, SegmentRules], Condition]
OFF = Condition(False)


def at_risk(view: AccountView, now: datetime, rules: SegmentRules) -> Condition:
    if view.band != "red":
        return OFF
    return Condition(
        True, f"Health is red ({view.score:.0f})", now + timedelta(hours=rules.at_risk_due_hours)
    )


def score_drop(view: AccountView, now: datetime, rules: SegmentRules) -> Condition:
    window = now - rules.score_drop_window_days * DAY
    earlier = [s for at, s in view.recent_scores if window <= at <= now]
    if not earlier:
        return OFF
    drop = max(earlier) - view.score
    if drop < rules.score_drop_points:
        return OFF
    days = rules.score_drop_window_days
    return Condition(
        True,
        f"Score down {drop:.0f} points in {days:.0f} days",
        now + rules.score_drop_due_days * DAY,
    )


def adoption(view: AccountView, now: datetime, rules: SegmentRules) -> Condition:
    value = view.components.get("adoption")
    born = view.started_at or view.first_seen_at
    if value is None or value >= rules.adoption_threshold:
        return OFF
    if now - born < rules.adoption_min_age_days * DAY:
        return OFF
    return Condition(
        True, f"Adoption is low ({value:.0f}/100)", now + rules.adoption_due_days * DAY
    )


def renewal(view: AccountView, now: datetime, rules: SegmentRules) -> Condition:
    if view.renewal_at is None or view.canceled:
        return OFF
    renews = datetime.combine(view.renewal_at, time(), tzinfo=UTC)
    if not now <= renews <= now + rules.renewal_window_days * DAY:
        return OFF
    days = (renews - now).days
    return Condition(True, f"Renewal on {view.renewal_at.isoformat()} ({days} days)", renews)


def expansion(view: AccountView, now: datetime, rules: SegmentRules) -> Condition:
    if view.band != "green":
        return OFF
    if view.seats and view.active_users_7d >= rules.expansion_seat_ratio * view.seats:
        reason = f"{view.active_users_7d} of {view.seats} seats active"
    elif view.usage_ratio is not None and view.usage_ratio >= rules.expansion_usage_ratio:
        reason = f"Usage up {100 * (view.usage_ratio - 1):.0f}% over its baseline"
    else:
        return OFF
    return Condition(True, reason, now + rules.expansion_due_days * DAY)


def onboarding(view: AccountView, now: datetime, rules: SegmentRules) -> Condition:
    start = view.started_at
    if start is None or view.canceled or view.first_value_at is not None:
        return OFF
    deadline = start + rules.onboarding_days * DAY
    if not start <= now < deadline:
        return OFF
    return Condition(True, "Subscription started: first value due", deadline)


def onboarding_stalled(view: AccountView, now: datetime, rules: SegmentRules) -> Condition:
    start = view.started_at
    if start is None or view.canceled or view.first_value_at is not None:
        return OFF
    if now < start + rules.onboarding_days * DAY:
        return OFF
    days = rules.onboarding_days
    return Condition(
        True, f"No first value {days:.0f} days after start", now + rules.stalled_due_days * DAY
    )


RULES: dict[str, Rule] = {
    "at_risk": at_risk,
    "score_drop": score_drop,
    "adoption": adoption,
    "renewal": renewal,
    "expansion": expansion,
    "onboarding": onboarding,
    "onboarding_stalled": onboarding_stalled,
}


def evaluate(view: AccountView, now: datetime, config: PlaybookConfig) -> dict[str, Condition]:
    """Every enabled playbook's condition for ``view`` at ``now``."""
    rules = config.rules_for(view.segment)
    return {name: rule(view, now, rules) for name, rule in RULES.items() if config.is_enabled(name)}
