"""Replaying stored scores with another config, and the backtest's band playbooks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.scoring.domain.model_config import ComponentWeights, HealthModelConfig
from services.scoring.trust.accuracy.backtest import band_playbooks
from services.scoring.trust.accuracy.features import ScorePoint
from services.scoring.trust.accuracy.replay import replay, weighted
from services.scoring.trust.accuracy.report import History

T0 = datetime(2026, 5, 1, tzinfo=UTC)
COMPONENTS = {"usage": 90.0, "adoption": 90.0, "support": 20.0, "payment": 20.0, "sentiment": None}


def usage_only() -> HealthModelConfig:
    data = HealthModelConfig().model_dump(mode="json")
    weights = ComponentWeights(usage=1, adoption=0.0, support=0, payment=0, sentiment=0)
    data["weights"] = {segment: weights.model_dump() for segment in data["weights"]}
    return HealthModelConfig.model_validate(data)


def point(score: float, band: str, at: datetime = T0, version: str | None = None) -> ScorePoint:
    live = HealthModelConfig()
    return ScorePoint("a", at, score, band, COMPONENTS, version or live.model_version, "smb")


def test_the_same_model_gives_the_stored_score() -> None:
    stored = point(61.3, "yellow")
    result = replay(stored, "smb", HealthModelConfig(), HealthModelConfig())
    assert (result.score, result.band) == (61.3, "yellow")


def test_a_candidate_reweighs_the_stored_components() -> None:
    live = HealthModelConfig()
    mean, _ = weighted(COMPONENTS, live.weights["smb"].as_dict())
    result = replay(point(round(mean, 1), "yellow"), "smb", usage_only(), live)
    assert (result.score, result.band) == (90.0, "green")


def test_a_risk_cap_seen_in_the_stored_score_still_applies() -> None:
    live = HealthModelConfig()
    result = replay(point(45.0, "yellow"), "smb", usage_only(), live)  # capped below its mean
    assert (result.score, result.band) == (45.0, "yellow")


def test_backtest_counts_entries_into_red_and_final_bands() -> None:
    live = HealthModelConfig()
    history = History([], [], {}, {live.model_version: live})
    series = [
        point(80.0, "green", T0),
        point(30.0, "red", T0 + timedelta(days=1)),
        point(75.0, "green", T0 + timedelta(days=2)),
        point(35.0, "red", T0 + timedelta(days=3)),
    ]
    result = band_playbooks(history, series, live)
    assert result.at_risk_episodes == 2
    assert result.red_entries_by_band_before == {"green": 2}
    assert result.accounts_by_band == {"green": 0, "yellow": 0, "red": 1}
