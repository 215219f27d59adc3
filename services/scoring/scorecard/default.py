"""Today's health model as a scorecard: ``scorecard_from_config(cfg)``, and YAML loading.

The converter states every special shape of ``components.py`` with the document's
general constructs (gates, presence conditions, a blend), so the default scorecard
is a worked example of the document as much as a compatibility bridge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from services.scoring.domain.model_config import SEVERITIES, HealthModelConfig
from services.scoring.scorecard.checks import RETENTION_DAYS, validate
from services.scoring.scorecard.document import Scorecard

DEFAULT_PATH = Path(__file__).resolve().parents[3] / "deploy" / "scorecards" / "default.yaml"


def load(path: Path, retention_days: int = RETENTION_DAYS) -> tuple[Scorecard | None, list[str]]:
    """A scorecard from a YAML (or JSON) file, or every error with its path."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        return None, [f"(document): cannot read: {error}"]
    return validate(data, retention_days)


def _when(measure: str, op: str, value: float | None = None) -> dict[str, Any]:
    return {"measure": measure, "op": op, **({} if value is None else {"value": value})}


def _line(x1: float, y1: float = 100.0, x0: float = 0.0) -> list[dict[str, float]]:
    return [{"x": x0, "y": 0.0}, {"x": x1, "y": y1}]


def _measures(cfg: HealthModelConfig) -> list[dict[str, Any]]:
    fresh = cfg.freshness_days
    measures: list[dict[str, Any]] = [
        # usage
        {"name": "days_silent", "source": "usage", "aggregate": "days_since_last"},
        {"name": "events_7d", "source": "usage", "aggregate": "count", "window_days": 7},
        {"name": "usage_ratio", "source": "usage", "aggregate": "count", "window_days": 7,
         "baseline_days": 28, "points": _line(1.0), "missing": 100.0},
        {"name": "seat_share", "source": "usage", "aggregate": "distinct_users", "window_days": 7,
         "per_seat": cfg.seat_target_ratio, "points": _line(1.0)},
        {"name": "active_users", "source": "usage", "aggregate": "distinct_users",
         "window_days": 7},
        {"name": "seats", "source": "account", "aggregate": "seats"},
        # adoption
        {"name": "features_used", "source": "usage", "aggregate": "distinct_features",
         "features": list(cfg.core_features), "window_days": cfg.adoption_window_days,
         "points": [{"x": 0.0, "y": 0.0}, {"x": float(cfg.adoption_low), "y": 40.0},
                    {"x": float(cfg.adoption_high), "y": 100.0}]},
        # support
        {"name": "ticket_penalty", "source": "ticket", "aggregate": "open_tickets",
         "severity_weights": {s: cfg.severity_penalty[s] for s in SEVERITIES},
         "other_severity_weight": 8.0},
        {"name": "reopens", "source": "ticket", "aggregate": "reopens"},
        {"name": "open_count", "source": "ticket", "aggregate": "open_tickets"},
        {"name": "urgent_open", "source": "ticket", "aggregate": "open_tickets",
         "severities": ["urgent"]},
        {"name": "tickets_updated", "source": "ticket", "aggregate": "count",
         "window_days": fresh["support"]},
        {"name": "ticket_csat", "source": "survey", "aggregate": "mean_score",
         "kinds": ["ticket_csat"], "window_days": fresh["support"],
         "points": _line(5.0, x0=1.0)},
        # payment
        {"name": "failed_payments", "source": "payment", "aggregate": "failed_payments",
         "window_days": fresh["payment"]},
        {"name": "failed_payments_30d", "source": "payment", "aggregate": "failed_payments",
         "window_days": 30},
        {"name": "overdue_invoices", "source": "payment", "aggregate": "overdue_invoices"},
        {"name": "overdue_days", "source": "payment", "aggregate": "overdue_days"},
        {"name": "downgrades", "source": "payment", "aggregate": "downgrades",
         "window_days": fresh["payment"]},
        {"name": "paid_invoices", "source": "payment", "aggregate": "paid_invoices",
         "window_days": fresh["payment"]},
        {"name": "arr", "source": "account", "aggregate": "arr"},
        # sentiment
        {"name": "survey_points", "source": "survey", "aggregate": "mean_survey_points",
         "kinds": ["nps", "csat", "ces"], "window_days": fresh["sentiment"]},
    ]  # fmt: skip
    return measures


def _usage(cfg: HealthModelConfig) -> dict[str, Any]:
    silent = "No product usage in {days_silent} days"
    return {
        "name": "usage", "mode": "mean",
        "measures": [{"measure": "usage_ratio"}, {"measure": "seat_share"}],
        "present_when": [_when("days_silent", "present")],
        "gates": [{"when": [_when("days_silent", ">=", cfg.freshness_days["usage"]),
                            _when("events_7d", "==", 0)],
                   "value": 0.0, "reason": {"text": silent}}],
        "reasons": [
            {"when": [_when("days_silent", ">=", cfg.usage_stopped_days)], "text": silent},
            {"when": [_when("usage_ratio", "<", 0.7)],
             "text": "Usage down {usage_ratio:drop_pct}% against its 4-week baseline"},
            {"when": [_when("seat_share", "<", 0.5)],
             "text": "Only {active_users} of {seats} seats active in 7 days"}],
    }  # fmt: skip


def _support(cfg: HealthModelConfig) -> dict[str, Any]:
    return {
        "name": "support", "mode": "penalty",
        "measures": [{"measure": "ticket_penalty", "weight": 1.0},
                     {"measure": "reopens", "weight": cfg.reopen_penalty}],
        "present_when": [_when("open_count", ">", 0), _when("ticket_csat", "present"),
                         _when("tickets_updated", ">", 0)],
        "blend": {"measure": "ticket_csat", "share": 0.3},
        "reasons": [
            {"when": [_when("urgent_open", ">=", 1)], "text": "{urgent_open} urgent ticket open",
             "plural": "{urgent_open} urgent tickets open", "count": "urgent_open"},
            {"when": [_when("open_count", ">=", 3)], "text": "{open_count} tickets open"},
            {"when": [_when("ticket_csat", "<", 3)],
             "text": "Low support satisfaction ({ticket_csat:1f}/5)"}],
    }  # fmt: skip


def _payment(cfg: HealthModelConfig) -> dict[str, Any]:
    return {
        "name": "payment", "mode": "penalty",
        "measures": [{"measure": "failed_payments", "weight": cfg.failed_payment_penalty},
                     {"measure": "overdue_invoices", "weight": cfg.overdue_invoice_penalty},
                     {"measure": "overdue_days", "weight": cfg.overdue_day_penalty},
                     {"measure": "downgrades", "weight": cfg.downgrade_penalty}],
        "present_when": [_when("failed_payments", ">", 0), _when("overdue_invoices", ">", 0),
                         _when("paid_invoices", ">", 0), _when("downgrades", ">", 0),
                         _when("arr", "present")],
        "reasons": [
            {"when": [_when("overdue_invoices", ">=", 1)],
             "text": "{overdue_invoices} invoice overdue ({overdue_days} days in all)",
             "plural": "{overdue_invoices} invoices overdue ({overdue_days} days in all)",
             "count": "overdue_invoices"},
            {"when": [_when("failed_payments", ">=", 1)],
             "text": "Payment failed {failed_payments} time in 90 days",
             "plural": "Payment failed {failed_payments} times in 90 days",
             "count": "failed_payments"},
            {"when": [_when("downgrades", ">=", 1)], "text": "Downgraded in the last 90 days"}],
    }  # fmt: skip


def _components(cfg: HealthModelConfig) -> list[dict[str, Any]]:
    window = cfg.adoption_window_days
    return [
        _usage(cfg),
        {"name": "adoption", "mode": "mean", "measures": [{"measure": "features_used"}],
         "reasons": [{"when": [_when("features_used", "<", cfg.adoption_low)],
                      "text": f"Only {{features_used}} key feature used in {window} days",
                      "plural": f"Only {{features_used}} key features used in {window} days",
                      "count": "features_used"}]},
        _support(cfg),
        _payment(cfg),
        {"name": "sentiment", "mode": "mean", "measures": [{"measure": "survey_points"}],
         "reasons": [{"when": [_when("survey_points", "<", 50)],
                      "text": "Detractor feedback (surveys average {survey_points:0f}/100)"}]},
    ]  # fmt: skip


def _flags(cfg: HealthModelConfig) -> list[dict[str, Any]]:
    conditions = {
        "urgent_ticket": [_when("urgent_open", ">=", 1), _when("urgent_open", "<", 2)],
        "urgent_tickets": [_when("urgent_open", ">=", 2)],
        "payment_failed_30d": [_when("failed_payments_30d", ">=", 1)],
        "invoice_overdue": [_when("overdue_invoices", ">=", 1)],
        "usage_stopped_14d": [_when("days_silent", ">=", 14)],
    }
    # a flag without a cap still counts for the step, at cap 100 (as risk_cap does)
    return [
        {"name": name, "when": when, "cap": cfg.risk_caps.get(name, 100.0)}
        for name, when in conditions.items()
    ]


def scorecard_from_config(cfg: HealthModelConfig) -> Scorecard:
    """The scorecard that scores exactly as ``model.score`` does under ``cfg``."""
    arr = [
        ("enterprise", cfg.enterprise_min_arr),
        ("mid_market", cfg.mid_market_min_arr),
        ("smb", cfg.smb_min_arr),
    ]
    return Scorecard.model_validate(
        {
            "version": cfg.version,
            "segments": [
                {"name": n, "when": [{"attribute": "arr", "op": ">=", "value": v}]} for n, v in arr
            ],
            "default_segment": "self_serve",
            "measures": _measures(cfg),
            "components": _components(cfg),
            "weights": {seg: w.as_dict() for seg, w in cfg.weights.items()},
            "bands": {
                "green_min": cfg.green_min,
                "yellow_min": cfg.yellow_min,
                "hysteresis": cfg.hysteresis,
                "min_coverage": cfg.min_coverage,
            },
            "risk": {"flags": _flags(cfg), "step": cfg.risk_flag_step},
            "reasons": {"max": cfg.max_reasons},
        }
    )
