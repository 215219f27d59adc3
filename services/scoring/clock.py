"""The clock: re-score every account periodically, because silence is a signal.

Set-based and in chunks of accounts in id order, each chunk its own
transaction; one instance at a time (a PostgreSQL advisory lock). ``as_of``
is injectable so tests and the demo never depend on the wall clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.scoring.metrics import ScoringMetrics
from services.scoring.repository.reads import account_ids_page
from services.scoring.scorer import Scorer
from services.scoring.watermark_step import WatermarkStep
from shared.db import transaction
from shared.logging import get_logger
from shared.retry import run_periodically

log = get_logger(__name__)
CLOCK_LOCK_KEY = 0x56494701  # "VIG" + 1: one clock pass at a time across instances


class ClockRescorer:
    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        scorer: Scorer,
        metrics: ScoringMetrics,
        *,
        chunk_size: int,
        on_committed: Callable[[int], None] = lambda _n: None,
        watermarks: WatermarkStep | None = None,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._scorer = scorer
        self._metrics = metrics
        self._chunk_size = chunk_size
        self._on_committed = on_committed
        self._watermarks = watermarks

    async def run(
        self,
        stop: asyncio.Event,
        interval_s: float,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        await run_periodically(
            stop,
            interval_s,
            lambda: self.rescore_all(now(), stop=stop),
            name="clock pass",
            on_error=lambda _error: self._metrics.transaction_errors.labels("clock").inc(),
        )

    async def rescore_all(self, as_of: datetime, *, stop: asyncio.Event | None = None) -> int:
        """Score every account at ``as_of``; returns how many (0 if another instance runs)."""
        started = time.perf_counter()
        async with self._engine.connect() as lock_conn:
            if not await lock_conn.scalar(text(f"SELECT pg_try_advisory_lock({CLOCK_LOCK_KEY})")):
                return 0
            try:
                scored = await self._chunks(as_of, stop)
            finally:
                await lock_conn.execute(text(f"SELECT pg_advisory_unlock({CLOCK_LOCK_KEY})"))
                await lock_conn.commit()
        self._metrics.clock_runs.inc()
        self._metrics.clock_seconds.observe(time.perf_counter() - started)
        log.info("clock pass done", accounts=scored, as_of=as_of.isoformat())
        return scored

    async def _chunks(self, as_of: datetime, stop: asyncio.Event | None) -> int:
        after: str | None = None
        scored = 0
        while stop is None or not stop.is_set():
            chunk_started = time.perf_counter()
            async with transaction(self._sessions) as session:
                ids = await account_ids_page(session, after, self._chunk_size)
                if not ids:
                    break
                # silence is only silence up to the watermarks
                bound = await self._bound(session, as_of)
                await self._scorer.rescore(session, ids, as_of=as_of, trigger="clock", bound=bound)
            self._metrics.transaction_seconds.labels("clock").observe(
                time.perf_counter() - chunk_started
            )
            self._on_committed(len(ids))
            scored += len(ids)
            after = ids[-1]
        return scored

    async def _bound(self, session: AsyncSession, as_of: datetime) -> datetime | None:
        if self._watermarks is None:
            return None
        return await self._watermarks.clock_bound(session, as_of)
