"""Accuracy over a synthetic population where the truth is known."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.trust.accuracy import stats
from services.scoring.trust.accuracy.features import ScorePoint, cutoff, point_in_time
from services.scoring.trust.accuracy.outcomes import Outcome
from services.scoring.trust.accuracy.render import as_data, lines
from services.scoring.trust.accuracy.report import AccuracyReport, History, build_report
from services.scoring.trust.accuracy.weights import candidate
from tests.unit.scoring.accuracy.population import OUTCOME_DAY, population


@pytest.fixture(scope="module")
def history() -> History:
    return population(2000)


@pytest.fixture(scope="module")
def report(history: History) -> AccuracyReport:
    return build_report(history, HealthModelConfig(), horizons=(30,))


def test_noise_component_has_chance_auc_and_the_smallest_weight(report: AccuracyReport) -> None:
    h = report.horizon(30)
    assert h is not None and h.overall is not None
    noise = h.components["sentiment"]
    assert noise is not None and abs(noise.auc - 0.5) <= 0.05
    driver = h.components["usage"]
    assert driver is not None and driver.auc > 0.7
    assert driver.low < driver.auc < driver.high
    suggestion = next(s for s in report.suggestions if s.segment == "smb")
    assert suggestion.weights is not None
    weights = suggestion.weights
    assert min(weights, key=weights.__getitem__) == "sentiment"
    assert max(weights, key=weights.__getitem__) == "usage"
    assert weights["payment"] > weights["adoption"] > weights["sentiment"]


def test_suggested_weights_do_not_lower_the_auc(history: History, report: AccuracyReport) -> None:
    live = HealthModelConfig()
    better = candidate(live, report.suggestions)
    assert better.model_version != live.model_version
    again = build_report(history, better, horizons=(30,))
    old, new = report.horizon(30), again.horizon(30)
    assert old and new and old.overall and new.overall
    assert new.overall.auc >= old.overall.auc
    assert new.n == old.n


def test_too_few_outcomes_says_how_many_are_needed(history: History) -> None:
    few = History(history.outcomes[:12], history.points, {}, history.configs)
    report = build_report(few, HealthModelConfig(), horizons=(30,))
    h = report.horizon(30)
    assert h is not None and h.overall is None
    assert h.message is not None and "need at least 10 churned and 10 renewed" in h.message
    assert all(s.weights is None and s.message for s in report.suggestions)
    assert any("too few outcomes" in line for line in lines(report))


def test_report_renders_every_part(report: AccuracyReport) -> None:
    data = as_data(report)
    first = data["horizons"][0]
    assert first["auc"]["n"] == 2000 and len(first["deciles"]) == 10
    assert {b["band"] for b in first["bands"]} == {"green", "yellow", "red"}
    # lowest decile churns more than the highest: the score is calibrated in order
    assert first["deciles"][0]["churn_rate"] > first["deciles"][-1]["churn_rate"]
    rate = {b["band"]: b["churn_rate"] for b in first["bands"]}
    assert rate["red"] > rate["yellow"]
    text = "\n".join(lines(report))
    assert "AUC overall" in text and "suggested weights" in text


def test_features_are_point_in_time(history: History, report: AccuracyReport) -> None:
    """A score stored after the cut-off (say after the outcome) changes nothing."""
    before = as_data(report)
    late = [
        replace(p, as_of=cutoff(o, 30) + timedelta(days=d), score=100.0 - p.score, band="red")
        for o, p in zip(history.outcomes, history.points, strict=True)
        for d in (1, 31)
    ]
    leaked = History(history.outcomes, [*history.points, *late], {}, history.configs)
    after = as_data(build_report(leaked, HealthModelConfig(), horizons=(30,)))
    assert after == before


def test_the_last_point_at_or_before_the_cutoff_is_used() -> None:
    outcome = Outcome("a", "churn", OUTCOME_DAY, "api")
    edge = cutoff(outcome, 30)
    points = [
        ScorePoint("a", edge - timedelta(days=3), 90.0, "green", {}, "m"),
        ScorePoint("a", edge, 35.0, "red", {}, "m"),
        ScorePoint("a", edge + timedelta(seconds=1), 10.0, "red", {}, "m"),
    ]
    [sample] = point_in_time([outcome], points, 30)
    assert sample.point.score == 35.0
    assert point_in_time([outcome], points[2:], 30) == []


def test_auc_and_band_statistics_on_small_cases() -> None:
    assert stats.auc([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1]) == 1.0
    assert stats.auc([1, 0], [0.5, 0.5]) == 0.5
    rates = stats.churn_by_band(["red", "red", "green", "green"], [1, 1, 1, 0])
    assert stats.lift(rates) == pytest.approx(2.0)
    assert stats.lift_not_green(rates) == pytest.approx(2.0)
    nobody_red = stats.churn_by_band(["yellow", "yellow", "green", "green"], [1, 0, 1, 0])
    assert stats.lift(nobody_red) is None and stats.lift_not_green(nobody_red) == 1.0
    precision, recall = stats.precision_recall([True, True, False, False], [1, 0, 1, 0])
    assert (precision, recall) == (0.5, 0.5)
    fpr, tpr = stats.roc_points([1, 0, 1, 0], [4, 3, 2, 1])
    assert fpr[0] == tpr[0] == 0.0 and fpr[-1] == tpr[-1] == 1.0
