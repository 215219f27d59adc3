"""Accuracy statistics of a score against churn. Pure (numpy/scipy, no I/O).

Convention: ``risk`` is higher for accounts more likely to churn (the negated
health score), ``churned`` is 1 for a churn and 0 for a renewal. AUC is the
probability that a random churned account looked riskier than a random
renewed one (Mann-Whitney, ties count half).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

BOOTSTRAP_ROUNDS = 500
BOOTSTRAP_SEED = 13  # fixed: the same data gives the same interval


@dataclass(frozen=True, slots=True)
class AucEstimate:
    auc: float
    low: float  # 95% bootstrap percentile interval
    high: float
    n: int
    churned: int


@dataclass(frozen=True, slots=True)
class BandRate:
    band: str
    n: int
    churned: int

    @property
    def rate(self) -> float | None:
        return self.churned / self.n if self.n else None


@dataclass(frozen=True, slots=True)
class Decile:
    decile: int  # 1 = lowest scores
    score_min: float
    score_max: float
    n: int
    churned: int

    @property
    def rate(self) -> float:
        return self.churned / self.n if self.n else 0.0


def _auc_rows(labels: NDArray[np.float64], risk: NDArray[np.float64]) -> NDArray[np.float64]:
    """AUC of each row of (labels, risk) matrices; NaN where a row has one class only."""
    ranks = rankdata(risk, axis=-1)
    positives = labels.sum(axis=-1)
    negatives = labels.shape[-1] - positives
    rank_sum = (ranks * labels).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        result: NDArray[np.float64] = (rank_sum - positives * (positives + 1) / 2) / (
            positives * negatives
        )
    return result


def auc(churned: Sequence[int], risk: Sequence[float]) -> float:
    labels = np.asarray(churned, dtype=np.float64)
    return float(_auc_rows(labels, np.asarray(risk, dtype=np.float64)))


def auc_with_interval(
    churned: Sequence[int], risk: Sequence[float], rounds: int = BOOTSTRAP_ROUNDS
) -> AucEstimate:
    labels = np.asarray(churned, dtype=np.float64)
    values = np.asarray(risk, dtype=np.float64)
    point = float(_auc_rows(labels, values))
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    picks = rng.integers(0, len(labels), size=(rounds, len(labels)))
    resampled = _auc_rows(labels[picks], values[picks])
    resampled = resampled[~np.isnan(resampled)]
    low, high = np.percentile(resampled, [2.5, 97.5]) if resampled.size else (point, point)
    return AucEstimate(point, float(low), float(high), len(labels), int(labels.sum()))


def churn_by_band(bands: Sequence[str], churned: Sequence[int]) -> list[BandRate]:
    return [
        BandRate(
            band,
            sum(1 for b in bands if b == band),
            sum(c for b, c in zip(bands, churned, strict=True) if b == band),
        )
        for band in ("green", "yellow", "red")
    ]


def lift(rates: Sequence[BandRate], high: str = "red", low: str = "green") -> float | None:
    """How many times likelier a ``high``-band account churned than a ``low``-band one."""
    by_band = {r.band: r.rate for r in rates}
    top, bottom = by_band.get(high), by_band.get(low)
    if top is None or bottom is None or bottom == 0:
        return None
    return top / bottom


def lift_not_green(rates: Sequence[BandRate]) -> float | None:
    """Churn rate of yellow and red together over green's (red alone may be empty ahead)."""
    by_band = {r.band: r for r in rates}
    flagged = [by_band[b] for b in ("yellow", "red") if b in by_band]
    n, churned = sum(r.n for r in flagged), sum(r.churned for r in flagged)
    green = by_band.get("green")
    if not n or green is None or not green.rate:
        return None
    return (churned / n) / green.rate


def precision_recall(flagged: Sequence[bool], churned: Sequence[int]) -> tuple[float | None, float]:
    """Of the flagged, the share that churned; of the churned, the share flagged."""
    hits = sum(1 for f, c in zip(flagged, churned, strict=True) if f and c)
    flagged_n, churned_n = sum(flagged), sum(churned)
    precision = hits / flagged_n if flagged_n else None
    return precision, hits / churned_n if churned_n else 0.0


def deciles(scores: Sequence[float], churned: Sequence[int]) -> list[Decile]:
    """Calibration by score decile: lowest tenth of scores first."""
    order = np.argsort(np.asarray(scores, dtype=np.float64), kind="stable")
    table: list[Decile] = []
    for n, chunk in enumerate(np.array_split(order, 10), 1):
        if chunk.size == 0:
            continue
        values = [scores[i] for i in chunk]
        table.append(
            Decile(n, min(values), max(values), int(chunk.size), sum(churned[i] for i in chunk))
        )
    return table


def roc_points(churned: Sequence[int], risk: Sequence[float]) -> tuple[list[float], list[float]]:
    """False and true positive rates at every threshold (for the plot)."""
    labels = np.asarray(churned, dtype=np.float64)
    values = np.asarray(risk, dtype=np.float64)
    order = np.argsort(-values, kind="stable")
    labels, values = labels[order], values[order]
    distinct = np.r_[np.where(np.diff(values))[0], labels.size - 1]
    tps = np.cumsum(labels)[distinct]
    fps = (distinct + 1) - tps
    tpr = np.r_[0.0, tps / max(labels.sum(), 1)]
    fpr = np.r_[0.0, fps / max(labels.size - labels.sum(), 1)]
    return fpr.tolist(), tpr.tolist()
