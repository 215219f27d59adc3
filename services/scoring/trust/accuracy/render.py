"""An accuracy report as JSON-ready data and as text lines. Pure."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from services.scoring.trust.accuracy.report import AccuracyReport, HorizonReport
from services.scoring.trust.accuracy.stats import AucEstimate


def as_data(report: AccuracyReport) -> dict[str, Any]:
    return {
        "model_version": report.model_version,
        "outcomes": report.outcomes,
        "horizons": [_horizon_data(h) for h in report.horizons],
        "suggested_weights": [
            {
                "segment": s.segment,
                "n": s.n,
                "churned": s.churned,
                "weights": s.weights,
                "coefficients": {k: round(v, 4) for k, v in s.coefficients.items()},
                "message": s.message,
            }
            for s in report.suggestions
        ],
    }


def _auc(estimate: AucEstimate | None) -> dict[str, Any] | None:
    if estimate is None:
        return None
    return {
        "auc": round(estimate.auc, 4),
        "ci_low": round(estimate.low, 4),
        "ci_high": round(estimate.high, 4),
        "n": estimate.n,
        "churned": estimate.churned,
    }


def _horizon_data(h: HorizonReport) -> dict[str, Any]:
    return {
        "horizon_days": h.horizon_days,
        "n": h.n,
        "churned": h.churned,
        "message": h.message,
        "auc": _auc(h.overall),
        "components": {name: _auc(e) for name, e in h.components.items()},
        "bands": [
            {"band": b.band, "n": b.n, "churned": b.churned, "churn_rate": b.rate} for b in h.bands
        ],
        "lift_red_over_green": h.lift_red_over_green,
        "lift_not_green_over_green": h.lift_not_green_over_green,
        "red_precision": h.red_precision,
        "red_recall": h.red_recall,
        "deciles": [asdict(d) | {"churn_rate": round(d.rate, 4)} for d in h.deciles],
    }


def _fmt(estimate: AucEstimate | None) -> str:
    if estimate is None:
        return "n/a (one class only)"
    return (
        f"{estimate.auc:.3f}  95% CI [{estimate.low:.3f}, {estimate.high:.3f}]"
        f"  n={estimate.n} ({estimate.churned} churned)"
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}x"


def lines(report: AccuracyReport) -> list[str]:
    out = [
        f"model {report.model_version}: {report.outcomes.get('churn', 0)} churn and"
        f" {report.outcomes.get('renewal', 0)} renewal outcomes"
    ]
    for h in report.horizons:
        out.append(f"\n== {h.horizon_days}-day horizon: {h.n} outcomes scored ahead ==")
        if h.message:
            out.append(f"  {h.message}")
            continue
        out.append(f"  AUC overall   {_fmt(h.overall)}")
        out.extend(f"  AUC {name:<10}{_fmt(e)}" for name, e in h.components.items())
        out.append(
            "  churn by band "
            + ", ".join(f"{b.band} {_pct(b.rate)} ({b.churned}/{b.n})" for b in h.bands)
        )
        out.append(
            f"  lift red/green {_times(h.lift_red_over_green)},"
            f" yellow+red/green {_times(h.lift_not_green_over_green)}"
        )
        out.append(
            f"  red as churn warning: precision {_pct(h.red_precision)}"
            f", recall {_pct(h.red_recall)}"
        )
        out.append("  decile  scores        n  churn")
        out.extend(
            f"  {d.decile:>6}  {d.score_min:5.1f}-{d.score_max:5.1f} {d.n:>4}  {d.rate:.0%}"
            for d in h.deciles
        )
    out.append("\n== suggested weights (logistic regression, first horizon) ==")
    for s in report.suggestions:
        if s.weights is None:
            out.append(f"  {s.segment:<11} {s.message}")
        else:
            shown = ", ".join(f"{k} {v:.2f}" for k, v in s.weights.items())
            out.append(f"  {s.segment:<11} {shown}  (n={s.n}, {s.churned} churned)")
    return out
