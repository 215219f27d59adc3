"""What Vigil publishes: ``health.changes``, ``playbook.events``, ``ingest.dlq``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.fields import Id, Timestamp

Band = Literal["green", "yellow", "red"]
Segment = Literal["enterprise", "mid_market", "smb", "self_serve"]
Score = Annotated[float, Field(ge=0, le=100)]
# Facts playbooks read; a health change is published when one of them changes,
# even if the score did not move (listed in ``HealthChange.facts_changed``).
Fact = Literal[
    "segment",
    "arr",
    "seats",
    "renewal_at",
    "subscription_started_at",
    "canceled",
    "first_value_at",
    "seat_use",
    "usage_trend",
]
Playbook = Literal[
    "at_risk", "score_drop", "adoption", "renewal", "expansion", "onboarding", "onboarding_stalled"
]


class AccountFacts(BaseModel):
    """Facts about the account at ``as_of`` that playbook rules need (an extension of v1)."""

    model_config = ConfigDict(frozen=True)

    arr: str | None = None
    seats: int | None = None
    renewal_at: date | None = None
    subscription_started_at: Timestamp | None = None
    canceled: bool = False
    first_value_at: Timestamp | None = None
    active_users_7d: int = 0
    usage_ratio_to_baseline: float | None = None


class HealthChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: Id
    account_id: Id
    as_of: Timestamp
    score: Score
    previous_score: Score | None
    band: Band
    previous_band: Band | None
    segment: Segment
    components: dict[str, Score | None]
    coverage: Annotated[float, Field(ge=0, le=1)]
    reasons: list[str]
    model_version: str
    # Which playbook facts differ from the previous change of this account (all
    # that are set, on its first); a change may carry an unchanged score for them.
    facts_changed: list[Fact] = Field(default_factory=list)
    account: AccountFacts = AccountFacts()


class HealthAtEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    score: Score
    band: Band
    components: dict[str, Score | None]


class PlaybookEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: Id
    kind: Literal["triggered", "resolved"]
    account_id: Id
    playbook: Playbook
    episode_id: Id
    at: Timestamp
    due_by: Timestamp | None
    reason: str
    segment: Segment
    health: HealthAtEvent


class DlqReason(BaseModel):
    code: str
    message: str


class DlqRecord(BaseModel):
    reason: DlqReason
    source_topic: str
    partition: int
    offset: int
    received_at: Timestamp
    payload: str
    payload_encoding: Literal["utf-8", "base64"]
