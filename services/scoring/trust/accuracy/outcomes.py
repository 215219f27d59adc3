"""Outcomes: an account churned or renewed on a date. Pure.

Derived from what scoring already knows of an account (its cancellation, a
renewal date that passed while the subscription ran) or given from outside
(a CRM) through ``POST /v1/outcomes``. Idempotent by (account, kind, date),
and by the caller's ``id`` when one is given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from shared.contracts.fields import EARLIEST, LATEST, MAX_ID_LENGTH

Kind = Literal["churn", "renewal"]


@dataclass(frozen=True, slots=True)
class Outcome:
    account_id: str
    kind: Kind
    on: date
    source: str  # payment | renewal_date | api
    external_id: str | None = None

    @property
    def churned(self) -> bool:
        return self.kind == "churn"


# The API's own field types, exactly what their JSON Schema says (the OpenAPI must
# not promise less than is refused, nor refuse what it allows): an id as ingest
# stores it (no surrounding whitespace, no NUL: never stripped here), a plain
# YYYY-MM-DD date in the contracts' window (2000-01-01 to 2099-12-31).
_EDGE = r"[^\x00\t\n\v\f\r ]"
_ID_PATTERN = rf"^{_EDGE}([^\x00]*{_EDGE})?$"
_DAY_PATTERN = r"^20[0-9]{2}-[0-9]{2}-[0-9]{2}$"
assert EARLIEST.year == 2000 and LATEST.year == 2100  # what _DAY_PATTERN states
ApiId = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH, pattern=_ID_PATTERN)
]


def _day(value: Any) -> date:
    if not isinstance(value, str) or re.fullmatch(_DAY_PATTERN, value) is None:
        raise PydanticCustomError("invalid_value", "must be a date YYYY-MM-DD from 2000 to 2099")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError(
            "invalid_value", "is not a calendar day: {v}", {"v": value}
        ) from None


ApiDay = Annotated[
    date,
    BeforeValidator(_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": _DAY_PATTERN}),
]


class OutcomeIn(BaseModel):
    """One label from outside; ``id`` makes a retried POST count once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: ApiId
    kind: Kind
    date: ApiDay
    id: ApiId | None = None

    def to_outcome(self) -> Outcome:
        return Outcome(self.account_id, self.kind, self.date, "api", self.id)


# A full batch of ordinary labels (~100 bytes each) fits the default 64 KiB body
# cap, so the cap (413) and maxItems (422) each refuse what they say they refuse;
# 5000 was unreachable under the cap. Larger label sets go in several POSTs.
MAX_OUTCOMES_PER_POST = 500


class OutcomeBatch(BaseModel):
    """At most 500 labels, and a body within VIGIL_HTTP_MAX_BODY_BYTES (64 KiB by default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcomes: Annotated[list[OutcomeIn], Field(min_length=1, max_length=MAX_OUTCOMES_PER_POST)]


def derived_outcomes(
    account_id: str,
    *,
    canceled_at: datetime | None,
    renewal_at: date | None,
    as_of: datetime,
) -> list[Outcome]:
    """What an account's facts at ``as_of`` say happened.

    A cancellation is a churn on its date. A renewal date that has passed with
    no cancellation on or before it is a renewal on that date.
    """
    found: list[Outcome] = []
    if canceled_at is not None and canceled_at <= as_of:
        found.append(Outcome(account_id, "churn", canceled_at.date(), "payment"))
    if renewal_at is not None and renewal_at <= as_of.date():
        canceled_before = canceled_at is not None and canceled_at.date() <= renewal_at
        if not canceled_before:
            found.append(Outcome(account_id, "renewal", renewal_at, "renewal_date"))
    return found


@dataclass(frozen=True, slots=True)
class RenewalUpdate:
    """A subscription event that sets the renewal date (a renewal moves it forward)."""

    account_id: str
    at: datetime
    renewal_at: date


def renewals_from_updates(
    previous: Mapping[str, tuple[date | None, datetime | None]], updates: Sequence[RenewalUpdate]
) -> list[Outcome]:
    """A renewal date moved forward on or after it passed, not canceled by then: renewed.

    ``previous`` holds each account's renewal date and cancellation before the
    batch; updates in one batch chain in event-time order, each replacing the
    date as ``fold`` stores it, so one batch finds what separate batches would.
    """
    known = dict(previous)
    found: list[Outcome] = []
    for update in sorted(updates, key=lambda u: (u.account_id, u.at)):
        renewal, canceled = known.get(update.account_id, (None, None))
        if renewal is not None and _renewed(renewal, canceled, update):
            found.append(Outcome(update.account_id, "renewal", renewal, "payment"))
        # as the fold does: the update overwrites the date, even an earlier one
        known[update.account_id] = (update.renewal_at, canceled)
    return found


def _renewed(renewal: date, canceled: datetime | None, update: RenewalUpdate) -> bool:
    """Moved forward on or after the old date, with no cancellation on or before it."""
    moved = renewal <= update.at.date() < update.renewal_at
    return moved and (canceled is None or canceled.date() > renewal)
