"""The default scorecard scores exactly as the built-in model: same Health, field by field."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.domain.account_state import AccountState, OpenTicket, OverdueInvoice, Response
from services.scoring.domain.model import Health, score
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.scorecard.compiled import compile_scorecard
from services.scoring.scorecard.default import DEFAULT_PATH, load, scorecard_from_config
from services.scoring.scorecard.evaluate import evaluate
from tests.unit.scoring.states import NOW, active_account
from tests.unit.scoring.test_model_properties import states

FIELDS = (
    *("score", "band", "segment", "components", "coverage", "reasons"),
    *("trend_7d", "low_coverage", "usage"),
)

DEFAULT = HealthModelConfig()
VARIED = [
    HealthModelConfig(
        green_min=75,
        yellow_min=45,
        hysteresis=5,
        min_coverage=0.7,
        seat_target_ratio=0.7,
        usage_stopped_days=10,
        core_features=["f1", "f2", "f3", "f4", "f5", "f6"],
        adoption_low=2,
        adoption_high=5,
        reopen_penalty=7,
        failed_payment_penalty=30,
        overdue_day_penalty=0.3,
        risk_flag_step=10,
        max_reasons=2,
        risk_caps={"urgent_ticket": 60.0},
        severity_penalty={"low": 1.0, "normal": 5.0, "high": 22.0, "urgent": 40.0},
        freshness_days={"usage": 20, "adoption": 30, "support": 60, "payment": 45, "sentiment": 30},
    ),
    HealthModelConfig(
        enterprise_min_arr=500_000,
        mid_market_min_arr=50_000,
        smb_min_arr=1_000,
        adoption_window_days=14,
        downgrade_penalty=35,
        overdue_invoice_penalty=15,
        usage_stopped_days=3,
        risk_caps={"usage_stopped_14d": 30.0, "invoice_overdue": 65.0},
    ),
]

_days = st.integers(0, 120).map(lambda d: NOW - timedelta(days=d))
# the model's states plus every input it reads that they leave empty; scores in contract ranges
_responses = st.sampled_from(
    [("nps", 0, 10), ("csat", 1, 5), ("ces", 1, 7), ("ticket_csat", 1, 5)]
).flatmap(lambda k: st.builds(Response, st.just(k[0]), st.integers(k[1], k[2]), _days))
_extras = st.fixed_dictionaries(
    {
        "responses": st.lists(_responses, max_size=5).map(tuple),
        "payment_failures": st.lists(_days, max_size=4).map(tuple),
        "invoices_paid": st.lists(_days, max_size=3).map(tuple),
        "tickets_updated": st.lists(_days, max_size=3).map(tuple),
        "reopens_recent": st.integers(0, 4),
        "last_downgrade_at": st.one_of(st.none(), _days),
        "score_history": st.lists(st.tuples(_days, st.floats(0, 100)), max_size=3).map(tuple),
    }
)
wider_states = st.builds(lambda s, extra: replace(s, **extra), states, _extras)


def assert_same(expected: Health, got: Health) -> None:
    for field in FIELDS:
        assert getattr(got, field) == getattr(expected, field), field


def test_the_yaml_default_is_the_converted_default_config() -> None:
    card, errors = load(DEFAULT_PATH)
    assert errors == []
    assert card == scorecard_from_config(DEFAULT)


DEFAULT_CARD = compile_scorecard(scorecard_from_config(DEFAULT))
VARIED_CARDS = [(cfg, compile_scorecard(scorecard_from_config(cfg))) for cfg in VARIED]


# the model's own property states, and those with every other input filled in
@settings(max_examples=600, deadline=None)
@given(st.one_of(states, wider_states), st.integers(0, 30))
def test_default_scorecard_equals_the_model(state: AccountState, days_later: int) -> None:
    as_of = NOW + timedelta(days=days_later)
    assert_same(score(state, as_of, DEFAULT), evaluate(DEFAULT_CARD, state, as_of))


@settings(max_examples=300, deadline=None)
@given(wider_states, st.integers(0, 30), st.integers(0, len(VARIED) - 1))
def test_a_converted_config_equals_the_model_under_that_config(
    state: AccountState, days_later: int, which: int
) -> None:
    cfg, card = VARIED_CARDS[which]
    as_of = NOW + timedelta(days=days_later)
    assert_same(score(state, as_of, cfg), evaluate(card, state, as_of))


# the fixed states of tests/unit/scoring/test_model.py
FIXED = [
    active_account(),
    active_account(silent_days=14),
    active_account(
        open_tickets=(
            OpenTicket("urgent", NOW - timedelta(days=2)),
            OpenTicket("urgent", NOW - timedelta(days=3)),
        ),
        payment_failures=(NOW - timedelta(days=5),),
    ),
    active_account(users=29, seats=30, responses=(Response("nps", 9, NOW - timedelta(days=3)),)),
    replace(
        active_account(users=4, seats=6),
        user_last_seen={
            **active_account(users=4, seats=6).user_last_seen,
            "old-1": NOW - timedelta(days=12),
            "old-2": NOW - timedelta(days=29),
            "gone": NOW - timedelta(days=31),
        },
    ),
    replace(
        active_account(),
        daily_activity={
            (NOW - timedelta(days=d)).date(): (20 if d < 7 else 10, 1.0) for d in range(42)
        },
    ),
    active_account(responses=(Response("nps", 0, NOW - timedelta(days=1)),)),
    AccountState(
        "acct", NOW - timedelta(days=30), responses=(Response("nps", 10, NOW - timedelta(days=1)),)
    ),
    active_account(
        overdue_invoices=(OverdueInvoice("i1", NOW - timedelta(days=20)),),
        last_downgrade_at=NOW - timedelta(days=5),
    ),
    active_account(silent_days=14, score_history=((NOW - timedelta(days=8), 95.0),)),
    *(active_account(arr=arr) for arr in (250_000, 100_000, 99_999, 25_000, 5_000, 4_999)),
    AccountState("acct", NOW - timedelta(days=30)),
]


@pytest.mark.parametrize("index", range(len(FIXED)))
def test_default_scorecard_equals_the_model_on_the_fixed_states(index: int) -> None:
    state = FIXED[index]
    assert_same(score(state, NOW, DEFAULT), evaluate(DEFAULT_CARD, state, NOW))


def _support_states() -> list[AccountState]:
    severities = ("low", "normal", "high", "urgent")
    ratings = [(), (1,), (5,), (1, 4), (2, 3), (3, 5), (1, 2, 4), (2, 2, 5)]
    return [
        active_account(
            open_tickets=tuple(OpenTicket(s, NOW - timedelta(days=1)) for s in open_),
            responses=tuple(Response("ticket_csat", r, NOW - timedelta(days=2)) for r in rated),
            reopens_recent=reopens,
        )
        for open_ in [
            (),
            *((s,) for s in severities),
            *((a, b) for a in severities for b in severities),
        ]
        for rated in ratings
        for reopens in (0, 1, 3)
    ]


def test_support_rounds_as_the_model_on_every_ticket_and_rating_mix() -> None:
    # the blend of ticket points and satisfaction lands on x.x5 ties (0.7 x 82 + 11.25):
    # only the model's own order of operations rounds them the same way
    for state in _support_states():
        assert_same(score(state, NOW, DEFAULT), evaluate(DEFAULT_CARD, state, NOW))
