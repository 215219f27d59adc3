"""What a clock pass does, and the chunk loop that does it over a range of accounts.

Used by the pass in the service's own process (:mod:`shared.clock.periodic`) and by each
worker process of a split pass (:mod:`shared.clock.workers`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.database.engine import transaction
from shared.database.locks import LockKey

# (session, after account id or None, limit) -> the next account ids in id order
PageOfIds = Callable[[AsyncSession, str | None, int], Awaitable[list[str]]]
# (session, account ids, as of) -> what the chunk produced (accounts scored, events emitted)
ChunkWork = Callable[[AsyncSession, Sequence[str], datetime], Awaitable[int]]
# (session, as of) -> None: once at the end of a complete pass, in the last transaction
PassEnd = Callable[[AsyncSession, datetime], Awaitable[None]]
# (session, parts) -> (how many accounts, the ids that end each part but the last)
Bounds = Callable[[AsyncSession, int], Awaitable[tuple[int, list[str]]]]
Sessions = async_sessionmaker[AsyncSession]
# the service's settings -> its sessions and plan, built in a worker process; a
# module-level function, because a spawned process receives it by reference
WorkerPlan = Callable[[Any], AbstractAsyncContextManager[tuple[Sessions, "ClockPlan"]]]


@dataclass(frozen=True)
class ClockPlan:
    """What a pass does: which accounts, what per chunk, what at the end.

    With ``bounds`` and ``worker`` a pass may be split across processes
    (``clock_workers``); without, it runs in the service's process.
    """

    name: str
    lock_key: LockKey
    page: PageOfIds
    work: ChunkWork
    at_end: PassEnd | None = None
    bounds: Bounds | None = None
    worker: WorkerPlan | None = None


@dataclass
class Progress:
    result: int = 0  # the sum of what the chunks returned
    accounts: int = 0  # accounts of the committed chunks
    complete: bool = False  # the range was read to its end


async def run_chunks(
    sessions: Sessions,
    plan: ClockPlan,
    chunk_size: int,
    as_of: datetime,
    *,
    after: str | None = None,
    last: str | None = None,
    at_end: bool = False,
    stop: Callable[[], bool] = lambda: False,
    on_chunk: Callable[[int, float], None] = lambda _accounts, _seconds: None,
) -> Progress:
    """The accounts after ``after`` up to ``last`` (both ``None``: all), a transaction per
    chunk; ``at_end``: the plan's end hook in the transaction that found no more."""
    progress = Progress()
    while not progress.complete and not stop():
        started = time.perf_counter()
        async with transaction(sessions) as session:
            ids = await _page(session, plan, after, last, chunk_size)
            if not ids:
                if at_end and plan.at_end is not None:
                    await plan.at_end(session, as_of)
                progress.complete = True
                break
            progress.result += await plan.work(session, ids, as_of)
        progress.accounts += len(ids)
        on_chunk(len(ids), time.perf_counter() - started)
        after = ids[-1]
    return progress


async def _page(
    session: AsyncSession, plan: ClockPlan, after: str | None, last: str | None, limit: int
) -> list[str]:
    ids = await plan.page(session, after, limit)
    return ids if last is None else [i for i in ids if i <= last]
