"""The config schemas say what their validation requires: key sets and field orders."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.scoring.domain.model_config import ORDERS, SEGMENTS, HealthModelConfig
from services.triggers.domain.playbook_config import (
    EXITS_INSIDE_ENTERS,
    PlaybookConfig,
    SegmentRules,
)
from shared.schema_rules import ORDER_KEYWORD


def test_the_schemas_state_the_orders_and_key_sets_the_validators_check() -> None:
    health = HealthModelConfig.model_json_schema()
    assert health[ORDER_KEYWORD] == [list(rule) for rule in ORDERS]
    assert health["properties"]["weights"]["required"] == list(SEGMENTS)
    assert health["properties"]["risk_caps"]["propertyNames"]["enum"]
    rules = SegmentRules.model_json_schema()
    assert rules[ORDER_KEYWORD] == [list(rule) for rule in EXITS_INSIDE_ENTERS]
    playbooks = PlaybookConfig.model_json_schema()
    assert playbooks["properties"]["segments"]["propertyNames"]["enum"] == list(SEGMENTS)


@pytest.mark.parametrize(
    "change",
    [{"yellow_min": 70}, {"smb_min_arr": 30_000}, {"adoption_low": 8}],
)
def test_each_stated_order_is_what_validation_refuses(change: dict[str, float]) -> None:
    with pytest.raises(ValidationError, match="must hold"):
        HealthModelConfig.model_validate(change)


@pytest.mark.parametrize("value", [True, 7.5, "7"])
def test_integers_are_json_schema_integers(value: object) -> None:
    assert HealthModelConfig.model_validate({"max_reasons": 7.0}).max_reasons == 7
    with pytest.raises(ValidationError):
        HealthModelConfig.model_validate({"max_reasons": value})
