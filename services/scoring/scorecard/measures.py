"""Measures compiled to closures over ``AccountState``: the closed set of aggregates.

Windows end at ``as_of``: a timestamp counts when ``as_of - window < t <= as_of``,
a daily bucket when its age in days is below the window. A measure's value is
None (missing) when the account has no data of its kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import orjson

from services.scoring.domain.account_state import AccountState
from services.scoring.domain.components import _survey_points as survey_points
from services.scoring.scorecard.document import Breakpoint, Measure
from services.scoring.scorecard.rollup_measures import RollupView, reads_rollups, rollup_reader

PointsFn = Callable[[float], float]
NEVER = datetime.min.replace(tzinfo=UTC)


class Context:
    """One account at one ``as_of``, with what several measures read prepared once."""

    __slots__ = ("_daily", "_seen", "_view", "as_of", "state")

    def __init__(self, state: AccountState, as_of: datetime) -> None:
        self.state, self.as_of = state, as_of
        self._daily: list[tuple[int, float, float, float]] | None = None
        self._seen: list[datetime] | None = None
        self._view: RollupView | None = None

    @property
    def view(self) -> RollupView:
        """The rollups, for the measures that read them."""
        if self._view is None:
            self._view = RollupView(self.state, self.as_of)
        return self._view

    @property
    def daily(self) -> list[tuple[int, float, float, float]]:
        """(age in days, events, quantity, active 0/1) of every day with activity."""
        if self._daily is None:
            today = self.as_of.date().toordinal()
            self._daily = [
                (today - day.toordinal(), events, quantity, 1.0 if events > 0 else 0.0)
                for day, (events, quantity) in self.state.daily_activity.items()
            ]
        return self._daily

    @property
    def seen(self) -> list[datetime]:
        """Each user's last use, up to ``as_of``."""
        if self._seen is None:
            as_of = self.as_of
            self._seen = [t for t in self.state.user_last_seen.values() if t <= as_of]
        return self._seen


Reader = Callable[[Context], float | None]


def _count(times: Iterable[datetime], after: datetime, until: datetime) -> float:
    return float(sum(1 for t in times if after < t <= until))


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _daily(m: Measure, column: int) -> Reader:
    window, baseline = m.window_days or 0, m.baseline_days
    factor, end = (baseline or 0) / window, window + (baseline or 0)

    def read(c: Context) -> float | None:
        current = before = 0.0
        for row in c.daily:
            age = row[0]
            if 0 <= age < window:
                current += row[column]
            elif window <= age < end:
                before += row[column]
        if baseline is None:
            return current
        return None if before <= 0 else current / (before / factor)

    return read


def _usage(m: Measure) -> Reader:
    window = timedelta(days=m.window_days or 0)
    core = set(m.features)
    if m.aggregate == "count":
        return _daily(m, 1)
    if m.aggregate == "sum_quantity":
        return _daily(m, 2)
    if m.aggregate == "days_active":
        return _daily(m, 3)
    if m.aggregate == "distinct_users":
        return lambda c: float(sum(1 for seen in c.seen if c.as_of - window < seen))
    if m.aggregate == "distinct_features":
        return lambda c: (
            float(
                sum(
                    1
                    for feature, last in c.state.feature_last_used.items()
                    if (not core or feature in core) and c.as_of - window < last <= c.as_of
                )
            )
            if c.state.feature_last_used
            else None
        )

    def days_since_last(c: Context) -> float | None:
        return float((c.as_of - max(c.seen)).days) if c.seen else None

    return days_since_last


def _ticket(m: Measure) -> Reader:
    if m.aggregate == "reopens":
        return lambda c: float(c.state.reopens_recent)
    if m.aggregate == "count":
        window = timedelta(days=m.window_days or 0)
        return lambda c: _count(c.state.tickets_updated, c.as_of - window, c.as_of)
    wanted, weights, other = set(m.severities), m.severity_weights, m.other_severity_weight

    def open_tickets(c: Context) -> float:
        open_now = [
            t.severity
            for t in c.state.open_tickets
            if t.opened_at <= c.as_of and (not wanted or t.severity in wanted)
        ]
        if weights is None:
            return float(len(open_now))
        return sum(weights.get(severity, other) for severity in open_now)

    return open_tickets


def _survey(m: Measure) -> Reader:
    window, kinds = timedelta(days=m.window_days or 0), set(m.kinds)

    def read(c: Context) -> float | None:
        as_of = c.as_of
        fresh = [
            r
            for r in c.state.responses
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
        return lambda c: _count(c.state.payment_failures, c.as_of - window, c.as_of)
    if m.aggregate == "paid_invoices":
        return lambda c: _count(c.state.invoices_paid, c.as_of - window, c.as_of)
    if m.aggregate == "downgrades":
        return lambda c: _count(
            () if c.state.last_downgrade_at is None else (c.state.last_downgrade_at,),
            c.as_of - window,
            c.as_of,
        )
    if m.aggregate == "overdue_invoices":
        return lambda c: float(
            sum(1 for i in c.state.overdue_invoices if i.overdue_since <= c.as_of)
        )
    return lambda c: float(
        sum(
            max(0, (c.as_of - i.overdue_since).days)
            for i in c.state.overdue_invoices
            if i.overdue_since <= c.as_of
        )
    )


def _account(m: Measure) -> Reader:
    if m.aggregate == "arr":
        return lambda c: None if c.state.arr is None else float(c.state.arr)
    return lambda c: None if c.state.seats is None else float(c.state.seats)


SOURCES: dict[str, Callable[[Measure], Reader]] = {
    "usage": _usage,
    "ticket": _ticket,
    "survey": _survey,
    "payment": _payment,
    "account": _account,
}


RAW_EXCLUDED = {"name", "points", "missing", "per_seat"}


def raw_key(m: Measure) -> str:
    """Measures with the same key read the same raw value: computed once per evaluation."""
    return orjson.dumps(m.model_dump(exclude=RAW_EXCLUDED), option=orjson.OPT_SORT_KEYS).decode()


def raw_reader(m: Measure) -> Reader:
    """The measure's value at ``as_of`` before the per-seat division."""
    if reads_rollups(m):
        read = rollup_reader(m)
        return lambda c: read(c.view)
    return SOURCES[m.source](m)


def per_seat(value: float | None, seats: int | None, share: float | None) -> float | None:
    if share is None or value is None:
        return value
    return value / (seats * share) if seats else None


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


def shared_points(breakpoints: list[Breakpoint] | None, share: float) -> PointsFn:
    """``share`` x points, for a blend, computed as ``share x y0 + share x (x - x0) x slope``
    on the segment: the order of operations of the built-in support blend, so that the
    default scorecard rounds exactly as the model does. Clamped beyond the last x only."""
    if breakpoints is None:
        return lambda value: share * value
    xs = tuple(b.x for b in breakpoints)
    ys = tuple(b.y for b in breakpoints)
    segments = tuple(
        (x0, x1, share * y0, (y1 - y0) / (x1 - x0))
        for x0, y0, x1, y1 in zip(xs, ys, xs[1:], ys[1:], strict=False)
    )

    def interpolate(value: float) -> float:
        if value < xs[0]:
            return share * ys[0]
        for x0, x1, base, slope in segments:
            if value <= x1:
                return base + share * (value - x0) * slope
        return share * ys[-1]

    return interpolate
