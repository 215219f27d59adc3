"""Overrides applied after the model: pure, in the order they were made."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.scoring.domain.components import UsageFacts
from services.scoring.domain.model import Health
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.domain.overrides import Override, apply_overrides
from services.scoring.scorecard.compiled import compile_scorecard
from services.scoring.scorecard.default import scorecard_from_config
from services.scoring.scorecard.document import Scorecard

T0 = datetime(2026, 3, 1, tzinfo=UTC)
CFG = HealthModelConfig()


def health(score: float = 75.0, band: str = "green") -> Health:
    return Health(
        score=score,
        band=band,
        segment="mid_market",
        components={
            "usage": 80.0,
            "adoption": 70.0,
            "support": None,
            "payment": 70.0,
            "sentiment": None,
        },
        coverage=0.7,
        reasons=["Adoption is narrow"],
        trend_7d=None,
        low_coverage=False,
        model_version="v1",
        usage=UsageFacts(events_7d=10, baseline_week=10.0, active_users_7d=3, days_silent=0),
    )


def override(kind: str, minutes: int = 0, **fields: object) -> Override:
    values: dict[str, object] = {"band": None, "delta": None, "component": None} | fields
    return Override(
        override_id=f"o{minutes}",
        account_id="a",
        kind=kind,  # type: ignore[arg-type]
        reason="told by the CSM",
        expires_at=T0 + timedelta(days=7),
        created_at=T0 + timedelta(minutes=minutes),
        created_by="write token sha256:abc",
        **values,  # type: ignore[arg-type]
    )


def test_no_override_is_the_model_itself() -> None:
    model = health()
    assert apply_overrides(model, [], CFG) is model


def test_a_pinned_band_keeps_the_score_and_leads_the_reasons() -> None:
    out = apply_overrides(health(), [override("pin_band", band="red")], CFG)
    assert (out.score, out.band) == (75.0, "red")
    assert out.reasons == [
        "override: band pinned to red by write token sha256:abc until 2026-03-08T00:00:00Z:"
        " told by the CSM",
        "Adoption is narrow",
    ]


def test_an_adjusted_score_is_clamped_and_banded_and_a_pin_wins() -> None:
    down = apply_overrides(health(), [override("adjust_score", delta=-50)], CFG)
    assert (down.score, down.band) == (25.0, "red")
    up = apply_overrides(health(), [override("adjust_score", delta=90)], CFG)
    assert up.score == 100.0
    both = [override("adjust_score", 0, delta=-50), override("pin_band", 1, band="yellow")]
    pinned = apply_overrides(health(), both, CFG)
    assert (pinned.score, pinned.band) == (25.0, "yellow")
    assert pinned.reasons[0].startswith("override: band pinned to yellow")


def test_a_component_moves_the_score_by_its_share_of_the_covered_weight() -> None:
    weights = CFG.weights["mid_market"].as_dict()
    covered = weights["usage"] + weights["adoption"] + weights["payment"]
    out = apply_overrides(
        health(), [override("adjust_component", delta=-20, component="usage")], CFG
    )
    assert out.components["usage"] == 60.0
    assert out.score == round(75.0 - 20 * weights["usage"] / covered, 1)
    none = apply_overrides(
        health(), [override("adjust_component", delta=-20, component="support")], CFG
    )
    assert none.score == 75.0 and none.components["support"] is None


def test_under_a_scorecard_an_override_moves_on_its_segments_weights_and_bands() -> None:
    data = scorecard_from_config(CFG).model_dump(mode="json")
    weights = {"usage": 1, "adoption": 1, "support": 1, "payment": 2, "sentiment": 1}
    data |= {"segments": [], "default_segment": "everyone", "weights": {"everyone": weights}}
    data["bands"] = {**data["bands"], "green_min": 80, "hysteresis": 0}
    card = compile_scorecard(Scorecard.model_validate(data))
    model = replace(health(), segment="everyone", band="yellow")
    out = apply_overrides(model, [override("adjust_component", delta=20, component="usage")], card)
    assert out.score == round(75.0 + 20 * 1 / 4, 1) == 80.0
    assert out.band == "green"  # the scorecard's threshold (80), not the config's (70)
