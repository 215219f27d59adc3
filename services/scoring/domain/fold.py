"""How a batch of signals folds into per-table row changes. Pure.

Each list holds one row per primary key, already merged within the batch;
the repository upserts them set-based and merges with what is stored using
order-independent rules (sums, min/max, latest event time wins, ties broken by
event id), so replaying the same events gives the same state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from services.scoring.domain.account_state import rollup_key
from services.scoring.domain.attributes import Stamped, stamp, subscription_attributes
from services.scoring.domain.signal_decode import ScoringSignal


@dataclass
class AccountRow:
    account_id: str
    first_seen_at: datetime
    last_event_at: datetime
    # subscription facts: the latest subscription_* event (by event time) wins
    subscription_at: datetime | None = None
    subscription_event: str | None = None
    arr: Decimal | None = None
    seats: int | None = None
    plan: str | None = None
    currency: str | None = None
    renewal_at: date | None = None
    started_at: datetime | None = None
    canceled_at: datetime | None = None
    downgraded_at: datetime | None = None
    # extra fields of subscription events: per name, the latest event carrying it wins
    attributes: dict[str, Stamped] = field(default_factory=dict)

    @property
    def attributes_json(self) -> str | None:
        """``attributes`` as the ``accounts.attributes`` column stores them (None: no change)."""
        return orjson.dumps(self.attributes).decode() if self.attributes else None


@dataclass
class TicketRow:
    account_id: str
    ticket_id: str
    status: str
    severity: str | None
    severity_at: datetime | None
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    reopens: int


@dataclass
class InvoiceRow:
    account_id: str
    invoice_id: str
    status: str
    amount: Decimal | None
    due_at: datetime | None
    updated_at: datetime


DayKey = tuple[str, date]  # account, event-time UTC day


@dataclass
class BatchChanges:
    """The row changes one batch of new (not yet applied) signals makes."""

    accounts: dict[str, AccountRow] = field(default_factory=dict)
    activity: dict[tuple[str, date], list[float]] = field(default_factory=dict)
    users: dict[tuple[str, str], list[datetime]] = field(default_factory=dict)
    features: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    tickets: dict[tuple[str, str], TicketRow] = field(default_factory=dict)
    invoices: dict[tuple[str, str], InvoiceRow] = field(default_factory=dict)
    failures: list[tuple[str, str, datetime, str | None]] = field(default_factory=list)
    responses: list[tuple[str, str, str, int, datetime]] = field(default_factory=list)
    # per account and day, rollup_key(source, type, feature, detail) -> [events, quantity]
    rollups: dict[DayKey, dict[str, list[float]]] = field(default_factory=dict)
    # per account and day, user_key(usage type, user) -> 1: the users active that day
    user_days: dict[DayKey, dict[str, int]] = field(default_factory=dict)


def fold_signals(signals: Iterable[ScoringSignal]) -> BatchChanges:
    """Merge a batch of signals into row changes, in event-time order."""
    changes = BatchChanges()
    for signal in fold_order(signals):
        fold_one(changes, signal)
    return changes


def fold_order(signals: Iterable[ScoringSignal]) -> list[ScoringSignal]:
    """The order :func:`fold_signals` folds in (``fold_one`` over it, a slice at a time,
    gives the same changes)."""
    return sorted(signals, key=lambda s: (s.occurred_at, s.event_id))


def fold_one(changes: BatchChanges, signal: ScoringSignal) -> None:
    _touch_account(changes, signal)
    FOLDERS[signal.source](changes, signal)


def _touch_account(changes: BatchChanges, s: ScoringSignal) -> None:
    row = changes.accounts.get(s.account_id)
    if row is None:
        changes.accounts[s.account_id] = AccountRow(s.account_id, s.occurred_at, s.occurred_at)
    else:
        row.first_seen_at = min(row.first_seen_at, s.occurred_at)
        row.last_event_at = max(row.last_event_at, s.occurred_at)


def _roll(changes: BatchChanges, day: DayKey, key: str, quantity: float) -> None:
    """Count the event in its day's rollup; the keys are the stored JSON's (one string,
    built once per event: a tuple regrouped and joined at write time cost more)."""
    counts = changes.rollups.get(day)
    if counts is None:
        counts = changes.rollups[day] = {}
    bucket = counts.get(key)
    if bucket is None:
        counts[key] = [1, quantity]
    else:
        bucket[0] += 1
        bucket[1] += quantity


def _fold_usage(changes: BatchChanges, s: Any) -> None:
    day = s.occurred_at.date()
    bucket = changes.activity.setdefault((s.account_id, day), [0.0, 0.0])
    bucket[0] += 1
    bucket[1] += float(s.quantity)
    key = (s.account_id, day)
    _roll(changes, key, f"usage\t{s.type}\t{s.feature}\t", float(s.quantity))
    users = changes.user_days.get(key)
    if users is None:
        users = changes.user_days[key] = {}
    users[f"{s.type}\t{s.user_id}"] = 1
    seen = changes.users.setdefault((s.account_id, s.user_id), [s.occurred_at, s.occurred_at])
    seen[1] = s.occurred_at
    feature = changes.features.setdefault(
        (s.account_id, s.feature), [s.occurred_at, s.occurred_at, 0]
    )
    feature[1] = s.occurred_at
    feature[2] += 1


def _fold_ticket(changes: BatchChanges, s: Any) -> None:
    quantity = float(s.csat) if s.csat is not None else 0.0
    day = (s.account_id, s.occurred_at.date())
    _roll(changes, day, rollup_key("ticket", s.type, "", s.severity or ""), quantity)
    if s.type == "satisfaction_rated":
        changes.responses.append(
            (s.account_id, s.event_id, "ticket_csat", int(s.csat), s.occurred_at)
        )
        return
    key = (s.account_id, s.ticket_id)
    row = changes.tickets.get(key)
    if row is None:
        row = changes.tickets[key] = TicketRow(
            s.account_id, s.ticket_id, "open", None, None, s.occurred_at, s.occurred_at, None, 0
        )
    row.updated_at = s.occurred_at
    if s.severity is not None:
        row.severity, row.severity_at = s.severity, s.occurred_at
    if s.type in ("opened", "updated"):
        row.status = "open"
    elif s.type == "reopened":
        row.status = "open"
        row.reopens += 1
    else:  # resolved, closed
        row.status = "resolved"
        row.resolved_at = s.occurred_at


def _fold_payment(changes: BatchChanges, s: Any) -> None:
    amount = float(s.amount) if s.amount is not None else 0.0
    day = (s.account_id, s.occurred_at.date())
    _roll(changes, day, rollup_key("payment", s.type, "", ""), amount)
    if s.type.startswith("subscription_"):
        row = changes.accounts[s.account_id]
        row.subscription_at = s.occurred_at
        row.subscription_event = s.type
        if s.arr is not None and row.arr is not None and s.arr < row.arr:
            row.downgraded_at = s.occurred_at
        row.arr = s.arr if s.arr is not None else row.arr
        row.seats = s.seats if s.seats is not None else row.seats
        row.plan = s.plan or row.plan
        row.currency = s.currency or row.currency
        row.renewal_at = s.renewal_at or row.renewal_at
        # folded in event-time order: a later event's value replaces an earlier one's
        row.attributes.update(stamp(subscription_attributes(s.model_extra), s.occurred_at))
        if s.type == "subscription_started":
            row.started_at = s.occurred_at
            row.canceled_at = None
        elif s.type == "subscription_canceled":
            row.canceled_at = s.occurred_at
        return
    if s.type == "payment_failed":
        changes.failures.append((s.account_id, s.event_id, s.occurred_at, s.invoice_id))
    if s.invoice_id and s.type in INVOICE_STATUS:
        changes.invoices[(s.account_id, s.invoice_id)] = InvoiceRow(
            s.account_id,
            s.invoice_id,
            INVOICE_STATUS[s.type],
            s.amount,
            _as_datetime(s.due_at),
            s.occurred_at,
        )


def _fold_survey(changes: BatchChanges, s: Any) -> None:
    day = (s.account_id, s.occurred_at.date())
    _roll(changes, day, rollup_key("survey", s.type, "", ""), float(s.score))
    changes.responses.append((s.account_id, s.event_id, s.type, int(s.score), s.occurred_at))


def _as_datetime(value: date | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    from datetime import UTC, time

    return datetime.combine(value, time(), tzinfo=UTC)


INVOICE_STATUS = {
    "invoice_paid": "paid",
    "payment_failed": "failed",
    "invoice_overdue": "overdue",
    "refund_issued": "refunded",
}

FOLDERS = {
    "usage": _fold_usage,
    "ticket": _fold_ticket,
    "payment": _fold_payment,
    "survey": _fold_survey,
}
