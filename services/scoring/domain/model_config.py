"""The health model's parameters: versioned, validated, stored in PostgreSQL."""

from __future__ import annotations

import hashlib
from functools import cached_property
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.schema_rules import WHOLE, Order, keys_among, keys_exactly, ordered, out_of_order
from shared.text import Label, Name

COMPONENTS = ("usage", "adoption", "support", "payment", "sentiment")
SEGMENTS = ("enterprise", "mid_market", "smb", "self_serve")
SEVERITIES = ("low", "normal", "high", "urgent")
RISK_FLAGS = (
    "urgent_ticket",
    "urgent_tickets",
    "payment_failed_30d",
    "invoice_overdue",
    "usage_stopped_14d",
)
# Every number is finite (``allow_inf_nan=False``) and bounded, and no type is coerced
# (``strict``: `false` is not a number, `0` not a boolean): a config that could
# overflow a date or a float in a loop is refused with 422 before it is stored.
Weight = Annotated[float, Field(ge=0, le=100)]
Points = Annotated[float, Field(ge=0, le=100)]
Arr = Annotated[float, Field(gt=0, le=1e12)]
Days = Annotated[int, Field(ge=1, le=3650), WHOLE]
STRICT = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, strict=True)
# orders between fields the validator checks; the schema lists them (x-vigil-order)
ORDERS: tuple[Order, ...] = (
    ("yellow_min", "<", "green_min"),
    ("smb_min_arr", "<", "mid_market_min_arr"),
    ("mid_market_min_arr", "<", "enterprise_min_arr"),
    ("adoption_low", "<", "adoption_high"),
)
# at least one weight positive, in JSON Schema
ANY_WEIGHT: dict[str, Any] = {
    "anyOf": [
        {"required": [name], "properties": {name: {"exclusiveMinimum": 0}}} for name in COMPONENTS
    ]
}


class ComponentWeights(BaseModel):
    model_config = ConfigDict(**STRICT, json_schema_extra=ANY_WEIGHT)

    usage: Weight
    adoption: Weight
    support: Weight
    payment: Weight
    sentiment: Weight

    @model_validator(mode="after")
    def _not_all_zero(self) -> ComponentWeights:
        if sum(self.as_dict().values()) <= 0:
            raise ValueError("at least one component weight must be positive")
        return self

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in COMPONENTS}


DEFAULT_WEIGHTS = {
    # high-touch accounts: support and sentiment matter more; self-serve lives on usage
    "enterprise": ComponentWeights(
        usage=0.30, adoption=0.20, support=0.20, payment=0.15, sentiment=0.15
    ),
    "mid_market": ComponentWeights(
        usage=0.30, adoption=0.20, support=0.15, payment=0.20, sentiment=0.15
    ),
    "smb": ComponentWeights(usage=0.35, adoption=0.20, support=0.10, payment=0.25, sentiment=0.10),
    "self_serve": ComponentWeights(
        usage=0.45, adoption=0.20, support=0.05, payment=0.25, sentiment=0.05
    ),
}


class HealthModelConfig(BaseModel):
    """Defaults follow docs/DESIGN.md ("The health model"); every number is a documented knob."""

    model_config = ConfigDict(**STRICT, json_schema_extra=ordered(ORDERS))

    version: Label = "1"
    # segments by ARR: enterprise >= 100k, mid-market 25k-100k, smb 5k-25k, self-serve < 5k
    enterprise_min_arr: Arr = 100_000
    mid_market_min_arr: Arr = 25_000
    smb_min_arr: Arr = 5_000
    weights: dict[str, ComponentWeights] = Field(
        default_factory=lambda: dict(DEFAULT_WEIGHTS), json_schema_extra=keys_exactly(SEGMENTS)
    )
    green_min: Annotated[float, Field(gt=0, le=100)] = 70
    yellow_min: Annotated[float, Field(gt=0, le=100)] = 40
    hysteresis: Annotated[float, Field(ge=0, le=20)] = 3
    min_coverage: Annotated[float, Field(ge=0, le=1)] = 0.5
    # usage: active seats share that counts as full use; silence that counts as stopped
    seat_target_ratio: Annotated[float, Field(gt=0, le=1)] = 0.6
    usage_stopped_days: Days = 7
    # adoption: fewer than 3 core features is a churn marker, 8+ a retention marker
    # empty: every feature counts
    core_features: list[Name] = Field(default_factory=list, max_length=1000)
    adoption_low: Annotated[int, Field(ge=1, le=10_000), WHOLE] = 3
    adoption_high: Annotated[int, Field(ge=2, le=10_000), WHOLE] = 8
    adoption_window_days: Days = 30
    # support: penalty points per open ticket by severity, per reopen
    severity_penalty: dict[str, Points] = Field(
        default_factory=lambda: {"low": 3.0, "normal": 8.0, "high": 18.0, "urgent": 35.0},
        json_schema_extra=keys_exactly(SEVERITIES),
    )
    reopen_penalty: Points = 10
    # payment: penalty points
    failed_payment_penalty: Points = 25
    overdue_invoice_penalty: Points = 25
    overdue_day_penalty: Points = 0.5
    downgrade_penalty: Points = 20
    # freshness: older data does not count (stale data is not good data)
    freshness_days: dict[str, Days] = Field(
        default_factory=lambda: {
            "usage": 35,
            "adoption": 30,
            "support": 90,
            "payment": 90,
            "sentiment": 90,
        },
        json_schema_extra=keys_exactly(COMPONENTS),
    )
    max_reasons: Annotated[int, Field(ge=1, le=20), WHOLE] = 5
    # risk flags cap the score, so a good average cannot hide an account in trouble;
    # each further flag lowers the cap by ``risk_flag_step``
    risk_caps: dict[str, Points] = Field(
        default_factory=lambda: {
            "urgent_ticket": 55.0,
            "urgent_tickets": 45.0,
            "payment_failed_30d": 55.0,
            "invoice_overdue": 50.0,
            "usage_stopped_14d": 45.0,
        },
        json_schema_extra=keys_among(RISK_FLAGS),
    )
    risk_flag_step: Points = 15

    @model_validator(mode="after")
    def _consistent(self) -> HealthModelConfig:
        broken = out_of_order(self.__dict__, ORDERS)
        if broken:
            raise ValueError(f"must hold: {', '.join(broken)}")
        if set(self.weights) != set(SEGMENTS):
            raise ValueError(f"weights must name exactly the segments {', '.join(SEGMENTS)}")
        if set(self.freshness_days) != set(COMPONENTS):
            raise ValueError(f"freshness_days must name exactly {', '.join(COMPONENTS)}")
        if set(self.severity_penalty) != set(SEVERITIES):
            raise ValueError(f"severity_penalty must name exactly {', '.join(SEVERITIES)}")
        if not set(self.risk_caps) <= set(RISK_FLAGS):
            raise ValueError(f"risk_caps may name only {', '.join(RISK_FLAGS)}")
        return self

    @cached_property
    def model_version(self) -> str:
        """The version plus a digest of every parameter: any change gives a new version.

        Cached in the instance's ``__dict__`` (read once per scored account: a pydantic
        private attribute costs ~2 us a read, this ~0.1 us); fields are frozen.
        """
        canonical = orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        digest = hashlib.sha256(canonical).hexdigest()[:8]
        return f"{self.version}+{digest}"
