"""The five health components, each 0-100 or None when there is no fresh data. Pure.

Every function looks only at data inside its window ending at ``as_of``, so a
score at an earlier ``as_of`` is well defined from the same state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.scoring.domain.account_state import AccountState
from services.scoring.domain.model_config import HealthModelConfig

DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Finding:
    """A component's value and the sentence that explains a low value."""

    value: float | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class UsageFacts:
    events_7d: int
    baseline_week: float
    active_users_7d: int
    days_silent: int | None
    # seat use for expansion: a month smooths out who happened to log in this week
    active_users_30d: int = 0
    # usage growth for expansion: two weeks against the four before them; one week
    # of a ten-user account swings by a third on chance alone
    events_14d: int = 0
    baseline_week_before_14d: float = 0.0

    @property
    def ratio_to_baseline(self) -> float | None:
        if self.baseline_week <= 0:
            return None
        return self.events_7d / self.baseline_week

    @property
    def ratio_14d_to_baseline(self) -> float | None:
        if self.baseline_week_before_14d <= 0:
            return None
        return self.events_14d / 2 / self.baseline_week_before_14d


def usage_facts(state: AccountState, as_of: datetime) -> UsageFacts:
    # ordinals and precomputed cut-offs: this runs for every account scored, and
    # date and timedelta arithmetic per row cost more than the sums themselves
    today = as_of.date().toordinal()
    events_7d = earlier = events_14d = before_14d = 0
    for day, (events, _quantity) in state.daily_activity.items():
        age = today - day.toordinal()
        if age < 0:
            continue
        if age < 7:
            events_7d += events
        elif age < 35:
            earlier += events
        if age < 14:
            events_14d += events
        elif age < 42:
            before_14d += events
    seen = [t for t in state.user_last_seen.values() if t <= as_of]
    week_ago, month_ago = as_of - 7 * DAY, as_of - 30 * DAY
    active = sum(1 for t in seen if t > week_ago)
    active_30d = sum(1 for t in seen if t > month_ago)
    days_silent = (as_of - max(seen)).days if seen else None
    return UsageFacts(
        events_7d, earlier / 4, active, days_silent, active_30d, events_14d, before_14d / 4
    )


def usage(
    state: AccountState, as_of: datetime, cfg: HealthModelConfig, facts: UsageFacts | None = None
) -> Finding:
    facts = facts or usage_facts(state, as_of)
    if facts.days_silent is None:
        return Finding(None)
    if facts.days_silent >= cfg.freshness_days["usage"] and facts.events_7d == 0:
        return Finding(0.0, f"No product usage in {facts.days_silent} days")
    ratio = facts.ratio_to_baseline
    trend = 1.0 if ratio is None else min(1.0, ratio)
    parts = [trend]
    if state.seats:
        parts.append(min(1.0, facts.active_users_7d / (state.seats * cfg.seat_target_ratio)))
    value = 100 * sum(parts) / len(parts)
    if facts.days_silent >= cfg.usage_stopped_days:
        return Finding(value, f"No product usage in {facts.days_silent} days")
    if ratio is not None and ratio < 0.7:
        return Finding(value, f"Usage down {round(100 * (1 - ratio))}% against its 4-week baseline")
    if state.seats and len(parts) == 2 and parts[1] < 0.5:
        return Finding(
            value, f"Only {facts.active_users_7d} of {state.seats} seats active in 7 days"
        )
    return Finding(value)


def adoption(state: AccountState, as_of: datetime, cfg: HealthModelConfig) -> Finding:
    if not state.feature_last_used:
        return Finding(None)
    window = cfg.adoption_window_days * DAY
    core = set(cfg.core_features)
    since = as_of - window
    used = sum(
        1
        for feature, last in state.feature_last_used.items()
        if (not core or feature in core) and since < last <= as_of
    )
    low, high = cfg.adoption_low, cfg.adoption_high
    if used >= high:
        return Finding(100.0)
    if used >= low:
        return Finding(40 + 60 * (used - low) / (high - low))
    features = "key feature" if used == 1 else "key features"
    return Finding(
        40 * used / low, f"Only {used} {features} used in {cfg.adoption_window_days} days"
    )


def support(state: AccountState, as_of: datetime, cfg: HealthModelConfig) -> Finding:
    fresh = as_of - cfg.freshness_days["support"] * DAY
    open_now = [t for t in state.open_tickets if t.opened_at <= as_of]
    ratings = [
        r.score for r in state.responses if r.kind == "ticket_csat" and fresh < r.at <= as_of
    ]
    recent = [t for t in state.tickets_updated if fresh < t <= as_of]
    if not open_now and not ratings and not recent:
        return Finding(None)
    penalty = sum(cfg.severity_penalty.get(t.severity, 8) for t in open_now)
    penalty += cfg.reopen_penalty * state.reopens_recent
    value = max(0.0, 100 - penalty)
    if ratings:
        value = 0.7 * value + 0.3 * (sum(ratings) / len(ratings) - 1) * 25
    urgent = sum(1 for t in open_now if t.severity == "urgent")
    if urgent:
        return Finding(value, f"{urgent} urgent ticket{'s' if urgent > 1 else ''} open")
    if len(open_now) >= 3:
        return Finding(value, f"{len(open_now)} tickets open")
    if ratings and sum(ratings) / len(ratings) < 3:
        return Finding(value, f"Low support satisfaction ({sum(ratings) / len(ratings):.1f}/5)")
    return Finding(value)


def payment(state: AccountState, as_of: datetime, cfg: HealthModelConfig) -> Finding:
    fresh = as_of - cfg.freshness_days["payment"] * DAY
    failures = [t for t in state.payment_failures if fresh < t <= as_of]
    overdue = [i for i in state.overdue_invoices if i.overdue_since <= as_of]
    paid = [t for t in state.invoices_paid if fresh < t <= as_of]
    downgraded = state.last_downgrade_at is not None and fresh < state.last_downgrade_at <= as_of
    if not (failures or overdue or paid or downgraded or state.arr is not None):
        return Finding(None)
    overdue_days = sum(max(0, (as_of - i.overdue_since).days) for i in overdue)
    penalty = (
        cfg.failed_payment_penalty * len(failures)
        + cfg.overdue_invoice_penalty * len(overdue)
        + cfg.overdue_day_penalty * overdue_days
        + (cfg.downgrade_penalty if downgraded else 0)
    )
    value = max(0.0, 100 - penalty)
    if overdue:
        n = len(overdue)
        return Finding(
            value, f"{n} invoice{'s' if n > 1 else ''} overdue ({overdue_days} days in all)"
        )
    if failures:
        n = len(failures)
        return Finding(value, f"Payment failed {n} time{'s' if n > 1 else ''} in 90 days")
    if downgraded:
        return Finding(value, "Downgraded in the last 90 days")
    return Finding(value)


def sentiment(state: AccountState, as_of: datetime, cfg: HealthModelConfig) -> Finding:
    fresh = as_of - cfg.freshness_days["sentiment"] * DAY
    points = [_survey_points(r.kind, r.score) for r in state.responses if fresh < r.at <= as_of]
    values = [v for v in points if v is not None]
    if not values:
        return Finding(None)
    value = sum(values) / len(values)
    if value < 50:
        return Finding(value, f"Detractor feedback (surveys average {value:.0f}/100)")
    return Finding(value)


def _survey_points(kind: str, score: int) -> float | None:
    if kind == "nps":
        return score * 10.0
    if kind == "csat":
        return (score - 1) * 25.0
    if kind == "ces":
        return (7 - score) / 6 * 100  # lower effort is better
    return None


COMPONENT_FUNCTIONS = {
    "usage": usage,
    "adoption": adoption,
    "support": support,
    "payment": payment,
    "sentiment": sentiment,
}
