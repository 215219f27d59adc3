"""Properties of the health model that must hold for any state."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.domain.account_state import OpenTicket, OverdueInvoice, Response
from services.scoring.domain.model import score
from services.scoring.domain.model_config import HealthModelConfig
from tests.unit.scoring.states import NOW, active_account

CFG = HealthModelConfig()

states = st.builds(
    active_account,
    silent_days=st.integers(0, 60),
    users=st.integers(0, 50),
    seats=st.one_of(st.none(), st.integers(1, 100)),
    features=st.integers(0, 15),
    daily_events=st.integers(0, 500),
    arr=st.integers(0, 1_000_000),
    open_tickets=st.lists(
        st.builds(
            OpenTicket,
            st.sampled_from(["low", "normal", "high", "urgent"]),
            st.integers(0, 100).map(lambda d: NOW - timedelta(days=d)),
        ),
        max_size=6,
    ).map(tuple),
    responses=st.lists(
        st.builds(
            Response,
            st.sampled_from(["nps"]),
            st.integers(0, 10),
            st.integers(0, 120).map(lambda d: NOW - timedelta(days=d)),
        ),
        max_size=4,
    ).map(tuple),
    overdue_invoices=st.lists(
        st.builds(
            OverdueInvoice, st.just("i"), st.integers(0, 60).map(lambda d: NOW - timedelta(days=d))
        ),
        max_size=2,
    ).map(tuple),
)


@settings(max_examples=150, deadline=None)
@given(states, st.integers(0, 30))
def test_score_and_components_stay_within_0_and_100(state, days_later) -> None:
    health = score(state, NOW + timedelta(days=days_later), CFG)
    assert 0 <= health.score <= 100
    assert all(v is None or 0 <= v <= 100 for v in health.components.values())
    assert 0 <= health.coverage <= 1
    assert health.band in ("green", "yellow", "red")


@settings(max_examples=150, deadline=None)
@given(states, st.lists(st.integers(0, 120), max_size=6), st.integers(0, 120))
def test_more_failed_payments_never_raise_the_payment_component(state, failures, extra) -> None:
    def payment(days: list[int]) -> float | None:
        moved = state.__class__(
            **{**state.__dict__, "payment_failures": tuple(NOW - timedelta(days=d) for d in days)}
        )
        return score(moved, NOW, CFG).components["payment"]

    before, after = payment(failures), payment([*failures, extra])
    assert before is not None and after is not None
    assert after <= before


@settings(max_examples=100, deadline=None)
@given(states)
def test_same_state_and_as_of_give_the_same_health(state) -> None:
    assert score(state, NOW, CFG) == score(state, NOW, CFG)
