"""SQL of the daily rollups and the users' active days: written with the fold, read only
for a model that needs them, pruned by day per account."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.fold import BatchChanges

# $1: the account ids; $2: the first day to read
LOAD = {
    "rollups": "SELECT account_id, day, source, type, feature, detail, events, quantity"
    " FROM rollups WHERE account_id = ANY($1::text[]) AND day >= $2::date",
    "user_days": "SELECT account_id, day, type, user_id FROM user_days"
    " WHERE account_id = ANY($1::text[]) AND day >= $2::date",
}


UPSERT_ROLLUPS = text(
    "INSERT INTO rollups AS r (account_id, day, source, type, feature, detail, events, quantity)"
    " SELECT * FROM unnest(CAST(:a AS text[]), CAST(:d AS date[]), CAST(:s AS text[]),"
    " CAST(:t AS text[]), CAST(:f AS text[]), CAST(:x AS text[]), CAST(:e AS bigint[]),"
    " CAST(:q AS float8[]))"
    " ON CONFLICT (account_id, day, source, type, feature, detail) DO UPDATE SET"
    " events = r.events + EXCLUDED.events, quantity = r.quantity + EXCLUDED.quantity"
)
INSERT_USER_DAYS = text(
    "INSERT INTO user_days (account_id, day, type, user_id)"
    " SELECT * FROM unnest(CAST(:a AS text[]), CAST(:d AS date[]), CAST(:t AS text[]),"
    " CAST(:u AS text[])) ON CONFLICT DO NOTHING"
)


def _arrays(rows: Iterable[Sequence[Any]], names: str) -> dict[str, list[Any]]:
    """Rows as one array per column, named by the letters of ``names``."""
    columns = zip(*rows, strict=True)
    return {name: list(column) for name, column in zip(names, columns, strict=True)}


async def upsert_rollups(session: AsyncSession, changes: BatchChanges) -> None:
    """Add the batch's daily rollups to the stored ones; record its users' active days."""
    if changes.rollups:
        rows = ((*key, int(v[0]), v[1]) for key, v in changes.rollups.items())
        await session.execute(UPSERT_ROLLUPS, _arrays(rows, "adstfxeq"))
    if changes.user_days:
        await session.execute(INSERT_USER_DAYS, _arrays(changes.user_days, "adtu"))


async def prune_rollups(
    session: AsyncSession, account_ids: Sequence[str], now: datetime, days: int
) -> int:
    """Delete the accounts' days older than ``days`` before their latest event (or ``now``,
    if earlier); returns how many rows. Relative to the account's own event time, so a
    measure scored at or after that time, with a window that fits in ``days``, reads the
    same rows before and after."""
    deleted = 0
    for table in ("rollups", "user_days"):
        result = await session.execute(
            text(
                f"DELETE FROM {table} r USING accounts a"
                " WHERE a.account_id = ANY(CAST(:ids AS text[])) AND r.account_id = a.account_id"
                " AND r.day < CAST(LEAST(a.last_event_at, :now) AT TIME ZONE 'UTC' AS date)"
                " - CAST(:days AS int)"
            ),
            {"ids": list(account_ids), "now": now, "days": days},
        )
        deleted += int(getattr(result, "rowcount", 0) or 0)
    return deleted
