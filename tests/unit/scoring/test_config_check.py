"""A config that could break a loop is refused before it is stored."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from services.scoring.domain.config_check import check_health_config
from services.scoring.domain.model_config import HealthModelConfig
from services.triggers.domain.playbook_check import check_playbook_config
from services.triggers.domain.playbook_config import PlaybookConfig
from shared.database.config_store import VersionedConfig
from shared.errors import InvalidInput


@pytest.mark.parametrize(
    "change",
    [
        {"hysteresis": math.nan},
        {"overdue_day_penalty": math.inf},
        {"usage_stopped_days": 10**9},
        {"enterprise_min_arr": 1e308},
        {"freshness_days": {"usage": 10**7}},
        {"severity_penalty": {"low": 1.0}},
        {"risk_caps": {"made_up": 10.0}},
        {"core_features": ["x" * 1000]},
    ],
)
def test_unbounded_or_non_finite_health_configs_are_refused(change) -> None:
    raw = HealthModelConfig().model_dump(mode="json")
    if "freshness_days" in change:
        change = {"freshness_days": {**raw["freshness_days"], **change["freshness_days"]}}
    with pytest.raises(ValidationError):
        HealthModelConfig.model_validate({**raw, **change})


@pytest.mark.parametrize("change", [{"at_risk_due_hours": math.inf}, {"renewal_window_days": 1e9}])
def test_unbounded_playbook_rules_are_refused(change) -> None:
    raw = PlaybookConfig().model_dump(mode="json")
    raw["segments"]["smb"] = {**raw["segments"]["smb"], **change}
    with pytest.raises(ValidationError):
        PlaybookConfig.model_validate(raw)


def test_the_defaults_score_and_evaluate_the_samples() -> None:
    check_health_config(HealthModelConfig())
    check_playbook_config(PlaybookConfig())


def test_the_store_refuses_a_config_whose_check_fails() -> None:
    def never(_config: HealthModelConfig) -> None:
        raise ValueError("scoring sample-troubled fails")

    store = VersionedConfig("scoring_config", HealthModelConfig, never)
    with pytest.raises(InvalidInput, match="sample-troubled"):
        store.validated(HealthModelConfig().model_dump(mode="json"))
    with pytest.raises(InvalidInput, match="usage_stopped_days"):
        VersionedConfig("scoring_config", HealthModelConfig).validated({"usage_stopped_days": 0})


def test_a_config_whose_model_version_was_read_still_round_trips() -> None:
    """Promote passes the shadow's config, whose model_version the PUT already computed."""
    config = HealthModelConfig()
    assert config.model_version  # caches the digest on the instance
    assert VersionedConfig("scoring_config", HealthModelConfig).validated(config) is config
