"""The triggers' clock: time-based playbooks (renewal, onboarding) for every account.

In chunks of accounts, each chunk its own transaction; one instance at a time
(advisory lock); ``now`` is injectable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.triggers.handler import TriggerEngine
from services.triggers.metrics import TriggersMetrics
from services.triggers.repository import account_ids_page, prune_scores
from shared.db import transaction
from shared.retry import run_periodically

CLOCK_LOCK_KEY = 0x56494711


class TriggersClock:
    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        trigger_engine: TriggerEngine,
        metrics: TriggersMetrics,
        *,
        chunk_size: int,
        on_committed: Callable[[int], None] = lambda _n: None,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._trigger_engine = trigger_engine
        self._metrics = metrics
        self._chunk_size = chunk_size
        self._on_committed = on_committed

    async def run(
        self,
        stop: asyncio.Event,
        interval_s: float,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        await run_periodically(stop, interval_s, lambda: self.tick(now()), name="triggers clock")

    async def tick(self, now: datetime) -> int:
        """Evaluate every account at ``now``; returns the playbook events emitted."""
        async with self._engine.connect() as lock_conn:
            if not await lock_conn.scalar(text(f"SELECT pg_try_advisory_lock({CLOCK_LOCK_KEY})")):
                return 0
            try:
                emitted = await self._chunks(now)
            finally:
                await lock_conn.execute(text(f"SELECT pg_advisory_unlock({CLOCK_LOCK_KEY})"))
                await lock_conn.commit()
        self._metrics.clock_runs.inc()
        return emitted

    async def _chunks(self, now: datetime) -> int:
        after: str | None = None
        emitted = 0
        while True:
            async with transaction(self._sessions) as session:
                ids = await account_ids_page(session, after, self._chunk_size)
                if not ids:
                    await prune_scores(session, now.replace(year=now.year - 1))
                    break
                emitted += await self._trigger_engine.on_clock(session, ids, now)
            self._on_committed(len(ids))
            after = ids[-1]
        return emitted
