"""Every SQL statement of the scoring service's write path, and nothing else.

Statements are set-based (``unnest`` of parallel arrays), one per table per
batch. Functions take the caller's session and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.domain.fold import BatchChanges
from services.scoring.repository.rollups import upsert_rollups
from shared.database.engine import unnest


@dataclass(frozen=True)
class ClaimColumns:
    """The events of a batch to claim, as the statement's parallel arrays."""

    accounts: list[str]
    events: list[str]
    occurred: list[datetime]

    @classmethod
    def of(cls, keys: Iterable[tuple[str, str, datetime]]) -> ClaimColumns:
        columns = cls([], [], [])
        for account, event, at in keys:
            columns.accounts.append(account)
            columns.events.append(event)
            columns.occurred.append(at)
        return columns


async def claim_new_events(session: AsyncSession, keys: ClaimColumns) -> set[tuple[str, str]]:
    """Record (account_id, event_id, occurred_at); return the pairs never seen before."""
    if not keys.accounts:
        return set()
    # the claimed pairs come back as two arrays in one row: thousands of result rows
    # cost more to fetch one by one than the insert itself
    rows, params = unnest(
        a=("text", keys.accounts), e=("text", keys.events), t=("timestamptz", keys.occurred)
    )
    result = await session.execute(
        text(
            "WITH claimed AS (INSERT INTO applied_events (account_id, event_id, occurred_at)"
            f" SELECT * FROM {rows}"
            " ON CONFLICT DO NOTHING RETURNING account_id, event_id)"
            " SELECT array_agg(account_id), array_agg(event_id) FROM claimed"
        ),
        params,
    )
    accounts, events = result.one()
    return set(zip(accounts or (), events or (), strict=True))


async def apply_changes(session: AsyncSession, changes: BatchChanges) -> None:
    """Upsert every table a batch touched (accounts first: the rest refer to it)."""
    await _upsert_accounts(session, changes)
    await _upsert_activity(session, changes)
    await _upsert_users(session, changes)
    first_uses = await _upsert_features(session, changes)
    await _upsert_tickets(session, changes)
    await _upsert_invoices(session, changes)
    await _insert_failures_and_responses(session, changes)
    await upsert_rollups(session, changes)
    if first_uses:
        await _mark_first_value(session, sorted(first_uses))


def _columns(rows: Sequence[Any], **kinds: str) -> dict[str, tuple[str, list[Any]]]:
    """``unnest`` columns named after the rows' attributes: ``name=(type, values)``."""
    return {name: (kind, [getattr(row, name) for row in rows]) for name, kind in kinds.items()}


# the batch's accounts as ``unnest`` rows, in this order
ACCOUNT_COLUMNS = {
    "account_id": "text",
    "first_seen_at": "timestamptz",
    "last_event_at": "timestamptz",
    "subscription_at": "timestamptz",
    "subscription_event": "text",
    "arr": "numeric",
    "seats": "int",
    "plan": "text",
    "currency": "text",
    "renewal_at": "date",
    "started_at": "timestamptz",
    "canceled_at": "timestamptz",
    "downgraded_at": "timestamptz",
    "attributes_json": "text",
}

# {rows}: the ACCOUNT_COLUMNS rows
UPSERT_ACCOUNTS = """
    INSERT INTO accounts AS a (account_id, first_seen_at, last_event_at, subscription_at, arr,
        seats, plan, currency, renewal_at, started_at, canceled_at, last_downgrade_at, attributes)
    SELECT u.account_id, u.first_seen_at, u.last_event_at, u.subscription_at, u.arr, u.seats,
        u.plan, u.currency, u.renewal_at, u.started_at, u.canceled_at, u.downgraded_at,
        COALESCE(CAST(u.attributes AS jsonb), '{{}}')
    FROM {rows}
      AS u(account_id, first_seen_at, last_event_at, subscription_at, subscription_event, arr,
        seats, plan, currency, renewal_at, started_at, canceled_at, downgraded_at, attributes)
    ON CONFLICT (account_id) DO UPDATE SET
        first_seen_at = LEAST(a.first_seen_at, EXCLUDED.first_seen_at),
        last_event_at = GREATEST(a.last_event_at, EXCLUDED.last_event_at),
        last_downgrade_at = CASE
            WHEN EXCLUDED.subscription_at IS NOT NULL AND a.subscription_at IS NOT NULL
                 AND EXCLUDED.subscription_at >= a.subscription_at AND EXCLUDED.arr < a.arr
            THEN EXCLUDED.subscription_at
            ELSE COALESCE(GREATEST(a.last_downgrade_at, EXCLUDED.last_downgrade_at),
                          a.last_downgrade_at, EXCLUDED.last_downgrade_at) END,
        subscription_at = GREATEST(a.subscription_at, EXCLUDED.subscription_at),
        arr = CASE WHEN a.subscription_at IS NULL OR EXCLUDED.subscription_at >= a.subscription_at
              THEN COALESCE(EXCLUDED.arr, a.arr) ELSE COALESCE(a.arr, EXCLUDED.arr) END,
        seats = CASE WHEN a.subscription_at IS NULL OR EXCLUDED.subscription_at >= a.subscription_at
              THEN COALESCE(EXCLUDED.seats, a.seats) ELSE COALESCE(a.seats, EXCLUDED.seats) END,
        plan = CASE WHEN a.subscription_at IS NULL OR EXCLUDED.subscription_at >= a.subscription_at
              THEN COALESCE(EXCLUDED.plan, a.plan) ELSE COALESCE(a.plan, EXCLUDED.plan) END,
        attributes = CASE WHEN EXCLUDED.attributes = '{{}}' THEN a.attributes
              ELSE account_attributes_merge(a.attributes, EXCLUDED.attributes) END,
        currency = COALESCE(EXCLUDED.currency, a.currency),
        renewal_at = CASE WHEN a.subscription_at IS NULL
              OR EXCLUDED.subscription_at >= a.subscription_at
              THEN COALESCE(EXCLUDED.renewal_at, a.renewal_at)
              ELSE COALESCE(a.renewal_at, EXCLUDED.renewal_at) END,
        started_at = GREATEST(a.started_at, EXCLUDED.started_at),
        canceled_at = CASE
            WHEN GREATEST(a.canceled_at, EXCLUDED.canceled_at)
                 >= COALESCE(GREATEST(a.started_at, EXCLUDED.started_at), '-infinity')
            THEN GREATEST(a.canceled_at, EXCLUDED.canceled_at) END,
        updated_at = now()
    """


async def _upsert_accounts(session: AsyncSession, changes: BatchChanges) -> None:
    rows, params = unnest(**_columns(list(changes.accounts.values()), **ACCOUNT_COLUMNS))
    await session.execute(text(UPSERT_ACCOUNTS.format(rows=rows)), params)


async def _upsert_activity(session: AsyncSession, changes: BatchChanges) -> None:
    if not changes.activity:
        return
    keys = list(changes.activity)
    rows, params = unnest(
        a=("text", [k[0] for k in keys]),
        d=("date", [k[1] for k in keys]),
        e=("bigint", [int(changes.activity[k][0]) for k in keys]),
        q=("float8", [changes.activity[k][1] for k in keys]),
    )
    await session.execute(
        text(
            "INSERT INTO daily_activity AS d (account_id, day, events, quantity)"
            f" SELECT * FROM {rows}"
            " ON CONFLICT (account_id, day) DO UPDATE SET"
            " events = d.events + EXCLUDED.events, quantity = d.quantity + EXCLUDED.quantity"
        ),
        params,
    )


async def _upsert_users(session: AsyncSession, changes: BatchChanges) -> None:
    if not changes.users:
        return
    keys = list(changes.users)
    rows, params = unnest(
        a=("text", [k[0] for k in keys]),
        u=("text", [k[1] for k in keys]),
        f=("timestamptz", [changes.users[k][0] for k in keys]),
        l=("timestamptz", [changes.users[k][1] for k in keys]),
    )
    await session.execute(
        text(
            "INSERT INTO account_users AS u (account_id, user_id, first_seen_at, last_seen_at)"
            f" SELECT * FROM {rows}"
            " ON CONFLICT (account_id, user_id) DO UPDATE SET"
            " first_seen_at = LEAST(u.first_seen_at, EXCLUDED.first_seen_at),"
            " last_seen_at = GREATEST(u.last_seen_at, EXCLUDED.last_seen_at)"
        ),
        params,
    )


async def _upsert_features(session: AsyncSession, changes: BatchChanges) -> set[str]:
    """Upsert the batch's feature uses; the accounts where the batch's use is the first
    of its feature (new, or earlier than the one stored): only there can first value move."""
    if not changes.features:
        return set()
    keys = list(changes.features)
    rows, params = unnest(
        a=("text", [k[0] for k in keys]),
        f=("text", [k[1] for k in keys]),
        first=("timestamptz", [changes.features[k][0] for k in keys]),
        last=("timestamptz", [changes.features[k][1] for k in keys]),
        n=("bigint", [changes.features[k][2] for k in keys]),
    )
    returned = await session.execute(
        text(
            "INSERT INTO account_features AS f"
            " (account_id, feature, first_used_at, last_used_at, uses)"
            f" SELECT * FROM {rows}"
            " ON CONFLICT (account_id, feature) DO UPDATE SET"
            " first_used_at = LEAST(f.first_used_at, EXCLUDED.first_used_at),"
            " last_used_at = GREATEST(f.last_used_at, EXCLUDED.last_used_at),"
            " uses = f.uses + EXCLUDED.uses"
            " RETURNING f.account_id, f.feature, f.first_used_at"
        ),
        params,
    )
    return {
        account
        for account, feature, first in returned
        if first == changes.features[(account, feature)][0]
    }


async def _upsert_tickets(session: AsyncSession, changes: BatchChanges) -> None:
    tickets = list(changes.tickets.values())
    if not tickets:
        return
    rows, params = unnest(
        **_columns(
            tickets,
            account_id="text",
            ticket_id="text",
            status="text",
            severity="text",
            severity_at="timestamptz",
            opened_at="timestamptz",
            updated_at="timestamptz",
            resolved_at="timestamptz",
            reopens="int",
        )
    )
    newer = "EXCLUDED.updated_at >= t.updated_at"
    await session.execute(
        text(
            "INSERT INTO tickets AS t (account_id, ticket_id, status, severity, severity_at,"
            " opened_at, updated_at, resolved_at, reopen_count)"
            f" SELECT * FROM {rows}"
            " ON CONFLICT (account_id, ticket_id) DO UPDATE SET"
            f" status = CASE WHEN {newer} THEN EXCLUDED.status ELSE t.status END,"
            " severity = CASE WHEN t.severity_at IS NULL OR EXCLUDED.severity_at >= t.severity_at"
            " THEN COALESCE(EXCLUDED.severity, t.severity) ELSE t.severity END,"
            " severity_at = GREATEST(t.severity_at, EXCLUDED.severity_at),"
            f" resolved_at = CASE WHEN {newer} THEN EXCLUDED.resolved_at ELSE t.resolved_at END,"
            " opened_at = LEAST(t.opened_at, EXCLUDED.opened_at),"
            " updated_at = GREATEST(t.updated_at, EXCLUDED.updated_at),"
            " reopen_count = t.reopen_count + EXCLUDED.reopen_count"
        ),
        params,
    )


async def _upsert_invoices(session: AsyncSession, changes: BatchChanges) -> None:
    invoices = list(changes.invoices.values())
    if not invoices:
        return
    rows, params = unnest(
        **_columns(
            invoices,
            account_id="text",
            invoice_id="text",
            status="text",
            amount="numeric",
            due_at="timestamptz",
            updated_at="timestamptz",
        )
    )
    newer = "EXCLUDED.updated_at >= i.updated_at"
    await session.execute(
        text(
            "INSERT INTO invoices AS i (account_id, invoice_id, status, amount, due_at,"
            " overdue_at, paid_at, updated_at)"
            " SELECT u.account_id, u.invoice_id, u.status, u.amount, u.due_at,"
            " CASE WHEN u.status = 'overdue' THEN u.updated_at END,"
            " CASE WHEN u.status = 'paid' THEN u.updated_at END, u.updated_at"
            f" FROM {rows}"
            " AS u(account_id, invoice_id, status, amount, due_at, updated_at)"
            " ON CONFLICT (account_id, invoice_id) DO UPDATE SET"
            f" status = CASE WHEN {newer} THEN EXCLUDED.status ELSE i.status END,"
            " amount = COALESCE(EXCLUDED.amount, i.amount),"
            " due_at = COALESCE(EXCLUDED.due_at, i.due_at),"
            " overdue_at = COALESCE(LEAST(i.overdue_at, EXCLUDED.overdue_at),"
            " i.overdue_at, EXCLUDED.overdue_at),"
            " paid_at = COALESCE(GREATEST(i.paid_at, EXCLUDED.paid_at),"
            " i.paid_at, EXCLUDED.paid_at),"
            " updated_at = GREATEST(i.updated_at, EXCLUDED.updated_at)"
        ),
        params,
    )


async def _insert_failures_and_responses(session: AsyncSession, changes: BatchChanges) -> None:
    if changes.failures:
        columns = list(zip(*changes.failures, strict=True))
        rows, params = unnest(
            a=("text", columns[0]),
            e=("text", columns[1]),
            t=("timestamptz", columns[2]),
            i=("text", columns[3]),
        )
        await session.execute(
            text(
                "INSERT INTO payment_failures (account_id, event_id, failed_at, invoice_id)"
                f" SELECT * FROM {rows} ON CONFLICT DO NOTHING"
            ),
            params,
        )
    if changes.responses:
        columns = list(zip(*changes.responses, strict=True))
        rows, params = unnest(
            a=("text", columns[0]),
            e=("text", columns[1]),
            k=("text", columns[2]),
            s=("int", columns[3]),
            t=("timestamptz", columns[4]),
        )
        await session.execute(
            text(
                "INSERT INTO responses (account_id, event_id, kind, score, at)"
                f" SELECT * FROM {rows} ON CONFLICT DO NOTHING"
            ),
            params,
        )


FIRST_VALUE_FEATURES = 3


async def _mark_first_value(session: AsyncSession, account_ids: list[str]) -> None:
    """First value: the moment an account had used its third distinct feature."""
    await session.execute(
        text(
            "UPDATE accounts a SET first_value_at = fv.at FROM ("
            "  SELECT account_id, first_used_at AS at FROM ("
            "    SELECT account_id, first_used_at, row_number() OVER"
            "      (PARTITION BY account_id ORDER BY first_used_at, feature) AS n"
            "    FROM account_features WHERE account_id = ANY(CAST(:ids AS text[]))"
            "  ) ranked WHERE n = :n"
            ") fv WHERE a.account_id = fv.account_id"
            " AND (a.first_value_at IS NULL OR a.first_value_at <> fv.at)"
        ),
        {"ids": account_ids, "n": FIRST_VALUE_FEATURES},
    )
