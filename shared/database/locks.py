"""Every PostgreSQL advisory lock key of Vigil, in one place, so no two can collide.

The keys are "VIG" (0x564947) and a byte: 0x0_ for scoring, 0x1_ for triggers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import IntEnum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


class LockKey(IntEnum):
    SCORING_CLOCK = 0x56494701  # one clock re-score pass at a time across instances
    SCORING_OUTBOX = 0x56494702  # one relay of the health.changes outbox
    TRIGGERS_CLOCK = 0x56494711  # one time-based playbook pass at a time
    TRIGGERS_OUTBOX = 0x56494712  # one relay of the playbook.events outbox


@asynccontextmanager
async def session_lock(engine: AsyncEngine, key: LockKey) -> AsyncIterator[bool]:
    """Try the session-level lock ``key`` on a connection of its own; yields whether it
    was taken (another instance holds it otherwise) and releases it on exit.

    Session-level, not transaction-level: the holder runs many transactions under it.
    """
    async with engine.connect() as conn:
        taken = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": int(key)}))
        try:
            yield taken
        finally:
            if taken:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": int(key)})
                await conn.commit()
