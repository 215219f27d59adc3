"""Every error in a scorecard is reported with its path, all of them at once."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest

from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.scorecard.checks import validate
from services.scoring.scorecard.compiled import compile_scorecard
from services.scoring.scorecard.default import load, scorecard_from_config
from services.scoring.scorecard.document import Scorecard

BASE: dict[str, Any] = scorecard_from_config(HealthModelConfig()).model_dump(mode="json")


def doc() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def measure_index(data: dict[str, Any], name: str) -> int:
    return next(i for i, m in enumerate(data["measures"]) if m["name"] == name)


def errors_of(data: dict[str, Any]) -> list[str]:
    card, errors = validate(data)
    assert card is None
    return errors


def test_the_default_is_valid() -> None:
    card, errors = validate(doc())
    assert errors == [] and card is not None


def test_breakpoints_whose_x_does_not_increase() -> None:
    data = doc()
    i = measure_index(data, "features_used")
    data["measures"][i]["points"][2]["x"] = 3
    assert errors_of(data) == [f"measures[{i}].points[2]: x must increase"]


def test_an_unknown_measure_in_a_component_a_condition_and_a_template() -> None:
    data = doc()
    data["components"][1]["measures"][0]["measure"] = "feature_count"
    data["risk"]["flags"][4]["when"][0]["measure"] = "silence"
    data["components"][4]["reasons"][0]["text"] = "Average {survey_score}"
    assert errors_of(data) == [
        "components[1].measures[0].measure: unknown measure 'feature_count'",
        "components[4].reasons[0].text: unknown placeholder {survey_score}",
        "risk.flags[4].when[0].measure: unknown measure 'silence'",
    ]


def test_duplicate_names() -> None:
    data = doc()
    data["measures"].append(copy.deepcopy(data["measures"][0]))
    data["components"][4]["name"] = "usage"
    last = len(data["measures"]) - 1
    errors = errors_of(data)
    assert f"measures[{last}].name: duplicate name 'days_silent'" in errors
    assert "components[4].name: duplicate name 'usage'" in errors


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers(number: float) -> None:
    data = doc()
    data["bands"]["green_min"] = number
    data["measures"][2]["points"][1]["x"] = number
    assert errors_of(data) == [
        "measures[2].points[1].x: Input should be a finite number",
        "bands.green_min: Input should be a finite number",
    ]


def test_an_unknown_aggregate_and_one_that_does_not_fit_its_source() -> None:
    data = doc()
    data["measures"][0]["aggregate"] = "median"
    assert errors_of(data)[0].startswith("measures[0].aggregate: Input should be 'count', ")
    data = doc()
    data["measures"][0]["aggregate"] = "failed_payments"
    data["measures"][0]["window_days"] = 30
    assert errors_of(data) == [
        "measures[0].aggregate: 'failed_payments' does not apply to usage (one of: count, "
        "days_active, days_since_last, distinct_features, distinct_users, sum_quantity)"
    ]


def test_a_window_over_the_retention_limit() -> None:
    data = doc()
    data["measures"][1]["window_days"] = 181
    i = measure_index(data, "usage_ratio")
    data["measures"][i]["baseline_days"] = 175
    kept = "the 180 days the rollups keep (VIGIL_ROLLUP_RETENTION_DAYS)"
    assert errors_of(data) == [
        f"measures[1].window_days: needs 181 days of history (window and baseline), over {kept}",
        f"measures[{i}].baseline_days: needs 182 days of history (window and baseline),"
        f" over {kept}",
    ]
    assert validate(data, retention_days=182)[1] == []  # a longer retention takes it
    data["measures"][1]["window_days"] = 4000
    assert errors_of(data) == [
        "measures[1].window_days: Input should be less than or equal to 3650",
    ]


def test_a_filter_the_data_has_no_field_for_is_refused() -> None:
    data = doc()
    i = measure_index(data, "usage_ratio")
    data["measures"][i]["severities"] = ["urgent"]
    j = measure_index(data, "features_used")
    data["measures"][j]["kinds"] = ["nps"]
    data["measures"].append(
        {
            "name": "api_users",
            "source": "usage",
            "aggregate": "distinct_users",
            "window_days": 7,
            "types": ["api_call"],
            "features": ["export"],
        }
    )
    last = len(data["measures"]) - 1
    assert errors_of(data) == [
        f"measures[{i}].severities: usage count does not filter by severities (types, features)",
        f"measures[{j}].kinds: usage distinct_features does not filter by kinds (types, features)",
        f"measures[{last}].features: usage distinct_users does not filter by features (types)",
    ]


def test_a_baseline_only_where_daily_buckets_exist() -> None:
    data = doc()
    data["measures"].append(
        {
            "name": "answers",
            "source": "survey",
            "aggregate": "count",
            "window_days": 30,
            "baseline_days": 60,
        }
    )
    last = len(data["measures"]) - 1
    assert errors_of(data) == [
        f"measures[{last}].baseline_days: only for count, days_active, sum_quantity"
        " of usage, ticket, payment events"
    ]


def test_weights_must_name_every_segment_and_component() -> None:
    data = doc()
    del data["weights"]["smb"]["sentiment"]
    data["weights"]["gold"] = data["weights"].pop("enterprise")
    assert errors_of(data) == [
        "weights.gold: unknown segment",
        "weights.enterprise: missing (every segment needs weights)",
        "weights.smb.sentiment: missing",
    ]


def test_templates_take_only_names_and_known_formats() -> None:
    data = doc()
    reasons = data["components"][4]["reasons"]
    reasons[0]["text"] = "{survey_points.__class__}"
    reasons.append({"text": "{survey_points:>10}"})
    reasons.append({"text": "open {"})
    assert errors_of(data) == [
        "components[4].reasons[0].text: placeholder {survey_points.__class__} is not a name",
        "components[4].reasons[1].text: unknown format '>10' (one of: 0f, 1f, abs0f, "
        "drop_pct, int, pct)",
        "components[4].reasons[2].text: unmatched '{'",
    ]


def test_unknown_fields_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "card.yaml"
    path.write_text("version: '2'\nsegmnts: []\n")
    _card, errors = load(path)
    assert "segmnts: Extra inputs are not permitted" in errors
    assert "measures: Field required" in errors


def test_compiling_a_document_that_skipped_the_checks_is_refused() -> None:
    data = doc()
    data["measures"][2]["points"][1]["x"] = 0  # would divide by zero
    with pytest.raises(ValueError, match=r"measures\[2\]\.points\[1\]: x must increase"):
        compile_scorecard(Scorecard.model_validate(data))


def test_a_value_that_fits_no_member_of_a_union_is_reported_at_its_own_path() -> None:
    data = doc()
    data["measures"][0]["missing"] = "zero"
    data["segments"][0]["when"][0] = {"attribute": "plan", "op": "in", "value": []}
    assert errors_of(data) == [
        "segments[0].when[0].value: Input should be a valid number",
        "segments[0].when[0].value: Input should be a valid string",
        "segments[0].when[0].value: List should have at least 1 item after validation, not 0",
        "measures[0].missing: Input should be 'renormalize'",
        "measures[0].missing: Input should be a valid number",
    ]


def test_segment_conditions_are_checked_against_the_declared_attributes() -> None:
    data = doc()
    data["attributes"] = [
        {"name": "region", "type": "text"},
        {"name": "employees", "type": "number"},
        {"name": "plan", "type": "text"},
        {"name": "region", "type": "number"},
    ]
    data["segments"][0]["when"] = [
        {"attribute": "regoin", "op": "in", "value": ["apac"]},
        {"attribute": "region", "op": ">=", "value": 3},
        {"attribute": "region", "op": "==", "value": 3},
        {"attribute": "employees", "op": "in", "value": ["5"]},
        {"attribute": "employees", "op": ">=", "value": "500"},
        {"attribute": "plan", "op": "not_in", "value": "pro"},
    ]
    assert errors_of(data) == [
        "attributes[2].name: 'plan' is built in (do not declare it)",
        "attributes[3].name: duplicate name 'region'",
        "segments[0].when[0].attribute: unknown attribute 'regoin'"
        " (arr, seats, plan, or one declared under attributes)",
        "segments[0].when[1].op: region is text: it takes in, not_in, == or !=",
        "segments[0].when[2].value: == on text takes one value (a string)",
        "segments[0].when[3].op: employees is a number: compare it (<, <=, >, >=, ==, !=)",
        "segments[0].when[4].value: >= takes a number",
        "segments[0].when[5].value: not_in takes a list of values",
    ]
