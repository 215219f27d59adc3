"""Reasons read as sentences: a count and its noun agree."""

from __future__ import annotations

import pytest

from services.scoring.domain.components import adoption
from services.scoring.domain.model_config import HealthModelConfig
from tests.unit.scoring.states import NOW, active_account


@pytest.mark.parametrize(
    ("features", "reason"),
    [
        (1, "Only 1 key feature used in 30 days"),
        (2, "Only 2 key features used in 30 days"),
    ],
)
def test_the_adoption_reason_counts_features_in_words(features: int, reason: str) -> None:
    finding = adoption(active_account(features=features), NOW, HealthModelConfig())
    assert finding.problem == reason
