"""A scorecard judged on past outcomes, recomputed point in time from account state. Pure.

For each outcome, the account's measures are computed at the horizon's cut-off
(``accuracy.features.cutoff``) from the state kept now: every window ends at that
``as_of`` and reads only what happened before it, so a measure added today is judged
on the past at once, with no replay. The live scorecard is recomputed the same way,
so the two AUCs compare like with like. What state keeps only as of now (ARR, seats,
open tickets, overdue invoices) is read as it is now: a closed ticket or a paid
invoice no longer counts against the past. Users and features active again since
the cut-off are put back at their last active day before it (``past_state``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from services.scoring.domain.account_state import AccountState
from services.scoring.scorecard.candidate import ScorecardCandidate
from services.scoring.scorecard.evaluate import evaluate, measure_values
from services.scoring.scorecard.measures import PointsFn, points
from services.scoring.scorecard.past_state import state_at
from services.scoring.trust.accuracy import stats
from services.scoring.trust.accuracy.features import cutoff
from services.scoring.trust.accuracy.outcomes import Outcome
from services.scoring.trust.accuracy.weights import MIN_PER_CLASS


@dataclass(frozen=True)
class MeasureAuc:
    """A measure's own AUC: its points as the risk (fewer points, more risk; for a measure
    of a ``penalty`` component more points, more risk), over the samples where it has data."""

    name: str
    n: int
    auc: stats.AucEstimate | None
    weighted: bool = True  # in a component; False: read by conditions only


@dataclass(frozen=True)
class ScorecardHorizon:
    horizon_days: int
    n: int
    churned: int
    failed: int = 0  # samples either scorecard raised on (left out of both)
    message: str | None = None
    live: stats.AucEstimate | None = None
    candidate: stats.AucEstimate | None = None
    measures: list[MeasureAuc] = field(default_factory=list)


def _weighted(candidate: ScorecardCandidate) -> set[str]:
    """The measures whose points enter a component's value (its measures, its blend)."""
    components = candidate.card.components
    blended = {c.blend.measure for c in components if c.blend is not None}
    return blended | {item.measure for c in components for item in c.measures}


def _measure_points(candidate: ScorecardCandidate) -> dict[str, tuple[PointsFn, float]]:
    """Each measure's points function and the sign that turns points into risk (a measure
    outside every component: its value, a higher value read as healthier)."""
    penalties = {
        item.measure
        for c in candidate.card.components
        if c.mode == "penalty"
        for item in c.measures
    }
    return {
        m.name: (points(m.points), 1.0 if m.name in penalties else -1.0)
        for m in candidate.card.measures
    }


def _auc(labels: Sequence[int], risk: Sequence[float]) -> stats.AucEstimate | None:
    if sum(labels) == 0 or sum(labels) == len(labels):
        return None
    return stats.auc_with_interval(labels, risk)


def horizon(
    outcomes: Sequence[Outcome],
    states: Mapping[str, AccountState],
    live: ScorecardCandidate,
    candidate: ScorecardCandidate,
    days: int,
) -> ScorecardHorizon:
    labels: list[int] = []
    live_risk: list[float] = []
    new_risk: list[float] = []
    by_measure: dict[str, tuple[list[int], list[float]]] = {}
    shapes = _measure_points(candidate)
    failed = 0
    for outcome in sorted(outcomes, key=lambda o: (o.account_id, o.on, o.kind)):
        stored = states.get(outcome.account_id)
        at = cutoff(outcome, days)
        if stored is None or stored.first_seen_at > at:
            continue
        state = state_at(stored, at)
        try:
            old = evaluate(live.compiled, state, at)
            new = evaluate(candidate.compiled, state, at)
            values = measure_values(candidate.compiled, state, at)
        except Exception:  # noqa: BLE001 - one account's odd data never stops a backtest
            failed += 1
            continue
        churned = int(outcome.churned)
        labels.append(churned)
        live_risk.append(-old.score)
        new_risk.append(-new.score)
        for name, value in values.items():
            if value is not None:
                to_points, sign = shapes[name]
                column = by_measure.setdefault(name, ([], []))
                column[0].append(churned)
                column[1].append(sign * to_points(value))
    n, positives = len(labels), sum(labels)
    if positives < MIN_PER_CLASS or n - positives < MIN_PER_CLASS:
        message = (
            f"too few outcomes with state {days} days before them: need at least"
            f" {MIN_PER_CLASS} churned and {MIN_PER_CLASS} renewed, have {positives} churned"
            f" and {n - positives} renewed"
        )
        return ScorecardHorizon(days, n, positives, failed, message)
    weighted = _weighted(candidate)
    measures = [
        MeasureAuc(name, len(by_measure[name][0]), _auc(*by_measure[name]), name in weighted)
        if name in by_measure
        else MeasureAuc(name, 0, None, name in weighted)
        for name in shapes
    ]
    return ScorecardHorizon(
        days,
        n,
        positives,
        failed,
        live=stats.auc_with_interval(labels, live_risk),
        candidate=stats.auc_with_interval(labels, new_risk),
        measures=measures,
    )


def _estimate(value: stats.AucEstimate | None) -> str:
    return "-" if value is None else f"{value.auc:.3f} [{value.low:.3f}, {value.high:.3f}]"


def lines(result: ScorecardHorizon) -> list[str]:
    if result.message is not None:
        return [f"  {result.horizon_days:>3} days: {result.message}"]
    out = [
        f"  {result.horizon_days:>3} days: AUC live {_estimate(result.live)}  candidate"
        f" {_estimate(result.candidate)}  n={result.n} churned={result.churned}"
    ]
    if result.failed:
        out.append(f"      {result.failed} samples left out: a scorecard raised on them")
    out.append("      measure                    n   AUC (points as health)")
    for m in result.measures:
        mark = "" if m.weighted else "  *"
        out.append(f"      {m.name:<24} {m.n:>5}   {_estimate(m.auc)}{mark}")
    if not all(m.weighted for m in result.measures):
        out.append("      * in no component (read by conditions): a higher value read as healthier")
    return out


def as_data(result: ScorecardHorizon) -> dict[str, object]:
    def auc(value: stats.AucEstimate | None) -> float | None:
        return None if value is None else round(value.auc, 4)

    return {
        "horizon_days": result.horizon_days,
        "n": result.n,
        "live_auc": auc(result.live),
        "candidate_auc": auc(result.candidate),
        "message": result.message,
        "measures": {
            m.name: {"n": m.n, "auc": auc(m.auc), "in_a_component": m.weighted}
            for m in result.measures
        },
    }
