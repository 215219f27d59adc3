"""Measures compiled to closures over ``AccountState``: the closed set of aggregates.

Windows end at ``as_of``: a timestamp counts when ``as_of - window < t <= as_of``,
a daily bucket when its age in days is below the window. A measure's value is
None (missing) when the account has no data of its kind.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from services.scoring.account_state import AccountState
from services.scoring.components import _survey_points as survey_points
from services.scoring.scorecard.document import Breakpoint, Measure

Reader = Callable[[AccountState, datetime], float | None]
PointsFn = Callable[[float], float]


class Unsupported(ValueError):
    """A valid measure that today's account state cannot compute yet."""


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _daily(m: Measure, pick: Callable[[int, float], float]) -> Reader:
    window, baseline = m.window_days or 0, m.baseline_days
    factor = (baseline or 0) / window

    def read(state: AccountState, as_of: datetime) -> float | None:
        today = as_of.date().toordinal()
        current = before = 0.0
        for day, (events, quantity) in state.daily_activity.items():
            age = today - day.toordinal()
            if 0 <= age < window:
                current += pick(events, quantity)
            elif baseline and window <= age < window + baseline:
                before += pick(events, quantity)
        if baseline is None:
            return current
        return None if before <= 0 else current / (before / factor)

    return read


def _usage(m: Measure) -> Reader:
    window = timedelta(days=m.window_days or 0)
    core = set(m.features)
    if m.aggregate == "count":
        return _daily(m, lambda events, _q: events)
    if m.aggregate == "sum_quantity":
        return _daily(m, lambda _e, quantity: quantity)
    if m.aggregate == "days_active":
        return _daily(m, lambda events, _q: 1 if events > 0 else 0)
    if m.aggregate == "distinct_users":
        return lambda s, t: float(
            sum(1 for seen in s.user_last_seen.values() if t - window < seen <= t)
        )
    if m.aggregate == "distinct_features":
        return lambda s, t: (
            float(
                sum(
                    1
                    for feature, last in s.feature_last_used.items()
                    if (not core or feature in core) and t - window < last <= t
                )
            )
            if s.feature_last_used
            else None
        )

    def days_since_last(state: AccountState, as_of: datetime) -> float | None:
        seen = [t for t in state.user_last_seen.values() if t <= as_of]
        return float((as_of - max(seen)).days) if seen else None

    return days_since_last


def _ticket(m: Measure) -> Reader:
    if m.aggregate == "reopens":
        return lambda s, _t: float(s.reopens_recent)
    if m.aggregate == "count":
        window = timedelta(days=m.window_days or 0)
        return lambda s, t: float(sum(1 for u in s.tickets_updated if t - window < u <= t))
    wanted, weights, other = set(m.severities), m.severity_weights, m.other_severity_weight

    def open_tickets(state: AccountState, as_of: datetime) -> float:
        open_now = [
            t.severity
            for t in state.open_tickets
            if t.opened_at <= as_of and (not wanted or t.severity in wanted)
        ]
        if weights is None:
            return float(len(open_now))
        return sum(weights.get(severity, other) for severity in open_now)

    return open_tickets


def _survey(m: Measure) -> Reader:
    window, kinds = timedelta(days=m.window_days or 0), set(m.kinds)

    def read(state: AccountState, as_of: datetime) -> float | None:
        fresh = [
            r
            for r in state.responses
            if as_of - window < r.at <= as_of and (not kinds or r.kind in kinds)
        ]
        if m.aggregate == "count":
            return float(len(fresh))
        if m.aggregate == "latest_survey":
            return float(max(fresh, key=lambda r: r.at).score) if fresh else None
        if m.aggregate == "mean_score":
            return _mean([r.score for r in fresh])
        points = [survey_points(r.kind, r.score) for r in fresh]
        return _mean([p for p in points if p is not None])

    return read


def _payment(m: Measure) -> Reader:
    window = timedelta(days=m.window_days or 0)
    if m.aggregate == "failed_payments":
        return lambda s, t: float(sum(1 for f in s.payment_failures if t - window < f <= t))
    if m.aggregate == "paid_invoices":
        return lambda s, t: float(sum(1 for p in s.invoices_paid if t - window < p <= t))
    if m.aggregate == "downgrades":
        return lambda s, t: float(
            s.last_downgrade_at is not None and t - window < s.last_downgrade_at <= t
        )
    if m.aggregate == "overdue_invoices":
        return lambda s, t: float(sum(1 for i in s.overdue_invoices if i.overdue_since <= t))
    return lambda s, t: float(
        sum(max(0, (t - i.overdue_since).days) for i in s.overdue_invoices if i.overdue_since <= t)
    )


def _account(m: Measure) -> Reader:
    if m.aggregate == "arr":
        return lambda s, _t: None if s.arr is None else float(s.arr)
    return lambda s, _t: None if s.seats is None else float(s.seats)


SOURCES: dict[str, Callable[[Measure], Reader]] = {
    "usage": _usage,
    "ticket": _ticket,
    "survey": _survey,
    "payment": _payment,
    "account": _account,
}


def reader(m: Measure) -> Reader:
    """The measure's value at ``as_of`` (per seat when asked)."""
    if m.types:
        raise Unsupported(f"measure {m.name}: type filters need the per-type rollups")
    read = SOURCES[m.source](m)
    if m.per_seat is None:
        return read
    share = m.per_seat

    def per_seat(state: AccountState, as_of: datetime) -> float | None:
        value = read(state, as_of)
        if value is None or not state.seats:
            return None
        return value / (state.seats * share)

    return per_seat


def points(breakpoints: list[Breakpoint] | None) -> PointsFn:
    """Piecewise linear through the breakpoints, clamped at both ends."""
    if breakpoints is None:
        return lambda value: value
    xs = tuple(b.x for b in breakpoints)
    ys = tuple(b.y for b in breakpoints)
    segments = tuple(zip(xs, ys, xs[1:], ys[1:], strict=False))

    def interpolate(value: float) -> float:
        if value <= xs[0]:
            return ys[0]
        for x0, y0, x1, y1 in segments:
            if value < x1:
                # this order of operations keeps the default scorecard bit-equal to the model
                return y0 + (y1 - y0) * (value - x0) / (x1 - x0)
        return ys[-1]

    return interpolate
