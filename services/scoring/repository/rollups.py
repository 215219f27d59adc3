"""SQL of the daily rollups (one row per account and day, see migration 0017): written
with the fold, read only for a model that needs them, pruned by day per account."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.domain.fold import BatchChanges
from shared.database.engine import unnest

# $1: the account ids; $2: the first day to read
LOAD = (
    "SELECT account_id, day, counts, users FROM rollups"
    " WHERE account_id = ANY($1::text[]) AND day >= $2::date"
)


async def upsert_rollups(session: AsyncSession, changes: BatchChanges) -> None:
    """Add the batch's daily rollups to the stored days; unite its users' days."""
    days = list(changes.rollups)
    if not days:
        return
    users = changes.user_days
    rows, params = unnest(
        a=("text", [account for account, _day in days]),
        d=("date", [day for _account, day in days]),
        c=("text", [orjson.dumps(changes.rollups[day]).decode() for day in days]),
        u=("text", [orjson.dumps(users.get(day, {})).decode() for day in days]),
    )
    await session.execute(
        text(
            "INSERT INTO rollups AS r (account_id, day, counts, users)"
            f" SELECT * FROM {rows}"
            " ON CONFLICT (account_id, day) DO UPDATE SET"
            " counts = CAST(rollups_add(CAST(r.counts AS jsonb), CAST(EXCLUDED.counts AS jsonb))"
            " AS text),"
            " users = CAST(CAST(r.users AS jsonb) || CAST(EXCLUDED.users AS jsonb) AS text)"
        ),
        params,
    )


async def prune_rollups(
    session: AsyncSession, account_ids: Sequence[str], now: datetime, days: int
) -> int:
    """Delete the accounts' days older than ``days`` before their latest event (or ``now``,
    if earlier); returns how many. Relative to the account's own event time, so a measure
    scored at or after that time, with a window that fits in ``days``, reads the same
    days before and after."""
    result = await session.execute(
        text(
            "DELETE FROM rollups r USING accounts a"
            " WHERE a.account_id = ANY(CAST(:ids AS text[])) AND r.account_id = a.account_id"
            " AND r.day < CAST(LEAST(a.last_event_at, :now) AT TIME ZONE 'UTC' AS date)"
            " - CAST(:days AS int)"
        ),
        {"ids": list(account_ids), "now": now, "days": days},
    )
    return int(getattr(result, "rowcount", 0) or 0)
