"""Playbook parameters per segment: versioned, validated, stored in PostgreSQL.

Each threshold rule has an enter and an exit threshold (hysteresis); each
playbook a minimum dwell before it opens and a cool-down after it resolves
(``Timing``); episodes open only within ``horizon_hours`` of the wall clock.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.custom_playbooks import BUILT_IN_PLAYBOOKS
from shared.schema_rules import WHOLE, Order, keys_among, keys_exactly, ordered, out_of_order
from shared.text import Label

PLAYBOOKS = BUILT_IN_PLAYBOOKS
SEGMENTS = ("enterprise", "mid_market", "smb", "self_serve")
# Every number finite and bounded: a config that could overflow a date in a loop is refused.
Days = Annotated[float, Field(gt=0, le=3650)]
STRICT = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, strict=True)
Hours = Annotated[float, Field(ge=0, le=24 * 365)]
Points = Annotated[float, Field(gt=0, le=100)]
# an exit threshold on the far side of its enter threshold would flap by design;
# the schema lists these (x-vigil-order), the validator checks them
EXITS_INSIDE_ENTERS: tuple[Order, ...] = (
    ("score_drop_exit_points", "<=", "score_drop_points"),
    ("adoption_threshold", "<=", "adoption_exit_threshold"),
    ("expansion_exit_seat_ratio", "<=", "expansion_seat_ratio"),
    ("expansion_exit_usage_ratio", "<=", "expansion_usage_ratio"),
)


class SegmentRules(BaseModel):
    """Defaults from the playbook table of docs/DESIGN.md ("Playbooks")."""

    model_config = ConfigDict(**STRICT, json_schema_extra=ordered(EXITS_INSIDE_ENTERS))

    at_risk_due_hours: Annotated[float, Field(gt=0, le=24 * 3650)] = 24
    # red enters; leaving takes a band other than red and this score (red < 40, + 5)
    at_risk_exit_score: Points = 45
    score_drop_points: Points = 20
    # an open drop clears once the drop over the window is under this (half recovered)
    score_drop_exit_points: Points = 10
    score_drop_window_days: Days = 7
    score_drop_due_days: Days = 3
    adoption_threshold: Points = 40
    adoption_exit_threshold: Points = 45
    adoption_min_age_days: Days = 30
    adoption_due_days: Days = 7
    renewal_window_days: Days = 90
    expansion_seat_ratio: Annotated[float, Field(gt=0, le=1)] = 0.9
    expansion_exit_seat_ratio: Annotated[float, Field(gt=0, le=1)] = 0.8
    expansion_usage_ratio: Annotated[float, Field(gt=1, le=1000)] = 1.3
    expansion_exit_usage_ratio: Annotated[float, Field(gt=1, le=1000)] = 1.15
    # usage growth counts only with this many users active: a few users' weeks swing it by half
    expansion_usage_min_users: Annotated[int, Field(ge=0, le=100_000), WHOLE] = 10
    # ... and a full baseline (14 days against the 28 before): younger data reads as growth
    expansion_usage_min_history_days: Days = 42
    expansion_due_days: Days = 14
    onboarding_days: Days = 30
    stalled_due_days: Days = 3

    @model_validator(mode="after")
    def _exits_inside_enters(self) -> SegmentRules:
        """An exit threshold on the far side of its enter threshold would flap by design."""
        wrong = out_of_order(self.__dict__, EXITS_INSIDE_ENTERS)
        if wrong:
            raise ValueError(f"exit thresholds beyond their enter thresholds: {wrong}")
        return self


class Timing(BaseModel):
    """How long a condition must hold before its playbook opens, and the pause after."""

    model_config = STRICT

    dwell_hours: Hours = 0  # event time the condition must hold continuously
    cooldown_hours: Hours = 0  # after a resolve, no new episode of the playbook before this
    exit_dwell_hours: Hours = 0  # once holding, off this long before it clears


def default_timing() -> dict[str, Timing]:
    """A steady account opens ``expansion`` or ``score_drop`` at most once a month.

    Unambiguous facts (red band, renewal date, subscription start) open at once:
    a dwell would push ``at_risk`` past its 24 h meaning or make a renewal late.
    """
    return {
        "at_risk": Timing(),  # hysteresis (exit score) already keeps it from flapping
        "score_drop": Timing(cooldown_hours=30 * 24),
        "adoption": Timing(dwell_hours=24, cooldown_hours=14 * 24),
        "renewal": Timing(),
        # no entry dwell: its signals are already windows (seats active in 30 days, usage
        # over 7 days against a baseline), and in a catch-up its facts are often read
        # hours before the end though they held for weeks. A few days off before it clears.
        "expansion": Timing(cooldown_hours=30 * 24, exit_dwell_hours=72),
        "onboarding": Timing(),
        "onboarding_stalled": Timing(),
    }


class PlaybookConfig(BaseModel):
    model_config = STRICT

    version: Label = "1"
    # episodes open only for a state (health as_of, or the clock's time) this recent
    horizon_hours: Annotated[float, Field(gt=0, le=24 * 365)] = 24
    timing: dict[str, Timing] = Field(
        default_factory=default_timing, json_schema_extra=keys_among(PLAYBOOKS)
    )
    enabled: dict[str, bool] = Field(
        default_factory=lambda: dict.fromkeys(PLAYBOOKS, True),
        json_schema_extra=keys_among(PLAYBOOKS),
    )
    segments: dict[str, SegmentRules] = Field(
        default_factory=lambda: {
            "enterprise": SegmentRules(renewal_window_days=180),
            "mid_market": SegmentRules(),
            "smb": SegmentRules(),
            "self_serve": SegmentRules(),
        },
        json_schema_extra=keys_exactly(SEGMENTS),
    )

    @model_validator(mode="after")
    def _complete(self) -> PlaybookConfig:
        if set(self.enabled) - set(PLAYBOOKS):
            raise ValueError(
                f"unknown playbook in enabled: {sorted(set(self.enabled) - set(PLAYBOOKS))}"
            )
        if set(self.timing) - set(PLAYBOOKS):
            raise ValueError(
                f"unknown playbook in timing: {sorted(set(self.timing) - set(PLAYBOOKS))}"
            )
        if set(self.segments) != set(SEGMENTS):
            raise ValueError(f"segments must name exactly {', '.join(SEGMENTS)}")
        return self

    def rules_for(self, segment: str) -> SegmentRules:
        return self.segments.get(segment, self.segments["smb"])

    def timing_of(self, playbook: str) -> Timing:
        return self.timing.get(playbook) or default_timing().get(playbook, Timing())

    def is_enabled(self, playbook: str) -> bool:
        return self.enabled.get(playbook, True)

    @property
    def rules_version(self) -> str:
        canonical = orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        return f"{self.version}+{hashlib.sha256(canonical).hexdigest()[:8]}"
