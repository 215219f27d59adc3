"""The clock of scoring and triggers: a periodic pass over every account, in chunks.

Accounts are read in id order, ``chunk_size`` at a time, each chunk its own
transaction, so a pass over a million accounts holds no long transaction and
keeps memory flat. One instance at a time runs a pass (a PostgreSQL advisory
lock, see :mod:`shared.database.locks`). A plan that can be split runs a big pass in
``clock_workers`` processes, one range of account ids each
(:mod:`shared.clock.workers`); the lock and the end hook stay with the pass. The
time comes from the injected ``now``, so tests and the demo never depend on the
wall clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.clock.chunks import ClockPlan, run_chunks
from shared.clock.workers import (
    MIN_CHUNKS_PER_WORKER,
    RangeJob,
    RangeResult,
    peak_rss_mb,
    ranges,
    run_ranges,
)
from shared.database.engine import transaction
from shared.database.locks import session_lock
from shared.logging import get_logger
from shared.retry import run_periodically
from shared.settings.common import StatefulServiceSettings

log = get_logger(__name__)

Now = Callable[[], datetime]

__all__ = ["ChunkedClock", "ClockObservers", "ClockPlan", "Now", "utc_now"]


def utc_now() -> datetime:
    """The wall clock; the one default ``now``, given by the service's ``create_app``."""
    return datetime.now(UTC)


def _ignore(*_args: object) -> None:
    return None


@dataclass(frozen=True)
class ClockObservers:
    """What a service observes of its clock (metrics, waking the outbox relay)."""

    on_committed: Callable[[int], None] = _ignore  # accounts of a committed chunk (or range)
    on_chunk: Callable[[float], None] = _ignore  # seconds a chunk's transaction took
    on_pass: Callable[[int, float], None] = _ignore  # result and seconds of a whole pass
    on_error: Callable[[BaseException], None] = _ignore  # a failed pass (retried)
    on_split: Callable[[list[RangeResult]], None] = _ignore  # what each worker process did


class ChunkedClock:
    """Runs ``plan`` over every account every ``clock_interval_s`` until ``stop``."""

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        plan: ClockPlan,
        settings: StatefulServiceSettings,
        *,
        now: Now,
        hooks: ClockObservers = ClockObservers(),  # frozen: one shared default is safe
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._settings = settings
        self._workers = settings.clock_workers
        self._plan = plan
        self._chunk_size = settings.clock_chunk_size
        self._interval_s = settings.clock_interval_s
        self._now = now
        self._hooks = hooks

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically(
            stop,
            self._interval_s,
            lambda: self.run_pass(self._now(), stop=stop),
            name=self._plan.name,
            on_error=self._hooks.on_error,
        )

    def now(self) -> datetime:
        """The service's clock: the time a pass runs at when none is given."""
        return self._now()

    async def run_pass(self, as_of: datetime, *, stop: asyncio.Event | None = None) -> int:
        """One pass over every account at ``as_of``; the sum of what the chunks returned
        (0 when another instance holds the lock)."""
        started = time.perf_counter()
        async with session_lock(self._engine, self._plan.lock_key) as taken:
            if not taken:
                return 0
            result = await self._pass(as_of, stop)
        took = time.perf_counter() - started
        self._hooks.on_pass(result, took)
        log.info(f"{self._plan.name} done", result=result, as_of=as_of.isoformat())
        return result

    async def _pass(self, as_of: datetime, stop: asyncio.Event | None) -> int:
        jobs = await self._split(as_of)
        if jobs is None:
            return await self._chunks(as_of, stop)
        own, others = jobs[0], jobs[1:]  # this process takes the first range itself
        done = await _until_stopped(run_ranges(others, self._range(own)), stop)
        if done is None:
            return 0  # stopped: the workers were stopped with their open chunks
        for part in done[1:]:
            self._hooks.on_committed(part.accounts)
        self._hooks.on_split(done)
        if self._plan.at_end is not None:
            async with transaction(self._sessions) as session:
                await self._plan.at_end(session, as_of)
        return sum(part.result for part in done)

    async def _split(self, as_of: datetime) -> list[RangeJob] | None:
        """A job per worker process, or ``None``: the pass is not worth splitting."""
        worker, bounds = self._plan.worker, self._plan.bounds
        if self._workers < 2 or bounds is None or worker is None:
            return None
        async with transaction(self._sessions) as session:
            accounts, edges = await bounds(session, self._workers)
        if accounts < self._workers * self._chunk_size * MIN_CHUNKS_PER_WORKER:
            return None
        return [RangeJob(worker, self._settings, as_of, *r) for r in ranges(edges)]

    async def _range(self, job: RangeJob) -> RangeResult:
        done = await run_chunks(
            self._sessions,
            self._plan,
            self._chunk_size,
            job.as_of,
            after=job.after,
            last=job.last,
            on_chunk=self._chunk_done,
        )
        return RangeResult(done.result, done.accounts, peak_rss_mb())

    def _chunk_done(self, accounts: int, seconds: float) -> None:
        self._hooks.on_chunk(seconds)
        self._hooks.on_committed(accounts)

    async def _chunks(self, as_of: datetime, stop: asyncio.Event | None) -> int:
        done = await run_chunks(
            self._sessions,
            self._plan,
            self._chunk_size,
            as_of,
            at_end=True,
            stop=lambda: stop is not None and stop.is_set(),
            on_chunk=self._chunk_done,
        )
        return done.result


async def _until_stopped(
    work: Awaitable[list[RangeResult]], stop: asyncio.Event | None
) -> list[RangeResult] | None:
    task = asyncio.ensure_future(work)
    if stop is None:
        return await task
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([task, stopped], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if not task.done():
        task.cancel()  # run_ranges stops its workers on the way out
        await asyncio.gather(task, return_exceptions=True)
        return None
    return task.result()
