"""The record of redrives in PostgreSQL: who, when, which records, what became of each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession


async def record_redrive(
    session: AsyncSession,
    *,
    redrive_id: str,
    topic: str,
    requested_by: str,
    selector: dict[str, Any],
    dry_run: bool,
    counts: dict[str, int],
    records: list[dict[str, Any]],
) -> datetime:
    result = await session.execute(
        text(
            "INSERT INTO dlq_redrives (redrive_id, topic, requested_by, selector, dry_run,"
            " counts, records) VALUES (CAST(:id AS uuid), :topic, :by, CAST(:sel AS jsonb),"
            " :dry, CAST(:counts AS jsonb), CAST(:records AS jsonb)) RETURNING requested_at"
        ),
        {
            "id": redrive_id,
            "topic": topic,
            "by": requested_by[:200],
            "sel": orjson.dumps(selector).decode(),
            "dry": dry_run,
            "counts": orjson.dumps(counts).decode(),
            "records": orjson.dumps(records).decode(),
        },
    )
    requested_at: datetime = result.scalar_one()
    return requested_at


async def list_redrives(session: AsyncSession, topic: str | None, limit: int) -> list[Row[Any]]:
    """The latest redrives first."""
    result = await session.execute(
        text(
            "SELECT redrive_id, topic, requested_by, requested_at, selector, dry_run, counts,"
            " records FROM dlq_redrives"
            " WHERE CAST(:topic AS text) IS NULL OR topic = :topic"
            " ORDER BY requested_at DESC, redrive_id LIMIT :limit"
        ),
        {"topic": topic, "limit": limit},
    )
    return list(result.all())


async def times_redriven(session: AsyncSession, topic: str, ids: Sequence[str]) -> dict[str, int]:
    """Per dead letter of ``ids`` (``partition/offset``) of ``topic``: how many redrives
    sent it (none: not in the answer)."""
    result = await session.execute(
        text(
            "SELECT r->>'id' AS id, count(*) FROM dlq_redrives,"
            " jsonb_array_elements(records) AS r"
            " WHERE topic = :topic AND NOT dry_run AND r->>'outcome' = 'sent'"
            " AND r->>'id' = ANY(CAST(:ids AS text[])) GROUP BY 1"
        ),
        {"topic": topic, "ids": list(ids)},
    )
    return {row[0]: int(row[1]) for row in result}
