"""Loading the state of a set of accounts, one set-based query per table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.domain.account_state import NO_NEEDS, StateNeeds
from services.scoring.repository.rollups import LOAD as ROLLUPS_QUERY
from shared.database.engine import driver_connection

Rows = dict[str, list[Any]]  # asyncpg records, read by column name

# $1: the account ids; $2 (when used): where the table's window starts, ``HISTORY_TABLE``'s
# the score history window, every other the state window
HISTORY_TABLE = "history"
ROLLUPS_TABLE = "rollups"  # from ``rollups_since``, and only when a model needs them
QUERIES = {
    "activity": "SELECT account_id, day, events, quantity FROM daily_activity"
    " WHERE account_id = ANY($1::text[]) AND day >= $2::timestamptz::date",
    "users": "SELECT account_id, user_id, first_seen_at, last_seen_at FROM account_users"
    " WHERE account_id = ANY($1::text[]) AND last_seen_at >= $2",
    "features": "SELECT account_id, feature, first_used_at, last_used_at, uses"
    " FROM account_features WHERE account_id = ANY($1::text[])",
    "tickets": "SELECT account_id, ticket_id, status, severity, opened_at, updated_at, resolved_at,"
    " reopen_count FROM tickets WHERE account_id = ANY($1::text[])"
    " AND (status = 'open' OR updated_at >= $2)",
    "invoices": "SELECT account_id, invoice_id, status, amount, due_at, overdue_at, paid_at,"
    " updated_at FROM invoices WHERE account_id = ANY($1::text[])"
    " AND (status IN ('overdue', 'failed') OR updated_at >= $2)",
    "failures": "SELECT account_id, event_id, failed_at, invoice_id FROM payment_failures"
    " WHERE account_id = ANY($1::text[]) AND failed_at >= $2",
    "responses": "SELECT account_id, kind, score, at FROM responses"
    " WHERE account_id = ANY($1::text[]) AND at >= $2",
    # the model's own scores (an override's are not the model's trend)
    "history": "SELECT account_id, as_of, COALESCE(model_score, score) AS score FROM score_history"
    " WHERE account_id = ANY($1::text[]) AND as_of >= $2"
    " ORDER BY account_id, seq",
}


LOCKED_COLUMNS = (
    "account_id, first_seen_at, last_event_at, arr, seats, plan, attributes, started_at,"
    " renewal_at, canceled_at, last_downgrade_at, first_value_at, score, band, scored_as_of,"
    " published_facts, health_revision, overrides"
)


async def lock_accounts(session: AsyncSession, account_ids: Sequence[str]) -> list[Row[Any]]:
    """The accounts' rows, locked in id order (the clock and the consumer both write them):
    the columns re-scoring reads, not the last score's components and reasons (two JSON
    documents a row, decoded for nothing)."""
    result = await session.execute(
        text(
            f"SELECT {LOCKED_COLUMNS} FROM accounts WHERE account_id = ANY(CAST(:ids AS text[]))"
            " ORDER BY account_id FOR UPDATE"
        ),
        {"ids": list(account_ids)},
    )
    return list(result.all())


async def read_account(session: AsyncSession, account_id: str) -> Row[Any] | None:
    """One account's row as re-scoring reads it, without locking it (for the routes)."""
    result = await session.execute(
        text(f"SELECT {LOCKED_COLUMNS} FROM accounts WHERE account_id = :id"), {"id": account_id}
    )
    return result.first()


async def load_related(
    session: AsyncSession,
    account_ids: Sequence[str],
    *,
    since: datetime,
    history_since: datetime,
    needs: StateNeeds = NO_NEEDS,
    rollups_since: date | None = None,
) -> dict[str, Rows]:
    """Per table, per account, the rows scoring needs (windows start at ``since``); the
    rollups and the users' active days (from ``rollups_since``) only when ``needs`` says.

    Straight through asyncpg, in the session's transaction: thousands of rows a
    batch cost several times more as SQLAlchemy rows than as asyncpg records.
    """
    conn = await driver_connection(session)
    related: dict[str, Rows] = {}
    ids = list(account_ids)
    queries = dict(QUERIES)
    if needs.rollups or needs.user_days:
        queries[ROLLUPS_TABLE] = ROLLUPS_QUERY
    for name, sql in queries.items():
        window: date | datetime = history_since if name == HISTORY_TABLE else since
        if name == ROLLUPS_TABLE:
            window = rollups_since or since.date()
        args = (ids, window) if "$2" in sql else (ids,)
        grouped: Rows = defaultdict(list)
        for row in await conn.fetch(sql, *args):
            grouped[row["account_id"]].append(row)
        related[name] = grouped
    return related


async def account_ids_page(session: AsyncSession, after: str | None, limit: int) -> list[str]:
    """The next ``limit`` account ids in id order, for the clock's chunks."""
    result = await session.execute(
        text(
            "SELECT account_id FROM accounts WHERE account_id > :after"
            " ORDER BY account_id LIMIT :limit"
        ),
        {"after": after or "", "limit": limit},
    )
    return [row[0] for row in result]


async def account_id_bounds(session: AsyncSession, parts: int) -> tuple[int, list[str]]:
    """How many accounts, and the ids that cut them into ``parts`` ranges of about equal size
    (the end of each range but the last)."""
    row = (
        await session.execute(
            text(
                "SELECT count(*), percentile_disc(CAST(:cuts AS float8[]))"
                " WITHIN GROUP (ORDER BY account_id) FROM accounts"
            ),
            {"cuts": [i / parts for i in range(1, parts)]},
        )
    ).one()
    return int(row[0]), [edge for edge in row[1] or [] if edge is not None]
