"""Playbook rules: pure functions from an account's view and a time to conditions.

Each rule says whether its condition holds now, why, by when the playbook is
due, and (when the facts tell) since when it has held. A rule is told whether
its condition already holds (``latched``): it then applies its exit threshold,
not its enter threshold, so a value sitting on a threshold does not flap.
Opening and closing episodes (dwell, cool-down, horizon) is ``episodes.py``'s job.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from services.triggers.domain.playbook_config import PlaybookConfig, SegmentRules

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
    revision: int | None = None  # of the last health change applied; None: it had none
    recent_scores: Sequence[tuple[datetime, float]] = ()
    seats: int | None = None
    active_users_7d: int = 0
    active_users_30d: int | None = None  # None: a change from before it was published
    usage_ratio: float | None = None
    usage_ratio_14d: float | None = None  # None: a change from before it was published
    renewal_at: date | None = None
    started_at: datetime | None = None
    first_value_at: datetime | None = None
    canceled: bool = False
    # the scorecard's measures (explanation.measures[...].value) custom playbooks read
    measures: Mapping[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Condition:
    active: bool
    reason: str = ""
    due_by: datetime | None = None
    # since when it has held, when the facts say so (a start date, a window's opening);
    # None: since the view's as_of. Keeps episode ids independent of when a clock ran.
    since: datetime | None = None


Rule = Callable[[AccountView, datetime, SegmentRules, bool], Condition]
OFF = Condition(False)


def at_risk(view: AccountView, now: datetime, rules: SegmentRules, latched: bool) -> Condition:
    recovering = latched and view.score < rules.at_risk_exit_score
    if view.band != "red" and not recovering:
        return OFF
    state = "red" if view.band == "red" else "not yet recovered"
    return Condition(
        True,
        f"Health is {state} ({view.score:.0f})",
        now + timedelta(hours=rules.at_risk_due_hours),
    )


def score_drop(view: AccountView, now: datetime, rules: SegmentRules, latched: bool) -> Condition:
    window = now - rules.score_drop_window_days * DAY
    earlier = [s for at, s in view.recent_scores if window <= at <= now]
    if not earlier:
        return OFF
    drop = max(earlier) - view.score
    if drop < (rules.score_drop_exit_points if latched else rules.score_drop_points):
        return OFF
    days = rules.score_drop_window_days
    return Condition(
        True,
        f"Score down {drop:.0f} points in {days:.0f} days",
        now + rules.score_drop_due_days * DAY,
    )


def adoption(view: AccountView, now: datetime, rules: SegmentRules, latched: bool) -> Condition:
    value = view.components.get("adoption")
    born = view.started_at or view.first_seen_at
    threshold = rules.adoption_exit_threshold if latched else rules.adoption_threshold
    if value is None or value >= threshold:
        return OFF
    old_enough = born + rules.adoption_min_age_days * DAY
    if now < old_enough:
        return OFF
    return Condition(
        True,
        f"Adoption is low ({value:.0f}/100)",
        now + rules.adoption_due_days * DAY,
        since=max(view.as_of, old_enough),
    )


def renewal(view: AccountView, now: datetime, rules: SegmentRules, latched: bool) -> Condition:
    if view.renewal_at is None or view.canceled:
        return OFF
    renews = datetime.combine(view.renewal_at, time(), tzinfo=UTC)
    opens = renews - rules.renewal_window_days * DAY
    if not opens <= now <= renews:
        return OFF
    days = (renews - now).days
    reason = f"Renewal on {view.renewal_at.isoformat()} ({days} days)"
    return Condition(True, reason, renews, since=opens)


def expansion(view: AccountView, now: datetime, rules: SegmentRules, latched: bool) -> Condition:
    # enters green; once open, only red (or the signal fading past its exit) clears it
    if view.band == "red" or (view.band != "green" and not latched):
        return OFF
    seat_ratio = rules.expansion_exit_seat_ratio if latched else rules.expansion_seat_ratio
    days, active = (7, view.active_users_7d)
    if view.active_users_30d is not None:
        days, active = (30, view.active_users_30d)
    if view.seats and active >= seat_ratio * view.seats:
        reason = f"{active} of {view.seats} seats active in {days} days"
    elif _usage_grows(view, rules, latched):
        reason = f"Usage up {100 * ((_sustained_ratio(view) or 1) - 1):.0f}% over its baseline"
    else:
        return OFF
    return Condition(True, reason, now + rules.expansion_due_days * DAY)


def _usage_grows(view: AccountView, rules: SegmentRules, latched: bool) -> bool:
    """Usage over its baseline, where that means something: enough users, a full baseline
    (data since the later of the subscription's start and when Vigil first saw it), and
    for two weeks, not one (a ten-user account's week swings by a third on chance).

    Enters when the last 7 and the last 14 days are both over the ratio; holds while
    the 14 days stay over the exit ratio.
    """
    # the ratios are as of the view's time, which a clock tick can find days old
    known_since = max(t for t in (view.started_at, view.first_seen_at) if t is not None)
    full_baseline = view.as_of - known_since >= rules.expansion_usage_min_history_days * DAY
    if not full_baseline or view.active_users_7d < rules.expansion_usage_min_users:
        return False
    if latched:
        held = _sustained_ratio(view)
        return held is not None and held >= rules.expansion_exit_usage_ratio
    r7, r14, entry = view.usage_ratio, view.usage_ratio_14d, rules.expansion_usage_ratio
    return r7 is not None and r7 >= entry and (r14 is None or r14 >= entry)


def _sustained_ratio(view: AccountView) -> float | None:
    """The 14-day ratio; the 7-day one in a change from before the 14-day one existed."""
    return view.usage_ratio_14d if view.usage_ratio_14d is not None else view.usage_ratio


def onboarding(view: AccountView, now: datetime, rules: SegmentRules, latched: bool) -> Condition:
    """The onboarding window itself: from the subscription's start for ``onboarding_days``.

    First value does not close it: usage often arrives before the start event (or
    is read first), and the episode is the onboarding programme, not a single step.
    Only the window's end or a cancellation resolves it.
    """
    start = view.started_at
    if start is None or view.canceled:
        return OFF
    deadline = start + rules.onboarding_days * DAY
    if not start <= now < deadline:
        return OFF
    # what opens the episode is the start; first value, often read before it, is not news
    reason = f"Subscription started {start:%Y-%m-%d}: onboarding until {deadline:%Y-%m-%d}"
    return Condition(True, reason, deadline, since=start)


def onboarding_stalled(
    view: AccountView, now: datetime, rules: SegmentRules, latched: bool
) -> Condition:
    start = view.started_at
    if start is None or view.canceled or view.first_value_at is not None:
        return OFF
    stalled = start + rules.onboarding_days * DAY
    if now < stalled:
        return OFF
    days = rules.onboarding_days
    return Condition(
        True,
        f"No first value {days:.0f} days after start",
        now + rules.stalled_due_days * DAY,
        since=stalled,
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


def evaluate(
    view: AccountView,
    now: datetime,
    config: PlaybookConfig,
    latched: Collection[str] = frozenset(),
) -> dict[str, Condition]:
    """Every enabled playbook's condition for ``view`` at ``now``; ``latched`` already hold."""
    rules = config.rules_for(view.segment)
    return {
        name: rule(view, now, rules, name in latched)
        for name, rule in RULES.items()
        if config.is_enabled(name)
    }
