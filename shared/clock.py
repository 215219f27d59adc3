"""The clock of scoring and triggers: a periodic pass over every account, in chunks.

Accounts are read in id order, ``chunk_size`` at a time, each chunk its own
transaction, so a pass over a million accounts holds no long transaction and
keeps memory flat. One instance at a time runs a pass (a PostgreSQL advisory
lock, see :mod:`shared.locks`). The time comes from the injected ``now``, so
tests and the demo never depend on the wall clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db import transaction
from shared.locks import LockKey, session_lock
from shared.logging import get_logger
from shared.retry import run_periodically
from shared.settings import StatefulServiceSettings

log = get_logger(__name__)

Now = Callable[[], datetime]
# (session, after account id or None, limit) -> the next account ids in id order
PageOfIds = Callable[[AsyncSession, str | None, int], Awaitable[list[str]]]
# (session, account ids, as of) -> what the chunk produced (accounts scored, events emitted)
ChunkWork = Callable[[AsyncSession, Sequence[str], datetime], Awaitable[int]]
# (session, as of) -> None: once at the end of a complete pass, in the last transaction
PassEnd = Callable[[AsyncSession, datetime], Awaitable[None]]


def utc_now() -> datetime:
    """The wall clock; the one default ``now``, given by the service's ``create_app``."""
    return datetime.now(UTC)


def _ignore(*_args: object) -> None:
    return None


@dataclass(frozen=True)
class ClockHooks:
    """What a service observes of its clock (metrics, waking the outbox relay)."""

    on_committed: Callable[[int], None] = _ignore  # accounts of a committed chunk
    on_chunk: Callable[[float], None] = _ignore  # seconds a chunk's transaction took
    on_pass: Callable[[int, float], None] = _ignore  # result and seconds of a whole pass
    on_error: Callable[[BaseException], None] = _ignore  # a failed pass (retried)


@dataclass(frozen=True)
class ClockPlan:
    """What a pass does: which accounts, what per chunk, what at the end."""

    name: str
    lock_key: LockKey
    page: PageOfIds
    work: ChunkWork
    at_end: PassEnd | None = None


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
        hooks: ClockHooks = ClockHooks(),  # frozen: one shared default is safe
    ) -> None:
        self._engine = engine
        self._sessions = sessions
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

    async def run_pass(self, as_of: datetime, *, stop: asyncio.Event | None = None) -> int:
        """One pass over every account at ``as_of``; the sum of what the chunks returned
        (0 when another instance holds the lock)."""
        started = time.perf_counter()
        async with session_lock(self._engine, self._plan.lock_key) as taken:
            if not taken:
                return 0
            result = await self._chunks(as_of, stop)
        took = time.perf_counter() - started
        self._hooks.on_pass(result, took)
        log.info(f"{self._plan.name} done", result=result, as_of=as_of.isoformat())
        return result

    async def _chunks(self, as_of: datetime, stop: asyncio.Event | None) -> int:
        after: str | None = None
        result = 0
        while stop is None or not stop.is_set():
            chunk_started = time.perf_counter()
            async with transaction(self._sessions) as session:
                ids = await self._plan.page(session, after, self._chunk_size)
                if not ids:
                    if self._plan.at_end is not None:
                        await self._plan.at_end(session, as_of)
                    break
                result += await self._plan.work(session, ids, as_of)
            self._hooks.on_chunk(time.perf_counter() - chunk_started)
            self._hooks.on_committed(len(ids))
            after = ids[-1]
        return result
