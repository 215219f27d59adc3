"""The scorecard document: the health model as data (pydantic v2, no code in it).

A scorecard declares segments, measures, components, weights per segment, bands,
risk flags and custom playbooks. Nothing in it is evaluated as code: conditions
compare a measure with a number, aggregates and template formats come from closed sets, and every
number is finite and bounded. Cross-references (names, windows, templates) are
checked by ``services.scoring.scorecard.checks``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from shared.custom_playbooks import CustomPlaybook

# strict: a number is a number ("15" is refused, as the JSON Schema says)
STRICT = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, strict=True)


def _integral(value: Any) -> Any:
    """JSON Schema's integer is 5 or 5.0 (never "5" nor true): 5.0 is taken as 5."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


INTEGRAL = BeforeValidator(_integral)

# A name a template can refer to as {name}: letters, digits and underscores.
IDENT_PATTERN = r"^[a-z][a-z0-9_]*$"
Ident = Annotated[str, Field(min_length=1, max_length=64, pattern=IDENT_PATTERN)]
# A mapping keyed by names says so in its JSON Schema: pydantic's ``patternProperties``
# alone lets any other key through, which validation then refuses.
NAMED_KEYS: dict[str, Any] = {
    "propertyNames": {"pattern": IDENT_PATTERN, "minLength": 1, "maxLength": 64},
    "additionalProperties": False,
}
Value = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00]*$")]
Number = Annotated[float, Field(ge=-1e12, le=1e12)]
Points = Annotated[float, Field(ge=0, le=100)]
Weight = Annotated[float, Field(ge=0, le=100)]
Days = Annotated[int, Field(ge=1, le=3650), INTEGRAL]
Template = Annotated[str, Field(min_length=1, max_length=300, pattern=r"^[^\x00]*$")]

Comparison = Literal["<", "<=", ">", ">=", "==", "!="]
COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
Source = Literal["usage", "ticket", "survey", "payment", "account"]
Aggregate = Literal[
    "count",
    "sum_quantity",
    "distinct_users",
    "distinct_features",
    "days_active",
    "days_since_last",
    "open_tickets",
    "reopens",
    "latest_survey",
    "mean_survey_points",
    "mean_score",
    "failed_payments",
    "overdue_invoices",
    "overdue_days",
    "paid_invoices",
    "downgrades",
    "arr",
    "seats",
]


class Condition(BaseModel):
    """``measure op value``; a missing measure satisfies only ``missing``."""

    model_config = STRICT

    measure: Ident
    op: Comparison | Literal["present", "missing"]
    value: Number | None = None


class Attribute(BaseModel):
    """An extra field of subscription events (``region`` …) that segments may read."""

    model_config = STRICT

    name: Ident
    type: Literal["text", "number"]


class AttributeCondition(BaseModel):
    """A condition on an account attribute: ``arr``, ``seats``, ``plan`` or a declared
    one. An account without a value for it satisfies none (``not_in`` included)."""

    model_config = STRICT

    attribute: Ident
    # numbers compare; text takes in / not_in a list, or == / != one value
    op: Comparison | Literal["in", "not_in"]
    value: Number | Value | Annotated[list[Value], Field(min_length=1, max_length=1000)]


class Segment(BaseModel):
    model_config = STRICT

    name: Ident
    when: list[AttributeCondition] = Field(min_length=1, max_length=20)  # all must hold


class Breakpoint(BaseModel):
    model_config = STRICT

    x: Number
    y: Points


class Measure(BaseModel):
    """One number about an account, and how it maps to 0-100 points."""

    model_config = STRICT

    name: Ident
    source: Source
    aggregate: Aggregate
    # filters: lists of values, empty = everything
    types: list[Value] = Field(default_factory=list, max_length=100)
    features: list[Value] = Field(default_factory=list, max_length=1000)
    severities: list[Value] = Field(default_factory=list, max_length=20)
    kinds: list[Value] = Field(default_factory=list, max_length=20)
    # open_tickets only: weight each ticket by its severity (others: other_severity_weight)
    severity_weights: (
        Annotated[dict[Ident, Points], Field(max_length=20, json_schema_extra=NAMED_KEYS)] | None
    ) = None
    other_severity_weight: Points = 0
    window_days: Days | None = None
    # the value becomes (rate in the window) / (rate in the baseline_days before it)
    baseline_days: Days | None = None
    # the value is divided by seats x per_seat (missing when seats are unknown)
    per_seat: Annotated[float, Field(gt=0, le=1000)] | None = None
    # piecewise linear, clamped at both ends; omitted: the value already is points
    points: list[Breakpoint] | None = Field(default=None, min_length=2, max_length=50)
    missing: Literal["renormalize"] | Points = "renormalize"


class WeightedMeasure(BaseModel):
    model_config = STRICT

    measure: Ident
    weight: Weight = 1.0


class Reason(BaseModel):
    """A sentence for a low component; ``plural`` when the ``count`` measure is above 1."""

    model_config = STRICT

    when: list[Condition] = Field(default_factory=list, max_length=20)  # all must hold
    text: Template
    plural: Template | None = None
    count: Ident | None = None


class Gate(BaseModel):
    """When every condition holds, the component is ``value`` (and says ``reason``)."""

    model_config = STRICT

    when: list[Condition] = Field(min_length=1, max_length=20)
    value: Points
    reason: Reason | None = None


class Blend(BaseModel):
    """When ``measure`` has data: value = (1 - share) x value + share x its points."""

    model_config = STRICT

    measure: Ident
    share: Annotated[float, Field(ge=0, le=1)]


class Component(BaseModel):
    """``mean``: weighted mean of the measures' points (renormalized over those with
    data); ``penalty``: 100 minus the sum of weight x points. Clamped to 0-100."""

    model_config = STRICT

    name: Ident
    mode: Literal["mean", "penalty"]
    measures: list[WeightedMeasure] = Field(min_length=1, max_length=100)
    # the component has data when any of these holds (empty: when a measure has data)
    present_when: list[Condition] = Field(default_factory=list, max_length=20)
    gates: list[Gate] = Field(default_factory=list, max_length=20)
    blend: Blend | None = None
    reasons: list[Reason] = Field(default_factory=list, max_length=20)  # first match


class Bands(BaseModel):
    model_config = STRICT

    green_min: Annotated[float, Field(gt=0, le=100)] = 70
    yellow_min: Annotated[float, Field(gt=0, le=100)] = 40
    hysteresis: Annotated[float, Field(ge=0, le=20)] = 3
    min_coverage: Annotated[float, Field(ge=0, le=1)] = 0.5


class RiskFlag(BaseModel):
    model_config = STRICT

    name: Ident
    when: list[Condition] = Field(min_length=1, max_length=20)  # all must hold
    cap: Points


class Risk(BaseModel):
    model_config = STRICT

    flags: list[RiskFlag] = Field(default_factory=list, max_length=100)
    step: Points = 15  # each further flag lowers the lowest cap by this


class ModelReasons(BaseModel):
    model_config = STRICT

    max: Annotated[int, Field(ge=1, le=20), INTEGRAL] = 5
    trend_drop: Annotated[float, Field(gt=0, le=100)] = 10
    trend: Template = "Score down {trend:abs0f} points in 7 days"
    low_coverage: Template = "Low data coverage ({coverage:pct} of the model has fresh data)"


class Scorecard(BaseModel):
    model_config = STRICT

    version: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]
    # extra fields of subscription events the segments read, besides arr, seats and plan
    attributes: list[Attribute] = Field(default_factory=list, max_length=50)
    segments: list[Segment] = Field(max_length=50)  # first match wins
    default_segment: Ident
    measures: list[Measure] = Field(min_length=1, max_length=200)
    components: list[Component] = Field(min_length=1, max_length=50)
    # segment -> component -> weight
    weights: Annotated[
        dict[
            Ident,
            Annotated[dict[Ident, Weight], Field(max_length=50, json_schema_extra=NAMED_KEYS)],
        ],
        Field(max_length=51, json_schema_extra=NAMED_KEYS),
    ]
    bands: Bands = Field(default_factory=Bands)
    risk: Risk = Field(default_factory=Risk)
    reasons: ModelReasons = Field(default_factory=ModelReasons)
    # custom playbooks, judged by triggers beside the seven built-in ones
    playbooks: list[CustomPlaybook] = Field(default_factory=list, max_length=50)
