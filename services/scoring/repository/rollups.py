"""SQL of the daily rollups (one row per account and day, see migration 0017): written
with the fold, read only for a model that needs them, pruned by day per account."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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


# {rows}: the batch's days as ``unnest`` rows (account_id, day, counts, users, k, e, q).
# A stored day is updated in place, summing into its latest version: with ``jsonb_set``
# when the batch's day has one key ``k`` (the common case live: an account's one or two
# events of a batch), at a fraction of the cost of ``rollups_add`` (a SQL function that
# runs a query of its own for every row); with ``rollups_add`` when it has more. Both add
# each key's two values, so the order batches arrive in still does not matter. A day not
# stored yet (or inserted since by another transaction) is inserted, merged on conflict.
UPSERT = """
    WITH u AS (
        SELECT * FROM {rows} AS u(account_id, day, counts, users, k, e, q)
    ), merged AS (
        UPDATE rollups AS r SET
            counts = CASE WHEN u.k IS NULL
                THEN CAST(rollups_add(CAST(r.counts AS jsonb), CAST(u.counts AS jsonb)) AS text)
                ELSE CAST(jsonb_set(CAST(r.counts AS jsonb), ARRAY[u.k], jsonb_build_array(
                  COALESCE(CAST(CAST(r.counts AS jsonb) #>> ARRAY[u.k, '0'] AS bigint) + u.e, u.e),
                  COALESCE(CAST(CAST(r.counts AS jsonb) #>> ARRAY[u.k, '1'] AS float8) + u.q, u.q)
                )) AS text) END,
            users = CAST(CAST(r.users AS jsonb) || CAST(u.users AS jsonb) AS text)
        FROM u WHERE r.account_id = u.account_id AND r.day = u.day
        RETURNING r.account_id, r.day
    )
    INSERT INTO rollups AS r (account_id, day, counts, users)
    SELECT u.account_id, u.day, u.counts, u.users FROM u
    WHERE NOT EXISTS (SELECT FROM merged m WHERE m.account_id = u.account_id AND m.day = u.day)
    ON CONFLICT (account_id, day) DO UPDATE SET
        counts = CAST(rollups_add(CAST(r.counts AS jsonb), CAST(EXCLUDED.counts AS jsonb)) AS text),
        users = CAST(CAST(r.users AS jsonb) || CAST(EXCLUDED.users AS jsonb) AS text)
    """


def single_key(counts: Mapping[str, Sequence[float]]) -> tuple[str, int, float] | None:
    """The day's one key and its (events, quantity), when it has exactly one and both are
    finite: what the update adds with ``jsonb_set``; None leaves the day to ``rollups_add``
    (a non-finite quantity is stored as JSON null, which ``rollups_add`` sums as nothing).

    >>> single_key({"usage\\tused\\t\\t": [2, 3.0]})
    ('usage\\tused\\t\\t', 2, 3.0)
    >>> single_key({"a": [1, 1.0], "b": [1, 0.0]}) is None
    True
    """
    if len(counts) != 1:
        return None
    ((key, (events, quantity)),) = counts.items()
    if not math.isfinite(quantity):
        return None
    return key, int(events), float(quantity)


async def upsert_rollups(session: AsyncSession, changes: BatchChanges) -> None:
    """Add the batch's daily rollups to the stored days; unite its users' days."""
    days = list(changes.rollups)
    if not days:
        return
    users = changes.user_days
    singles = [single_key(changes.rollups[day]) for day in days]
    rows, params = unnest(
        a=("text", [account for account, _day in days]),
        d=("date", [day for _account, day in days]),
        c=("text", [orjson.dumps(changes.rollups[day]).decode() for day in days]),
        u=("text", [orjson.dumps(users.get(day, {})).decode() for day in days]),
        k=("text", [None if one is None else one[0] for one in singles]),
        e=("bigint", [None if one is None else one[1] for one in singles]),
        q=("float8", [None if one is None else one[2] for one in singles]),
    )
    await session.execute(text(UPSERT.format(rows=rows)), params)


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
