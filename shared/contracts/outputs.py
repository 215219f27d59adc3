"""What Vigil publishes: ``health.changes``, ``playbook.events``, ``ingest.dlq``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.fields import Id, Timestamp

Band = Literal["green", "yellow", "red"]
# A scorecard names its own segments and playbooks; the built-in ones (enterprise,
# mid_market, smb, self_serve; at_risk, score_drop, ...) are names of this shape.
NAME_PATTERN = "^[a-z][a-z0-9_]{0,63}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
Segment = Name
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
    "playbook_signals",
]
Playbook = Name


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
    # seat use (``expansion``); None in changes published before it existed
    active_users_30d: int | None = None
    usage_ratio_to_baseline: float | None = None
    # usage growth (``expansion``): 14 days against the 4 weeks before; None as above
    usage_ratio_14d_to_baseline: float | None = None


class AppliedOverride(BaseModel):
    """An override in force when the change was scored (an extension of v1)."""

    model_config = ConfigDict(frozen=True)

    override_id: str
    kind: Literal["pin_band", "adjust_score", "adjust_component"]
    band: Band | None = None
    delta: Annotated[float, Field(ge=-100, le=100)] | None = None
    component: str | None = None
    reason: str
    expires_at: Timestamp
    created_at: Timestamp | None = None
    created_by: str


class MeasureExplanation(BaseModel):
    """A measure's value (None without data) and the points it maps to (None: renormalized away)."""

    model_config = ConfigDict(frozen=True)

    value: float | None
    points: float | None


class ComponentExplanation(BaseModel):
    """A component's value (None without data) and its weight in the account's segment."""

    model_config = ConfigDict(frozen=True)

    value: float | None
    weight: float


class CapExplanation(BaseModel):
    """A risk flag that capped the score; ``effect`` = score after the cap - score before (<= 0)."""

    model_config = ConfigDict(frozen=True)

    flag: str
    cap: float
    effect: Annotated[float, Field(le=0)]


class Explanation(BaseModel):
    """Enough to recompute a score by hand (an extension of v1).

    The score is ``weighted_mean`` (the components with data, each by its weight,
    renormalized) plus each cap's ``effect`` in order; ``weighted_mean`` is None
    when no component had data (the score is then the neutral 50).
    """

    model_config = ConfigDict(frozen=True)

    scorecard_version: str
    segment: str
    measures: dict[str, MeasureExplanation]
    components: dict[str, ComponentExplanation]
    weighted_mean: float | None
    caps: list[CapExplanation]


class HealthChange(BaseModel):
    """One published change of an account's health (or of its playbook facts).

    ``revision`` (extends v1, optional) grows by one with each change scoring
    publishes for the account. Scoring may correct a judgement at the same
    ``as_of`` after folding late-read events; consumers apply a change iff its
    revision is greater than the last one they applied, and order by ``as_of``
    only for changes without one. A re-sent change keeps its revision.
    """

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
    revision: Annotated[int, Field(ge=1)] | None = None
    # Overrides (extend v1, optional): present when an override is in force or has just
    # ended. ``score``/``band`` are then the overridden ones and these the model's own;
    # ``overrides`` is empty on the change that returns to the model's score.
    model_score: Score | None = None
    model_band: Band | None = None
    overrides: list[AppliedOverride] | None = None
    # How the model's score was reached (extends v1, optional; absent before it existed).
    explanation: Explanation | None = None


class HealthAtEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    score: Score
    band: Band
    components: dict[str, Score | None]


# ``triggered`` and ``resolved`` are the rules'; the others (an extension of v1) are an
# episode's lifecycle in the hands of a person or a tool, and the end of a snooze.
PlaybookEventKind = Literal[
    "triggered", "resolved", "acknowledged", "assigned", "snoozed", "snooze_ended", "closed"
]
Resolution = Literal["actioned", "not_useful", "false_alarm"]


class PlaybookEvent(BaseModel):
    """An episode's event. ``health`` is the account's at the rule's evaluation for
    ``triggered``/``resolved``, and at the episode's opening for lifecycle events.

    Lifecycle events (extending v1, absent on the rules' events) say ``by`` whom (the
    token's role and fingerprint) and what changed: ``owner``, ``snoozed_until``,
    ``resolution`` and ``note``.
    """

    model_config = ConfigDict(frozen=True)

    event_id: Id
    kind: PlaybookEventKind
    account_id: Id
    playbook: Playbook
    episode_id: Id
    at: Timestamp
    due_by: Timestamp | None
    reason: str
    segment: Segment
    health: HealthAtEvent
    by: str | None = None
    owner: str | None = None
    snoozed_until: Timestamp | None = None
    resolution: Resolution | None = None
    note: str | None = None
    # a custom playbook's static payload (an extension of v1, absent on the built-ins')
    payload: dict[str, str | bool | float] | None = None


class DlqReason(BaseModel):
    code: str
    message: str


class DlqRecord(BaseModel):
    """A dead letter; bounded in size (``shared.consumer.dead_letter``).

    ``stage``, ``payload_bytes``, ``payload_sha256`` and ``payload_truncated``
    extend v1 compatibly: ``payload`` holds at most the first 64 KiB of the
    original bytes; the size and hash identify the whole. ``attempt`` (also an
    extension) is 1 for a first failure and counts up when a redrive
    (``shared.dlq``) sent the record back through its stage and it failed again.
    """

    reason: DlqReason
    source_topic: str
    partition: int
    offset: int
    received_at: Timestamp
    payload: str
    payload_encoding: Literal["utf-8", "base64"]
    stage: Literal["ingest", "scoring", "triggers"] = "ingest"
    payload_bytes: Annotated[int, Field(ge=0)] | None = None
    payload_sha256: Annotated[str, Field(pattern="^[0-9a-f]{64}$")] | None = None
    payload_truncated: bool = False
    attempt: Annotated[int, Field(ge=1)] = 1
