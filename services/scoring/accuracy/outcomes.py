"""Outcomes: an account churned or renewed on a date. Pure.

Derived from what scoring already knows of an account (its cancellation, a
renewal date that passed while the subscription ran) or given from outside
(a CRM) through ``POST /v1/outcomes``. Idempotent by (account, kind, date),
and by the caller's ``id`` when one is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.fields import Day, Id

Kind = Literal["churn", "renewal"]
KINDS: tuple[Kind, ...] = ("churn", "renewal")


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


class OutcomeIn(BaseModel):
    """One label from outside; ``id`` makes a retried POST count once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: Id
    kind: Kind
    date: Day
    id: Annotated[str | None, Field(min_length=1, max_length=128)] = None

    def to_outcome(self) -> Outcome:
        return Outcome(self.account_id, self.kind, self.date, "api", self.id)


class OutcomeBatch(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    outcomes: Annotated[list[OutcomeIn], Field(min_length=1, max_length=5000)]


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
