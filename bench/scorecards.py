"""Scorecards for the bench: a wide one (30 measures) beside the default (21).

The nine measures added are the kind a CS-ops team adds: per usage type and feature
(read from the daily rollups), users of a feature, tickets by severity, surveys by
kind, payments by type; they form a sixth component, ``engagement``, weighted in
every segment, so each is evaluated and counts for every account.
"""

from __future__ import annotations

from typing import Any

from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.scorecard.checks import validate
from services.scoring.scorecard.default import scorecard_from_config
from services.scoring.scorecard.document import Scorecard

RISING = [{"x": 0, "y": 0}, {"x": 10, "y": 60}, {"x": 50, "y": 100}]


def _m(name: str, aggregate: str, days: int, **more: Any) -> dict[str, Any]:
    return {"name": name, "source": "usage", "aggregate": aggregate, "window_days": days} | more


EXTRA: list[dict[str, Any]] = [
    _m("api_calls_7d", "count", 7, types=["api_call"]),
    _m("exports_30d", "count", 30, features=["report_export"]),
    _m("alerts_qty_14d", "sum_quantity", 14, features=["alerts"]),
    _m("feature_days_28d", "days_active", 28, types=["feature_used"]),
    _m("dashboard_trend", "count", 7, features=["dashboard"], baseline_days=28),
    _m("feature_users_14d", "distinct_users", 14, types=["feature_used"]),
    _m("urgent_tickets_30d", "count", 30, source="ticket", severities=["urgent", "high"]),
    _m("nps_90d", "mean_score", 90, source="survey", kinds=["nps"]),
    _m("failures_60d", "count", 60, source="payment", types=["payment_failed"]),
]


def wide_scorecard() -> Scorecard:
    """The default plus nine measures in a component of their own: 30 measures."""
    data: dict[str, Any] = scorecard_from_config(HealthModelConfig()).model_dump(mode="json")
    data["version"] = "bench-30-measures"
    data["measures"] += [m | {"points": RISING} for m in EXTRA]
    data["components"].append(
        {
            "name": "engagement",
            "mode": "mean",
            "measures": [{"measure": m["name"], "weight": 1.0} for m in EXTRA],
        }
    )
    for weights in data["weights"].values():
        weights["engagement"] = 0.1
    card, errors = validate(data)
    if card is None:
        raise ValueError("; ".join(errors))
    return card
