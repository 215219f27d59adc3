"""SQL of the retention of applied event ids (idempotency keys)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def prune_applied_events(session: AsyncSession, before: datetime, limit: int) -> int:
    """Forget up to ``limit`` event ids applied before ``before``; returns how many."""
    result = await session.execute(
        text(
            "DELETE FROM applied_events WHERE (account_id, event_id) IN ("
            " SELECT account_id, event_id FROM applied_events"
            " WHERE applied_at < :before ORDER BY applied_at LIMIT :n"
            " FOR UPDATE SKIP LOCKED)"
        ),
        {"before": before, "n": limit},
    )
    return int(getattr(result, "rowcount", 0) or 0)
