"""The accuracy report of one model over every horizon. Pure.

Samples come from ``features.point_in_time``; each stored score is taken as
the reported model would have given it (``replay``), so a candidate and the
live model are judged on exactly the same outcomes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from services.scoring.domain.model_config import COMPONENTS, SEGMENTS, HealthModelConfig
from services.scoring.trust.accuracy import stats
from services.scoring.trust.accuracy.features import Sample, ScorePoint, point_in_time
from services.scoring.trust.accuracy.outcomes import Outcome
from services.scoring.trust.accuracy.replay import Replayed, replay
from services.scoring.trust.accuracy.weights import MIN_PER_CLASS, Suggestion, suggest

DEFAULT_HORIZONS = (30, 60, 90)


@dataclass(frozen=True)
class Scored:
    """A sample with the score and band the reported model gives it."""

    sample: Sample
    segment: str
    score: float
    band: str


@dataclass(frozen=True)
class HorizonReport:
    horizon_days: int
    n: int
    churned: int
    message: str | None = None  # set when there are too few outcomes to measure
    overall: stats.AucEstimate | None = None
    components: dict[str, stats.AucEstimate | None] = field(default_factory=dict)
    bands: list[stats.BandRate] = field(default_factory=list)
    lift_red_over_green: float | None = None
    lift_not_green_over_green: float | None = None
    red_precision: float | None = None
    red_recall: float | None = None
    deciles: list[stats.Decile] = field(default_factory=list)
    scored: list[Scored] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class AccuracyReport:
    model_version: str
    outcomes: dict[str, int]
    horizons: list[HorizonReport]
    suggestions: list[Suggestion]

    def horizon(self, days: int) -> HorizonReport | None:
        return next((h for h in self.horizons if h.horizon_days == days), None)


@dataclass(frozen=True)
class History:
    """What the repository loads: outcomes, stored scores, segments, known configs."""

    outcomes: Sequence[Outcome]
    points: Sequence[ScorePoint]
    segments: Mapping[str, str]  # account -> current segment (for rows stored without one)
    configs: Mapping[str, HealthModelConfig]  # model_version -> config


def build_report(
    history: History, model: HealthModelConfig, horizons: Sequence[int] = DEFAULT_HORIZONS
) -> AccuracyReport:
    reports = [horizon_report(history, model, h) for h in horizons]
    counts = {
        kind: sum(1 for o in history.outcomes if o.kind == kind) for kind in ("churn", "renewal")
    }
    primary = reports[0] if reports else None
    suggestions = suggest_per_segment(primary.scored) if primary else []
    return AccuracyReport(model.model_version, counts, reports, suggestions)


def score_samples(
    samples: Sequence[Sample], history: History, model: HealthModelConfig
) -> list[Scored]:
    scored: list[Scored] = []
    for sample in samples:
        point = sample.point
        segment = point.segment or history.segments.get(point.account_id) or "self_serve"
        result: Replayed = replay(point, segment, model, history.configs.get(point.model_version))
        scored.append(Scored(sample, segment, result.score, result.band))
    return scored


def horizon_report(history: History, model: HealthModelConfig, days: int) -> HorizonReport:
    samples = point_in_time(history.outcomes, history.points, days)
    scored = score_samples(samples, history, model)
    churned = [int(s.sample.churned) for s in scored]
    n, positives = len(churned), sum(churned)
    if positives < MIN_PER_CLASS or n - positives < MIN_PER_CLASS:
        message = (
            f"too few outcomes with a score {days} days before them: need at least"
            f" {MIN_PER_CLASS} churned and {MIN_PER_CLASS} renewed, have {positives} churned"
            f" and {n - positives} renewed"
        )
        return HorizonReport(days, n, positives, message=message, scored=scored)
    risk = [-s.score for s in scored]
    bands = stats.churn_by_band([s.band for s in scored], churned)
    precision, recall = stats.precision_recall([s.band == "red" for s in scored], churned)
    return HorizonReport(
        days,
        n,
        positives,
        overall=stats.auc_with_interval(churned, risk),
        components={name: _component_auc(scored, name) for name in COMPONENTS},
        bands=bands,
        lift_red_over_green=stats.lift(bands),
        lift_not_green_over_green=stats.lift_not_green(bands),
        red_precision=precision,
        red_recall=recall,
        deciles=stats.deciles([s.score for s in scored], churned),
        scored=scored,
    )


def _component_auc(scored: Sequence[Scored], name: str) -> stats.AucEstimate | None:
    pairs = [
        (int(s.sample.churned), -value)
        for s in scored
        if (value := s.sample.point.components.get(name)) is not None
    ]
    labels = [c for c, _ in pairs]
    if sum(labels) == 0 or sum(labels) == len(labels):
        return None
    return stats.auc_with_interval(labels, [r for _, r in pairs])


def suggest_per_segment(scored: Sequence[Scored]) -> list[Suggestion]:
    suggestions = []
    for segment in SEGMENTS:
        rows = [s for s in scored if s.segment == segment]
        suggestions.append(
            suggest(
                segment,
                [s.sample.point.components for s in rows],
                [int(s.sample.churned) for s in rows],
            )
        )
    return suggestions
