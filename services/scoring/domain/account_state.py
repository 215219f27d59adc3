"""What the health model reads about one account: plain frozen data, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple, Protocol


@dataclass(frozen=True, slots=True)
class OpenTicket:
    severity: str
    opened_at: datetime
    reopen_count: int = 0


@dataclass(frozen=True, slots=True)
class Response:
    """A survey answer or a ticket satisfaction rating."""

    kind: str  # nps | csat | ces | ticket_csat
    score: int
    at: datetime


@dataclass(frozen=True, slots=True)
class OverdueInvoice:
    invoice_id: str
    overdue_since: datetime


class Rollup(NamedTuple):
    """One day's events of one (source, type, feature, detail): ``detail`` is a ticket
    event's severity, ``feature`` a usage event's feature, both "" elsewhere; ``quantity``
    sums usage quantity, ticket satisfaction, payment amount or survey score."""

    day: date
    source: str
    type: str
    feature: str
    detail: str
    events: int
    quantity: float


class UserDay(NamedTuple):
    """A user was active on ``day`` with usage of ``type``."""

    day: date
    type: str
    user_id: str


# the stored keys of a day's rollups and users: fields joined by a tab, which none holds
# (types and features are canonical names, the rest closed lists; a user id comes last)
SEP = "\t"


def rollup_key(source: str, kind: str, feature: str, detail: str) -> str:
    return f"{source}{SEP}{kind}{SEP}{feature}{SEP}{detail}"


def decode_day(
    day: date, counts: Mapping[str, Sequence[float]], users: Iterable[str]
) -> tuple[list[Rollup], list[UserDay]]:
    """One stored day's rollups and users' days, from their keys."""
    rollups = []
    for key, (events, quantity) in counts.items():
        source, kind, feature, detail = key.split(SEP)
        rollups.append(Rollup(day, source, kind, feature, detail, int(events), quantity))
    active = [UserDay(day, *key.split(SEP, 1)) for key in users]
    return rollups, active


@dataclass(frozen=True, slots=True)
class StateNeeds:
    """What a model reads beyond the state every model gets: the rollups, the users'
    active days, and how many days back those (``rollup_days``) and the timestamped
    tables (``state_days``, beyond the default window) must reach."""

    rollups: bool = False
    user_days: bool = False
    rollup_days: int = 0
    state_days: int = 0

    def __or__(self, other: StateNeeds) -> StateNeeds:
        return StateNeeds(
            self.rollups or other.rollups,
            self.user_days or other.user_days,
            max(self.rollup_days, other.rollup_days),
            max(self.state_days, other.state_days),
        )


NO_NEEDS = StateNeeds()


@dataclass(frozen=True)
class AccountState:
    """One account's rolling state; windows are evaluated against an ``as_of`` time.

    ``daily_activity`` maps an event-time UTC day to (events, quantity);
    ``user_last_seen`` and ``feature_last_used`` hold the latest use of each.
    ``rollups`` and ``user_days`` are loaded only for a model that reads them
    (``StateNeeds``); empty otherwise.
    """

    account_id: str
    first_seen_at: datetime
    arr: Decimal | None = None
    seats: int | None = None
    plan: str | None = None
    # extra fields of subscription events (``region`` …): what a scorecard's segments read
    attributes: Mapping[str, str | float] = field(default_factory=dict)
    started_at: datetime | None = None
    renewal_at: date | None = None
    canceled_at: datetime | None = None
    last_downgrade_at: datetime | None = None
    first_value_at: datetime | None = None
    daily_activity: Mapping[date, tuple[int, float]] = field(default_factory=dict)
    user_last_seen: Mapping[str, datetime] = field(default_factory=dict)
    feature_last_used: Mapping[str, datetime] = field(default_factory=dict)
    open_tickets: Sequence[OpenTicket] = ()
    tickets_updated: Sequence[datetime] = ()  # last update of each ticket touched recently
    reopens_recent: int = 0
    responses: Sequence[Response] = ()
    payment_failures: Sequence[datetime] = ()
    overdue_invoices: Sequence[OverdueInvoice] = ()
    invoices_paid: Sequence[datetime] = ()
    score_history: Sequence[tuple[datetime, float]] = ()
    rollups: Sequence[Rollup] = ()
    user_days: Sequence[UserDay] = ()


class AccountFacts(Protocol):
    """What an account's ``accounts`` row says of its subscription."""

    @property
    def arr(self) -> Decimal | None: ...
    @property
    def seats(self) -> int | None: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def renewal_at(self) -> date | None: ...
    @property
    def canceled_at(self) -> datetime | None: ...
    @property
    def first_value_at(self) -> datetime | None: ...


class JudgedAt(Protocol):
    """When an account was last judged, and its latest applied event."""

    @property
    def last_event_at(self) -> datetime: ...
    @property
    def scored_as_of(self) -> datetime | None: ...


class AccountRow(AccountFacts, JudgedAt, Protocol):
    """An ``accounts`` row as scoring reads it: the account's facts, its last score and
    what was last published about it (a database row, or any object with these fields)."""

    @property
    def account_id(self) -> str: ...
    @property
    def first_seen_at(self) -> datetime: ...
    @property
    def plan(self) -> str | None: ...
    @property
    def attributes(self) -> Mapping[str, Any] | None: ...
    @property
    def last_downgrade_at(self) -> datetime | None: ...
    @property
    def score(self) -> float | None: ...
    @property
    def band(self) -> str | None: ...
    @property
    def health_revision(self) -> int: ...
    @property
    def published_facts(self) -> Mapping[str, Any] | None: ...
    @property
    def overrides(self) -> Sequence[dict[str, Any]] | None: ...
