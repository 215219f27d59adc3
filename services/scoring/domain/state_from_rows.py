"""Rows of the state tables -> ``AccountState`` (pure mapping, no queries)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from services.scoring.domain.account_state import (
    AccountRow,
    AccountState,
    OpenTicket,
    OverdueInvoice,
    Response,
)
from services.scoring.domain.attributes import latest_values
from services.scoring.domain.rollup_index import StoredRollups, StoredUserDays

Rows = Mapping[str, list[Any]]


def build_state(account: AccountRow, related: Mapping[str, Rows]) -> AccountState:
    """One account's state from its ``accounts`` row and its rows of the other tables.

    The other tables' rows are read by column name (asyncpg records, or mappings).
    """
    a = account.account_id
    activity = related["activity"].get(a, [])
    responses = related["responses"].get(a, [])
    tickets = related["tickets"].get(a, [])
    invoices = related["invoices"].get(a, [])
    rollups, user_days = decode_rollups(related.get("rollups", {}).get(a, []))
    return AccountState(
        account_id=a,
        first_seen_at=account.first_seen_at,
        arr=account.arr,
        seats=account.seats,
        plan=account.plan,
        attributes=latest_values(account.attributes),
        started_at=account.started_at,
        renewal_at=account.renewal_at,
        canceled_at=account.canceled_at,
        last_downgrade_at=account.last_downgrade_at,
        first_value_at=account.first_value_at,
        daily_activity={r["day"]: (r["events"], r["quantity"]) for r in activity},
        user_last_seen={r["user_id"]: r["last_seen_at"] for r in related["users"].get(a, [])},
        feature_last_used={r["feature"]: r["last_used_at"] for r in related["features"].get(a, [])},
        open_tickets=tuple(
            OpenTicket(t["severity"] or "normal", t["opened_at"], t["reopen_count"])
            for t in tickets
            if t["status"] == "open"
        ),
        tickets_updated=tuple(t["updated_at"] for t in tickets),
        reopens_recent=sum(t["reopen_count"] for t in tickets),
        responses=tuple(Response(r["kind"], r["score"], r["at"]) for r in responses),
        payment_failures=tuple(r["failed_at"] for r in related["failures"].get(a, [])),
        overdue_invoices=tuple(
            OverdueInvoice(i["invoice_id"], i["overdue_at"] or i["due_at"] or i["updated_at"])
            for i in invoices
            if i["status"] in ("overdue", "failed") and (i["overdue_at"] or i["due_at"]) is not None
        ),
        invoices_paid=tuple(i["paid_at"] for i in invoices if i["paid_at"] is not None),
        score_history=tuple((r["as_of"], r["score"]) for r in related["history"].get(a, [])),
        rollups=rollups,
        user_days=user_days,
    )


def decode_rollups(days: list[Any]) -> tuple[StoredRollups, StoredUserDays]:
    """The stored days' rollups and users' days (JSON objects, see ``decode_day``)."""
    stored = [(row["day"], _json(row["counts"]), _json(row["users"])) for row in days]
    return StoredRollups(stored), StoredUserDays(stored)


def _json(value: str) -> dict[str, Any]:
    """A day's counts or users: a JSON object stored as text (migration 0017)."""
    loaded: dict[str, Any] = orjson.loads(value)
    return loaded
