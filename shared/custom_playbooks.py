"""Custom playbooks: the ``playbooks`` section of a scorecard, as data.

Scoring validates them with the rest of the scorecard (names, references to its
measures, components and segments); triggers judges them from ``health.changes``.
Both read this one model, so it lives here: the services do not import each
other. Nothing in it is code: a condition compares one value the health change
carries with a number (or the band with a list), and the payload is static,
bounded JSON handed on with the episode's events.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

BUILT_IN_PLAYBOOKS = (
    "at_risk",
    "score_drop",
    "adoption",
    "renewal",
    "expansion",
    "onboarding",
    "onboarding_stalled",
)
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
# strict: a number is a number ("15" is refused, as the JSON Schema says)
STRICT = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, strict=True)

PlaybookName = Annotated[str, Field(pattern=NAME_PATTERN)]
Number = Annotated[float, Field(ge=-1e12, le=1e12)]
Hours = Annotated[float, Field(ge=0, le=24 * 365)]
Band = Literal["green", "yellow", "red"]
# the numeric facts a health change carries (``account``) that a condition may read
FACTS = (
    "seats",
    "active_users_7d",
    "active_users_30d",
    "usage_ratio_to_baseline",
    "usage_ratio_14d_to_baseline",
)
Fact = Literal[
    "seats",
    "active_users_7d",
    "active_users_30d",
    "usage_ratio_to_baseline",
    "usage_ratio_14d_to_baseline",
]
PayloadValue = Annotated[str, Field(max_length=500, pattern=r"^[^\x00]*$")] | bool | Number


class PlaybookCondition(BaseModel):
    """What opens the playbook: ``signal`` (``name`` for a component, measure or fact)
    ``op`` ``enter``; once open it holds while ``op`` ``exit`` holds (hysteresis: the exit
    threshold lies at or beyond the enter one, on the side the value must cross back).

    ``signal: band`` takes ``bands`` instead: the band is one of them. A missing value
    (a measure without data, a fact not known) holds no condition.
    """

    model_config = STRICT

    signal: Literal["score", "band", "component", "measure", "fact"]
    name: PlaybookName | None = None
    op: Literal["<", "<=", ">", ">="] | None = None
    enter: Number | None = None
    exit: Number | None = None  # omitted: the enter threshold
    bands: list[Band] | None = Field(default=None, min_length=1, max_length=3)

    @model_validator(mode="after")
    def _shape(self) -> PlaybookCondition:
        named = self.signal in ("component", "measure", "fact")
        if named != (self.name is not None):
            raise ValueError(f"name is {'required' if named else 'not taken'} for {self.signal}")
        if self.signal == "fact" and self.name not in FACTS:
            raise ValueError(f"fact must be one of: {', '.join(FACTS)}")
        if self.signal == "band":
            if self.bands is None or self.op is not None or self.enter is not None:
                raise ValueError("a band condition takes bands (and no op, enter or exit)")
            if self.exit is not None:
                raise ValueError("a band condition takes no exit threshold")
            return self
        if self.bands is not None or self.op is None or self.enter is None:
            raise ValueError("a numeric condition takes op and enter (and no bands)")
        exit_ = self.exit_threshold
        if self.op in ("<", "<=") and exit_ < self.enter:
            raise ValueError("exit must not be below enter for < and <= (it would flap)")
        if self.op in (">", ">=") and exit_ > self.enter:
            raise ValueError("exit must not be above enter for > and >= (it would flap)")
        return self

    @property
    def exit_threshold(self) -> float:
        return self.exit if self.exit is not None else (self.enter or 0.0)


class CustomPlaybook(BaseModel):
    """A playbook declared like the built-in ones: condition, dwell, exit dwell,
    cool-down, due time, the segments it applies to (empty: all) and a payload."""

    model_config = STRICT

    name: PlaybookName
    title: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")] | None = None
    when: PlaybookCondition
    dwell_hours: Hours = 0
    exit_dwell_hours: Hours = 0
    cooldown_hours: Hours = 0
    due_hours: Annotated[float, Field(gt=0, le=24 * 3650)] = 72
    segments: list[PlaybookName] = Field(default_factory=list, max_length=50)
    # keys are names: the JSON Schema says so (``patternProperties`` alone would let any
    # other key through, which validation then refuses)
    payload: dict[PlaybookName, PayloadValue] = Field(
        default_factory=dict,
        max_length=20,
        json_schema_extra={
            "propertyNames": {"pattern": NAME_PATTERN},
            "additionalProperties": False,
        },
    )

    def applies_to(self, segment: str) -> bool:
        return not self.segments or segment in self.segments


class ScorecardPlaybooks(BaseModel):
    """What triggers reads of a stored scorecard: its version and its playbooks."""

    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)

    version: str = ""
    playbooks: list[CustomPlaybook] = Field(default_factory=list, max_length=50)


def holds(value: float, op: str, threshold: float) -> bool:
    """``value op threshold`` for the four comparisons a condition takes."""
    if op == "<":
        return value < threshold
    if op == "<=":
        return value <= threshold
    if op == ">":
        return value > threshold
    return value >= threshold


def zone(when: PlaybookCondition, value: float | str | None) -> int | None:
    """Where a value stands for a condition: 0 enters it, 1 holds it only once entered
    (between the enter and exit thresholds), 2 holds nothing; None: no value.

    Scoring publishes a health change when a zone moves, so triggers sees every
    crossing that can open or clear a custom playbook even when the score stays put.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return 0 if value in (when.bands or ()) else 2
    op = when.op or "<"
    if holds(value, op, when.enter or 0.0):
        return 0
    return 1 if holds(value, op, when.exit_threshold) else 2
