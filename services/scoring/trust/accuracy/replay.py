"""A stored score re-weighted by another model config. Pure.

The stored history keeps each score's components, so a candidate that
changes weights or band thresholds can be judged on the past without the raw
events: the candidate's weighted mean of the same components, under the same
risk cap. The cap is not stored; it is recovered from the stored score, which
sits below its own weighted mean exactly when a risk flag capped it. What a
candidate cannot change this way (component formulas, freshness windows,
risk caps themselves) stays as the stored model computed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.scoring.domain.model import plain_band
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.trust.accuracy.features import ScorePoint

CAP_TOLERANCE = 0.5  # stored components are rounded to 0.1; a cap is a real gap


@dataclass(frozen=True, slots=True)
class Replayed:
    score: float
    band: str


def weighted(
    components: Mapping[str, float | None], weights: Mapping[str, float]
) -> tuple[float, float]:
    """(weighted mean over the components with data, coverage), as the model computes it."""
    present = {name: v for name, v in components.items() if v is not None and name in weights}
    covered = sum(weights[name] for name in present)
    total = sum(weights.values()) or 1.0
    if covered <= 0:
        return 50.0, 0.0
    value = sum(weights[name] * v for name, v in present.items()) / covered
    return min(100.0, max(0.0, value)), covered / total


def replay(
    point: ScorePoint,
    segment: str,
    target: HealthModelConfig,
    source: HealthModelConfig | None,
) -> Replayed:
    """``point`` as ``target`` would have scored it (the stored score when they are one model)."""
    if point.model_version == target.model_version:
        return Replayed(point.score, point.band)
    cap = 100.0
    if source is not None:
        stored_mean, _ = weighted(point.components, source.weights[segment].as_dict())
        if point.score < stored_mean - CAP_TOLERANCE:
            cap = point.score
    mean, coverage = weighted(point.components, target.weights[segment].as_dict())
    value = round(min(mean, cap), 1)
    band = plain_band(value, target)
    if coverage < target.min_coverage and band == "green":
        band = "yellow"  # as the model does: too little fresh data to call it healthy
    return Replayed(value, band)
