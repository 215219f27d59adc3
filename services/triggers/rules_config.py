"""Playbook parameters per segment: versioned, validated, stored in PostgreSQL."""

from __future__ import annotations

import hashlib
from typing import Annotated

import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator

PLAYBOOKS = (
    "at_risk",
    "score_drop",
    "adoption",
    "renewal",
    "expansion",
    "onboarding",
    "onboarding_stalled",
)
SEGMENTS = ("enterprise", "mid_market", "smb", "self_serve")
Days = Annotated[float, Field(gt=0, le=3650)]


class SegmentRules(BaseModel):
    """Defaults from the playbook table of docs/DESIGN.md ("Playbooks")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at_risk_due_hours: Annotated[float, Field(gt=0)] = 24
    score_drop_points: Annotated[float, Field(gt=0, le=100)] = 20
    score_drop_window_days: Days = 7
    score_drop_due_days: Days = 3
    adoption_threshold: Annotated[float, Field(gt=0, le=100)] = 40
    adoption_min_age_days: Days = 30
    adoption_due_days: Days = 7
    renewal_window_days: Days = 90
    expansion_seat_ratio: Annotated[float, Field(gt=0, le=1)] = 0.9
    expansion_usage_ratio: Annotated[float, Field(gt=1)] = 1.3
    expansion_due_days: Days = 14
    onboarding_days: Days = 30
    stalled_due_days: Days = 3


class PlaybookConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = "1"
    enabled: dict[str, bool] = Field(default_factory=lambda: dict.fromkeys(PLAYBOOKS, True))
    segments: dict[str, SegmentRules] = Field(
        default_factory=lambda: {
            "enterprise": SegmentRules(renewal_window_days=180),
            "mid_market": SegmentRules(),
            "smb": SegmentRules(),
            "self_serve": SegmentRules(),
        }
    )

    @model_validator(mode="after")
    def _complete(self) -> PlaybookConfig:
        if set(self.enabled) - set(PLAYBOOKS):
            raise ValueError(
                f"unknown playbook in enabled: {sorted(set(self.enabled) - set(PLAYBOOKS))}"
            )
        if set(self.segments) != set(SEGMENTS):
            raise ValueError(f"segments must name exactly {', '.join(SEGMENTS)}")
        return self

    def rules_for(self, segment: str) -> SegmentRules:
        return self.segments.get(segment, self.segments["smb"])

    def is_enabled(self, playbook: str) -> bool:
        return self.enabled.get(playbook, True)

    @property
    def rules_version(self) -> str:
        canonical = orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        return f"{self.version}+{hashlib.sha256(canonical).hexdigest()[:8]}"
