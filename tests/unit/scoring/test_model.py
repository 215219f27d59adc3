"""The health model on clear cases from customer-success practice."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from services.scoring.domain.account_state import AccountState, OpenTicket, OverdueInvoice, Response
from services.scoring.domain.model import band_for, score, segment_for
from services.scoring.domain.model_config import HealthModelConfig
from tests.unit.scoring.states import NOW, active_account

CFG = HealthModelConfig()


def test_usage_stopped_two_weeks_ago_is_not_green_and_usage_leads_the_reasons() -> None:
    health = score(active_account(silent_days=14), NOW, CFG)
    assert health.band in ("red", "yellow")
    assert health.components["usage"] == 0
    assert health.reasons[0].startswith("No product usage in 14 days")


def test_two_urgent_tickets_and_a_failed_payment_is_red() -> None:
    state = active_account(
        open_tickets=(
            OpenTicket("urgent", NOW - timedelta(days=2)),
            OpenTicket("urgent", NOW - timedelta(days=3)),
        ),
        payment_failures=(NOW - timedelta(days=5),),
    )
    health = score(state, NOW, CFG)
    assert health.band == "red"
    assert "2 urgent tickets open" in health.reasons


def test_healthy_growing_account_near_its_seat_limit_is_green() -> None:
    state = active_account(
        users=29,
        seats=30,
        responses=(Response("nps", 9, NOW - timedelta(days=3)),),
    )
    health = score(state, NOW, CFG)
    assert health.band == "green"
    assert health.score >= 85
    assert health.usage.active_users_7d == 29


def test_seat_use_over_a_month_counts_users_seen_this_week_or_in_the_weeks_before() -> None:
    state = active_account(users=4, seats=6)
    weeks_ago = {"old-1": NOW - timedelta(days=12), "old-2": NOW - timedelta(days=29)}
    gone = {"gone": NOW - timedelta(days=31)}
    state = replace(state, user_last_seen={**state.user_last_seen, **weeks_ago, **gone})
    usage = score(state, NOW, CFG).usage
    assert (usage.active_users_7d, usage.active_users_30d) == (4, 6)


def test_usage_growth_over_two_weeks_compares_them_with_the_four_weeks_before() -> None:
    # 10 events a day for 42 days, then 20 a day in the last 7: one week doubled
    days = {(NOW - timedelta(days=d)).date(): (20 if d < 7 else 10, 1.0) for d in range(42)}
    usage = score(replace(active_account(), daily_activity=days), NOW, CFG).usage
    assert usage.ratio_to_baseline == pytest.approx(2.0)
    assert usage.ratio_14d_to_baseline == pytest.approx(1.5)  # (140 + 70) / 2 / 70


def test_weights_renormalize_over_components_with_data() -> None:
    with_sentiment = active_account(responses=(Response("nps", 0, NOW - timedelta(days=1)),))
    without = active_account()
    h_with, h_without = score(with_sentiment, NOW, CFG), score(without, NOW, CFG)
    assert h_without.components["sentiment"] is None and h_without.components["support"] is None
    weights = CFG.weights[h_without.segment].as_dict()
    assert h_without.coverage == pytest.approx(
        (weights["usage"] + weights["adoption"] + weights["payment"]) / sum(weights.values()),
        abs=1e-3,
    )
    # the missing components do not drag the score: the rest are perfect, so is the score
    assert h_without.score == 100
    assert h_with.score < h_without.score
    assert h_with.coverage > h_without.coverage


def test_too_little_fresh_data_is_low_coverage_and_never_green() -> None:
    # a promoter survey is the only thing known: not enough to call the account healthy
    state = AccountState(
        "acct", NOW - timedelta(days=30), responses=(Response("nps", 10, NOW - timedelta(days=1)),)
    )
    health = score(state, NOW, CFG)
    assert health.components["sentiment"] == 100
    assert health.low_coverage and health.coverage < CFG.min_coverage
    assert health.band != "green"
    assert any("coverage" in r for r in health.reasons)


def test_overdue_invoices_and_downgrade_lower_payment() -> None:
    base = score(active_account(), NOW, CFG).components["payment"]
    assert base is not None
    state = active_account(
        overdue_invoices=(OverdueInvoice("i1", NOW - timedelta(days=20)),),
        last_downgrade_at=NOW - timedelta(days=5),
    )
    payment = score(state, NOW, CFG).components["payment"]
    assert payment is not None and payment < base
    health = score(state, NOW, CFG)
    assert any("overdue" in r for r in health.reasons)


@pytest.mark.parametrize(
    ("arr", "segment"),
    [
        (250_000, "enterprise"),
        (100_000, "enterprise"),
        (99_999, "mid_market"),
        (25_000, "mid_market"),
        (5_000, "smb"),
        (4_999, "self_serve"),
        (None, "self_serve"),
    ],
)
def test_segments_by_arr(arr: int | None, segment: str) -> None:
    assert segment_for(arr, CFG) == segment


@pytest.mark.parametrize(
    ("score_", "previous", "band"),
    [
        (69, None, "yellow"),
        (69, "green", "green"),
        (66, "green", "yellow"),
        (71, "yellow", "yellow"),
        (73, "yellow", "green"),
        (41, "red", "red"),
        (43, "red", "yellow"),
        (38, "yellow", "yellow"),
        (36, "yellow", "red"),
    ],
)
def test_bands_have_hysteresis(score_: float, previous: str | None, band: str) -> None:
    assert band_for(score_, previous, CFG) == band


def test_trend_over_seven_days_is_reported() -> None:
    state = active_account(silent_days=14, score_history=((NOW - timedelta(days=8), 95.0),))
    health = score(state, NOW, CFG)
    assert health.trend_7d is not None and health.trend_7d <= -40
    assert any(r.startswith("Score down") for r in health.reasons)


def test_config_validation_and_version() -> None:
    assert CFG.model_version.startswith("1+")
    changed = HealthModelConfig(green_min=75)
    assert changed.model_version != CFG.model_version
    with pytest.raises(ValueError):
        HealthModelConfig(green_min=30, yellow_min=40)
