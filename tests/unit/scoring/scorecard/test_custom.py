"""A scorecard other than the default: new measures, segments on other attributes."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from services.scoring.domain.account_state import Rollup
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.scorecard.checks import validate
from services.scoring.scorecard.compiled import compile_scorecard
from services.scoring.scorecard.default import scorecard_from_config
from services.scoring.scorecard.document import Scorecard
from services.scoring.scorecard.evaluate import evaluate
from tests.unit.scoring.states import NOW, active_account

BASE: dict[str, Any] = scorecard_from_config(HealthModelConfig()).model_dump(mode="json")
HABIT = {
    "name": "active_days_30d",
    "source": "usage",
    "aggregate": "days_active",
    "window_days": 30,
    "points": [{"x": 0, "y": 0}, {"x": 20, "y": 100}],
}


def card(change: dict[str, Any]) -> Scorecard:
    data = copy.deepcopy(BASE)
    data["measures"].append(change)
    adoption = next(c for c in data["components"] if c["name"] == "adoption")
    adoption["measures"] = [{"measure": "features_used", "weight": 2}, {"measure": change["name"]}]
    got, errors = validate(data)
    assert errors == [] and got is not None
    return got


def test_a_new_measure_enters_its_component_with_its_weight() -> None:
    compiled = compile_scorecard(card(HABIT))
    # 10 features (100 points, weight 2) and 10 active days of 30 (50 points, weight 1)
    state = active_account(features=10, silent_days=20)
    assert evaluate(compiled, state, NOW).components["adoption"] == pytest.approx(83.3)


def test_a_usage_type_filter_reads_the_rollups_and_only_that_type() -> None:
    compiled = compile_scorecard(card({**HABIT, "types": ["report_exported"]}))
    assert compiled.needs_rollups and compiled.needs.rollup_days == 30
    day = NOW.date() - timedelta(days=1)
    rollups = (
        Rollup(day, "usage", "report_exported", "reports", "", 3, 3.0),
        Rollup(day - timedelta(days=1), "usage", "page_view", "reports", "", 9, 9.0),
    )
    state = replace(active_account(features=10, silent_days=20), rollups=rollups)
    # one day of exports in 30 (5 points, weight 1) beside 10 features (100, weight 2)
    assert evaluate(compiled, state, NOW).components["adoption"] == pytest.approx(68.3)


def test_the_default_scorecard_reads_nothing_beyond_the_state() -> None:
    compiled = compile_scorecard(Scorecard.model_validate(BASE))
    assert not compiled.needs_rollups and compiled.needs.state_days <= 91


def test_segments_on_seats_and_the_default_for_unknown_attributes() -> None:
    data = copy.deepcopy(BASE)
    data["segments"] = [
        {"name": "big", "when": [{"attribute": "seats", "op": ">=", "value": 50}]},
        {"name": "paid", "when": [{"attribute": "plan", "op": "in", "value": ["pro"]}]},
    ]
    weights = data["weights"]["enterprise"]
    data["weights"] = {"big": weights, "paid": weights, "self_serve": weights}
    got, errors = validate(data)
    assert errors == [] and got is not None
    compiled = compile_scorecard(got)
    assert evaluate(compiled, active_account(seats=60), NOW).segment == "big"
    assert evaluate(compiled, active_account(seats=10), NOW).segment == "self_serve"


def segmented(segments: list[dict[str, Any]], attributes: list[dict[str, str]]) -> Scorecard:
    data = copy.deepcopy(BASE)
    data["attributes"] = attributes
    data["segments"] = segments
    weights = data["weights"]["enterprise"]
    data["weights"] = {s["name"]: weights for s in segments} | {"self_serve": weights}
    got, errors = validate(data)
    assert errors == [] and got is not None
    return got


def test_segments_on_declared_attributes_and_the_plan() -> None:
    compiled = compile_scorecard(
        segmented(
            [
                {
                    "name": "apac_big",
                    "when": [
                        {"attribute": "region", "op": "in", "value": ["apac"]},
                        {"attribute": "employees", "op": ">=", "value": 500},
                    ],
                },
                {
                    "name": "not_emea",
                    "when": [{"attribute": "region", "op": "!=", "value": "emea"}],
                },
                {"name": "pro", "when": [{"attribute": "plan", "op": "==", "value": "pro"}]},
            ],
            [{"name": "region", "type": "text"}, {"name": "employees", "type": "number"}],
        )
    )

    def segment(**fields: Any) -> str:
        return evaluate(compiled, replace(active_account(), **fields), NOW).segment

    assert segment(attributes={"region": "apac", "employees": 800.0}) == "apac_big"
    # a producer that sends the number as a string still compares as a number
    assert segment(attributes={"region": "apac", "employees": "800"}) == "apac_big"
    assert segment(attributes={"region": "apac", "employees": 20.0}) == "not_emea"
    assert segment(attributes={"region": "emea"}, plan="pro") == "pro"
    # no value: no condition on it holds (not even !=), so the next segment decides
    assert segment(attributes={}, plan="pro") == "pro"
    assert segment(attributes={"region": 7.0}) == "self_serve"  # a number is no text
    assert segment() == "self_serve"
