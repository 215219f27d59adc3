"""Bounded growth: event ids are remembered for ``dedupe_retention_days``, then pruned.

An event id guards against a producer's retry or a re-delivered message
being counted twice; after the retention a re-sent event *would* count again,
which is the documented trade for a table that does not grow forever. Pruned
in chunks, each its own short transaction, so it never holds locks long;
``SKIP LOCKED`` lets two instances prune side by side.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.scoring.repository.reads import account_ids_page
from services.scoring.repository.retention import prune_applied_events
from services.scoring.repository.rollups import prune_rollups
from shared.clock.periodic import Now, utc_now
from shared.database.engine import transaction
from shared.logging import get_logger
from shared.retry import run_periodically

log = get_logger(__name__)


class EventIdRetention:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        retention: timedelta,
        *,
        interval_s: float = 3600.0,
        chunk_size: int = 5000,
        now: Now = utc_now,
    ) -> None:
        self._sessions = sessions
        self._retention = retention
        self._interval_s = interval_s
        self._chunk_size = chunk_size
        self._now = now

    async def prune(self, stop: asyncio.Event | None = None) -> int:
        """Delete every id applied longer ago than the retention; returns how many."""
        before = self._now() - self._retention
        total = 0
        while stop is None or not stop.is_set():
            async with transaction(self._sessions) as session:
                deleted = await prune_applied_events(session, before, self._chunk_size)
            total += deleted
            if deleted < self._chunk_size:
                break
        if total:
            log.info("pruned applied event ids", deleted=total, before=before.isoformat())
        return total

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically(
            stop, self._interval_s, lambda: self.prune(stop), name="event id pruning"
        )


class RollupRetention:
    """Daily rollups are kept ``days`` before each account's latest event (or now, if
    earlier), then pruned: a chunk of accounts per short transaction, in id order.

    Relative to the account's own event time, not the wall clock alone: events replayed
    from long ago keep their history until something newer arrives, and an account
    holds at most ``days`` days whatever its age.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        days: int,
        *,
        interval_s: float = 3600.0,
        chunk_size: int = 1000,
        now: Now = utc_now,
    ) -> None:
        self._sessions = sessions
        self._days = days
        self._interval_s = interval_s
        self._chunk_size = chunk_size
        self._now = now

    async def prune(self, stop: asyncio.Event | None = None) -> int:
        """One pass over every account; returns how many rows were deleted."""
        now, after, total = self._now(), None, 0
        while stop is None or not stop.is_set():
            async with transaction(self._sessions) as session:
                ids = await account_ids_page(session, after, self._chunk_size)
                if ids:
                    total += await prune_rollups(session, ids, now, self._days)
            if len(ids) < self._chunk_size:
                break
            after = ids[-1]
        if total:
            log.info("pruned rollups", deleted=total, days=self._days)
        return total

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically(
            stop, self._interval_s, lambda: self.prune(stop), name="rollup pruning"
        )
