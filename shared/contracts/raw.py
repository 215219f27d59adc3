"""Raw events, one model per topic (contract v1 of docs/DESIGN.md, "Event contracts").

Extra fields are kept (they travel on to ``signals``) but ignored. Strings
are strict: a number where an id belongs is an error, not a conversion.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator
from pydantic_core import PydanticCustomError

from shared.contracts.fields import CanonicalName, Day, Id, Money, Timestamp

Quantity = Annotated[float, Field(strict=True, gt=0)]
SUPPORTED_SCHEMA_VERSIONS = (1,)


class RawEvent(BaseModel):
    """What every raw event carries."""

    model_config = ConfigDict(extra="allow", frozen=True)

    event_id: Id
    account_id: Id
    occurred_at: Timestamp
    type: CanonicalName
    schema_version: StrictInt = 1

    @model_validator(mode="after")
    def _known_version(self) -> RawEvent:
        if self.schema_version not in SUPPORTED_SCHEMA_VERSIONS:
            raise PydanticCustomError(
                "unsupported_schema_version",
                "schema_version {v} is not supported (supported: 1)",
                {"v": self.schema_version},
            )
        return self


class UsageEvent(RawEvent):
    """``usage.events``: anything a user did in the product."""

    user_id: Id
    feature: CanonicalName | None = None
    quantity: Quantity = 1.0

    @model_validator(mode="after")
    def _default_feature(self) -> UsageEvent:
        if self.feature is None:
            object.__setattr__(self, "feature", self.type)
        return self


TicketType = Literal["opened", "updated", "resolved", "reopened", "closed", "satisfaction_rated"]
Severity = Literal["low", "normal", "high", "urgent"]


class TicketEvent(RawEvent):
    """``ticket.events``: the life of a support ticket."""

    type: TicketType
    ticket_id: Id
    severity: Severity | None = None
    csat: Annotated[StrictInt, Field(ge=1, le=5)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _canonical_type(cls, data: Any) -> Any:
        return _canonicalize_type(data)

    @model_validator(mode="after")
    def _csat_when_rated(self) -> TicketEvent:
        if self.type == "satisfaction_rated" and self.csat is None:
            raise PydanticCustomError("missing", "csat is required on satisfaction_rated")
        return self


PaymentType = Literal[
    "subscription_started",
    "subscription_updated",
    "subscription_canceled",
    "invoice_paid",
    "payment_failed",
    "invoice_overdue",
    "refund_issued",
]


class PaymentEvent(RawEvent):
    """``payment.events``: subscriptions, invoices and payments."""

    type: PaymentType
    arr: Money | None = None
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Za-z]{3}$")] | None = None
    seats: Annotated[StrictInt, Field(ge=0)] | None = None
    plan: Id | None = None
    renewal_at: Day | None = None
    invoice_id: Id | None = None
    amount: Money | None = None
    due_at: Day | None = None

    @model_validator(mode="before")
    @classmethod
    def _canonical_type(cls, data: Any) -> Any:
        return _canonicalize_type(data)

    @model_validator(mode="after")
    def _upper_currency(self) -> PaymentEvent:
        if self.currency is not None:
            object.__setattr__(self, "currency", self.currency.upper())
        return self


SurveyType = Literal["nps", "csat", "ces"]
SCORE_RANGES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


class SurveyEvent(RawEvent):
    """``survey.events``: NPS, CSAT and CES answers."""

    type: SurveyType
    score: StrictInt
    user_id: Id | None = None
    comment: StrictStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _canonical_type(cls, data: Any) -> Any:
        return _canonicalize_type(data)

    @model_validator(mode="after")
    def _score_in_range(self) -> SurveyEvent:
        low, high = SCORE_RANGES[self.type]
        if not low <= self.score <= high:
            raise PydanticCustomError(
                "invalid_value",
                "score of a {kind} answer must be between {low} and {high}, got {score}",
                {"kind": self.type, "low": low, "high": high, "score": self.score},
            )
        return self


def _canonicalize_type(data: Any) -> Any:
    """Enum-typed ``type`` fields are matched after canonicalization ("Opened " -> "opened")."""
    if isinstance(data, dict) and isinstance(data.get("type"), str):
        data = dict(data)
        data["type"] = "_".join(data["type"].strip().lower().replace("-", " ").split())
    return data


RAW_EVENT_MODELS: dict[str, type[RawEvent]] = {
    "usage": UsageEvent,
    "ticket": TicketEvent,
    "payment": PaymentEvent,
    "survey": SurveyEvent,
}
