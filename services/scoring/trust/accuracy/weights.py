"""Suggested component weights per segment, from a regularized logistic regression. Pure.

Churn is regressed on the components (0-1 scale, missing values at the
column mean). A component whose higher values go with less churn earns a
weight in proportion to that effect (the negated coefficient); one that does
not predict churn gets only the floor, so every component stays visible.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

from services.scoring.domain.model_config import COMPONENTS, ComponentWeights, HealthModelConfig

MIN_PER_CLASS = 10  # churned and renewed samples each, below which nothing is estimated
WEIGHT_FLOOR = 0.02
REGULARIZATION_C = 1.0  # inverse L2 strength (scikit-learn's C)


@dataclass(frozen=True, slots=True)
class Suggestion:
    segment: str
    n: int
    churned: int
    weights: dict[str, float] | None  # None: too few outcomes or no predictive component
    coefficients: dict[str, float]
    message: str | None = None


def suggest(
    segment: str, rows: Sequence[Mapping[str, float | None]], churned: Sequence[int]
) -> Suggestion:
    n, positives = len(churned), sum(churned)
    short = _shortfall(n, positives)
    if short:
        return Suggestion(segment, n, positives, None, {}, short)
    matrix = _design(rows)
    model = LogisticRegression(C=REGULARIZATION_C, max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; the result is still usable
        model.fit(matrix, np.asarray(churned))
    coefficients = {name: float(c) for name, c in zip(COMPONENTS, model.coef_[0], strict=True)}
    effect = {name: max(0.0, -c) for name, c in coefficients.items()}
    total = sum(effect.values())
    if total <= 0:
        message = "no component predicts churn in this segment; keep the current weights"
        return Suggestion(segment, n, positives, None, coefficients, message)
    floored = {name: max(WEIGHT_FLOOR, e / total) for name, e in effect.items()}
    scale = sum(floored.values())
    weights = {name: round(w / scale, 3) for name, w in floored.items()}
    return Suggestion(segment, n, positives, weights, coefficients)


def _shortfall(n: int, churned: int) -> str | None:
    renewed = n - churned
    if churned >= MIN_PER_CLASS and renewed >= MIN_PER_CLASS:
        return None
    return (
        f"too few outcomes: need at least {MIN_PER_CLASS} churned and {MIN_PER_CLASS} renewed,"
        f" have {churned} churned and {renewed} renewed"
    )


def _value(row: Mapping[str, float | None], name: str) -> float:
    value = row.get(name)
    return np.nan if value is None else float(value) / 100


def _design(rows: Sequence[Mapping[str, float | None]]) -> NDArray[np.float64]:
    raw = np.array([[_value(r, c) for c in COMPONENTS] for r in rows], dtype=np.float64)
    means = np.nanmean(np.where(np.isnan(raw).all(axis=0), 0.5, raw), axis=0)
    design: NDArray[np.float64] = np.where(np.isnan(raw), means, raw)
    return design


def candidate(live: HealthModelConfig, suggestions: Sequence[Suggestion]) -> HealthModelConfig:
    """``live`` with the suggested weights of every segment that has them."""
    weights = dict(live.weights)
    for suggestion in suggestions:
        if suggestion.weights is not None:
            weights[suggestion.segment] = ComponentWeights(**suggestion.weights)
    # validated anew, not model_copy: the copy would keep the cached model_version
    data = live.model_dump(mode="json")
    data["weights"] = {name: w.model_dump() for name, w in weights.items()}
    return HealthModelConfig.model_validate(data)
