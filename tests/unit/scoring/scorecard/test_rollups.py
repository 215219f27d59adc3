"""Measures that read the daily rollups equal a naive count over the raw events.

Random events are folded into rollups by the real fold (in random batches, merged
as the repository's upsert merges them: sums per key, a set of user days), then
every filtered aggregate is compared with a recomputation from the raw list, for
random windows, baselines and filters; pruning the rollups to a retention that
the measure's window fits in changes nothing.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.domain.account_state import (
    AccountState,
    Rollup,
    UserDay,
    decode_day,
    rollup_key,
)
from services.scoring.domain.fold import fold_signals
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.domain.rollup_index import StoredDay, StoredRollups, StoredUserDays
from services.scoring.domain.signal_decode import ScoringSignal, TrustedUsage
from services.scoring.scorecard.checks import validate
from services.scoring.scorecard.default import scorecard_from_config
from services.scoring.scorecard.document import Measure
from services.scoring.scorecard.measures import Context, raw_reader
from services.scoring.scorecard.rollup_measures import needs_of, reads_rollups
from shared.contracts.signals import PaymentSignal, SurveySignal, TicketSignal
from tests.unit.scoring.states import NOW

ACCOUNT = "acct"
USAGE_TYPES = ["api_call", "page_view", "report_exported"]
FEATURES = ["api", "dashboard", "reports"]
USERS = ["u1", "u2", "u3", "u4"]
TICKET_TYPES = ["opened", "updated", "resolved", "reopened"]
SEVERITIES = ["low", "normal", "high", "urgent"]
PAYMENT_TYPES = ["invoice_paid", "payment_failed", "refund_issued"]


@dataclass(frozen=True)
class Event:
    """One raw event as the naive recomputation reads it."""

    source: str
    at: datetime
    type: str
    feature: str = ""
    detail: str = ""
    user: str = ""
    quantity: float = 0.0


def _signal(e: Event, i: int) -> ScoringSignal:
    common: dict[str, Any] = {
        "event_id": f"e{i}",
        "account_id": ACCOUNT,
        "occurred_at": e.at,
        "ingested_at": e.at,
        "type": e.type,
    }
    if e.source == "usage":
        return TrustedUsage(f"e{i}", ACCOUNT, e.at, e.at, e.type, e.user, e.feature, e.quantity)
    if e.source == "ticket":
        return TicketSignal(**common, ticket_id=f"t{i % 3}", severity=e.detail or None)
    if e.source == "payment":
        return PaymentSignal(**common, invoice_id=f"i{i}", amount=Decimal(int(e.quantity)))
    return SurveySignal(**common, score=int(e.quantity))


_at = st.integers(0, 200 * 24).map(lambda h: NOW - timedelta(hours=h))
_usage = st.builds(
    lambda at, t, f, u, q: Event("usage", at, t, feature=f, user=u, quantity=float(q)),
    _at,
    st.sampled_from(USAGE_TYPES),
    st.sampled_from(FEATURES),
    st.sampled_from(USERS),
    st.integers(1, 5),
)
_ticket = st.builds(
    lambda at, t, s: Event("ticket", at, t, detail=s),
    _at,
    st.sampled_from(TICKET_TYPES),
    st.sampled_from(["", *SEVERITIES]),
)
_payment = st.builds(
    lambda at, t, a: Event("payment", at, t, quantity=float(a)),
    _at,
    st.sampled_from(PAYMENT_TYPES),
    st.integers(1, 900),
)
_survey = st.builds(
    lambda at, s: Event("survey", at, "nps", quantity=float(s)), _at, st.integers(0, 10)
)
events = st.lists(st.one_of(_usage, _usage, _ticket, _payment, _survey), max_size=60)


def fold_into_state(raw: list[Event], cuts: list[int]) -> AccountState:
    """The real fold, batch by batch, merged as the repository's upsert merges (counts
    summed per key, users united), and decoded as the loader decodes."""
    signals = [_signal(e, i) for i, e in enumerate(raw)]
    counts: dict[date, dict[str, list[float]]] = {}
    users: dict[date, dict[str, int]] = {}
    daily: dict[date, tuple[int, float]] = {}
    edges = sorted({0, len(signals), *(c % (len(signals) + 1) for c in cuts)})
    for start, end in itertools.pairwise(edges):
        changes = fold_signals(signals[start:end])
        for (_a, day), keys in changes.rollups.items():
            stored = counts.setdefault(day, {})
            for key, (events, quantity) in keys.items():
                total = stored.setdefault(key, [0, 0.0])
                total[0] += events
                total[1] += quantity
        for (_a, day), active in changes.user_days.items():
            users.setdefault(day, {}).update(active)
        for (_a, day), (events, quantity) in changes.activity.items():
            before = daily.get(day, (0, 0.0))
            daily[day] = (before[0] + int(events), before[1] + quantity)
    rollups: list[Rollup] = []
    user_days: list[UserDay] = []
    for day, keys in counts.items():
        rolled, seen = decode_day(day, keys, users.get(day, {}))
        rollups += rolled
        user_days += seen
    return AccountState(
        account_id=ACCOUNT,
        first_seen_at=NOW - timedelta(days=400),
        daily_activity=daily,
        rollups=tuple(rollups),
        user_days=tuple(user_days),
    )


# (source, aggregate, filters it takes, baseline allowed)
KINDS = [
    ("usage", "count", ("types", "features"), True),
    ("usage", "sum_quantity", ("types", "features"), True),
    ("usage", "days_active", ("types", "features"), True),
    ("usage", "days_since_last", ("types", "features"), False),
    ("usage", "distinct_users", ("types",), False),
    ("usage", "distinct_features", ("types",), False),
    ("ticket", "count", ("types", "severities"), True),
    ("payment", "count", ("types",), True),
    ("payment", "sum_quantity", ("types",), True),
]
VALUES = {
    ("usage", "types"): USAGE_TYPES,
    ("usage", "features"): FEATURES,
    ("ticket", "types"): TICKET_TYPES,
    ("ticket", "severities"): SEVERITIES,
    ("payment", "types"): PAYMENT_TYPES,
}


@st.composite
def measures(draw: st.DrawFn) -> Measure:
    source, aggregate, filters, baselined = draw(st.sampled_from(KINDS))
    data: dict[str, Any] = {"name": "m", "source": source, "aggregate": aggregate}
    for name in filters:
        values = VALUES[(source, name)]
        data[name] = draw(st.lists(st.sampled_from(values), max_size=len(values), unique=True))
    if aggregate != "days_since_last":
        data["window_days"] = draw(st.integers(1, 60))
    if baselined and draw(st.booleans()):
        data["baseline_days"] = draw(st.integers(1, 60))
    m = Measure.model_validate(data)
    if not reads_rollups(m):  # no filter: the state answers it; make it read the rollups
        first = filters[0]
        m = m.model_copy(update={first: [VALUES[(source, first)][0]]})
    return m


def naive(m: Measure, raw: list[Event], as_of: datetime) -> float | None:
    """The measure recomputed from the raw events: ages in whole UTC days."""

    def age(e: Event) -> int:
        return (as_of.date() - e.at.date()).days

    def wanted(e: Event) -> bool:
        return (
            e.source == m.source
            and age(e) >= 0
            and (not m.types or e.type in m.types)
            and (not m.features or e.feature in m.features)
            and (not m.severities or e.detail in m.severities)
        )

    matching = [e for e in raw if wanted(e)]
    if m.aggregate == "days_since_last":
        return float(min(age(e) for e in matching)) if matching else None
    window = m.window_days or 0
    now = [e for e in matching if age(e) < window]
    if m.aggregate == "distinct_users":
        return float(len({e.user for e in now}))
    if m.aggregate == "distinct_features":
        return float(len({e.feature for e in now}))

    def total(part: list[Event]) -> float:
        if m.aggregate == "days_active":
            return float(len({e.at.date() for e in part}))
        if m.aggregate == "count":
            return float(len(part))
        return sum(e.quantity for e in part)

    if m.baseline_days is None:
        return total(now)
    before = [e for e in matching if window <= age(e) < window + m.baseline_days]
    factor = m.baseline_days / window
    return None if total(before) <= 0 else total(now) / (total(before) / factor)


def value(m: Measure, state: AccountState, as_of: datetime) -> float | None:
    return raw_reader(m)(Context(state, as_of))


_as_of = st.integers(0, 40 * 24).map(lambda h: NOW - timedelta(hours=h))
_cuts = st.lists(st.integers(0, 60), max_size=4)


@settings(max_examples=500, deadline=None)
@given(events, measures(), _as_of, _cuts)
def test_each_aggregate_equals_a_naive_count_over_the_raw_events(
    raw: list[Event], m: Measure, as_of: datetime, cuts: list[int]
) -> None:
    assert value(m, fold_into_state(raw, cuts), as_of) == naive(m, raw, as_of)


@settings(max_examples=300, deadline=None)
@given(events, measures(), _as_of, st.integers(0, 60), st.integers(0, 30))
def test_the_retention_never_changes_a_measure_whose_window_fits(
    raw: list[Event], m: Measure, as_of: datetime, spare: int, earlier: int
) -> None:
    span = (m.window_days or 0) + (m.baseline_days or 0)
    if not span:  # days since the last event has no window: all retained days count
        return
    days = span + spare
    assert validate_window(m, days) == []  # the checks take this window with this retention
    state = fold_into_state(raw, [])
    # pruned as the repository prunes: days older than ``days`` before the account's latest
    # event or now, whichever is earlier, and scored at or after that moment
    reference = (as_of - timedelta(hours=earlier)).date()
    kept = replace(
        state,
        rollups=tuple(r for r in state.rollups if r.day >= reference - timedelta(days=days)),
        user_days=tuple(d for d in state.user_days if d.day >= reference - timedelta(days=days)),
    )
    assert value(m, kept, as_of) == value(m, state, as_of)
    assert needs_of(m).rollup_days == span


def validate_window(m: Measure, days: int) -> list[str]:
    """The checks' verdict on the measure, added to the default scorecard, with ``days`` kept."""
    data = scorecard_from_config(HealthModelConfig()).model_dump(mode="json")
    data["measures"].append(m.model_dump(mode="json", exclude_none=True))
    path = f"measures[{len(data['measures']) - 1}]"
    return [e for e in validate(data, retention_days=days)[1] if e.startswith(path)]


@settings(max_examples=200, deadline=None)
@given(events, _as_of, st.sampled_from(["count", "sum_quantity", "days_active"]), _cuts)
def test_every_usage_type_together_is_the_plain_daily_total(
    raw: list[Event], as_of: datetime, aggregate: str, cuts: list[int]
) -> None:
    plain = Measure(name="m", source="usage", aggregate=aggregate, window_days=30)
    every_type = plain.model_copy(update={"types": USAGE_TYPES})
    state = fold_into_state(raw, cuts)
    assert not reads_rollups(plain) and reads_rollups(every_type)
    assert value(every_type, state, as_of) == value(plain, state, as_of)


@settings(max_examples=300, deadline=None)
@given(events, measures(), _as_of)
def test_a_measure_reads_the_stored_days_as_it_reads_decoded_rows(
    raw: list[Event], m: Measure, as_of: datetime
) -> None:
    """The loader hands the stored JSON objects over undecoded (indexed straight from their
    keys): every measure reads them as it reads the rows ``decode_day`` gives."""
    state = fold_into_state(raw, [])
    stored = _stored_days(state)
    loaded = replace(state, rollups=StoredRollups(stored), user_days=StoredUserDays(stored))
    assert value(m, loaded, as_of) == value(m, state, as_of)
    assert sorted(loaded.rollups) == sorted(state.rollups)
    assert sorted(loaded.user_days) == sorted(state.user_days)


def _stored_days(state: AccountState) -> list[StoredDay]:
    """The state's rows as the rollups table stores them: per day, counts and users by key."""
    days: dict[date, tuple[dict[str, list[float]], dict[str, int]]] = {}
    for r in state.rollups:
        key = rollup_key(r.source, r.type, r.feature, r.detail)
        days.setdefault(r.day, ({}, {}))[0][key] = [r.events, r.quantity]
    for d in state.user_days:
        days.setdefault(d.day, ({}, {}))[1][f"{d.type}\t{d.user_id}"] = 1
    return [(day, counts, users) for day, (counts, users) in days.items()]
