"""Reports that take seconds to compute (a replay of the score history, an aggregate of
every playbook episode), computed once per state of their inputs and shared by every
request: at most ``concurrency`` at a time (threads share the GIL with the event loop
the consumers run on), one computation for identical requests arriving together, the
last ``size`` results kept.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from shared.errors import TransientError
from shared.logging import get_logger

log = get_logger(__name__)
T = TypeVar("T")


class ReportPending(TransientError):
    """No report recent enough yet; one is being computed (503: retry later)."""


class ReportCache:
    """Reports by key: computed once, ``concurrency`` at a time, the last ``size`` kept.

    A key is ``(*family, position)``: the family says which report (a model and its
    horizons and outcomes, a filter of episodes), the position which state of what
    moves often (the score history, the clock). :meth:`recent` answers with a family's
    latest report whatever its position, while the current one is computed in the
    background: under a live pipeline the score history changes with every score, and a
    page that can show a report a few minutes old should not wait seconds for each view.
    """

    def __init__(
        self, size: int = 16, concurrency: int = 1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._size = size
        self._slots = asyncio.Semaphore(concurrency)
        self._clock = clock
        self._done: OrderedDict[Hashable, Any] = OrderedDict()
        self._running: dict[Hashable, asyncio.Future[Any]] = {}
        # family -> (when computed, key, report)
        self._latest: OrderedDict[Hashable, tuple[float, Hashable, Any]] = OrderedDict()

    async def recent(
        self,
        key: tuple[Hashable, ...],
        max_age_s: float,
        compute: Callable[[], Awaitable[T]],
        wait_s: float = 2.0,
    ) -> T:
        """The latest report of ``key``'s family computed within ``max_age_s``, refreshed
        in the background if ``key`` is newer; without one, ``key``'s, if computed within
        ``wait_s``: else :class:`ReportPending` (a 503), the computation going on."""
        if key in self._done:  # the current state's own report
            return await self.get(key, compute)
        latest = self._latest.get(key[:-1])
        if latest is None or self._clock() - latest[0] > max_age_s:
            running = self._running.get(key) or self._start(key, compute)
            try:
                done: T = await asyncio.wait_for(asyncio.shield(running), wait_s)
            except TimeoutError:
                raise ReportPending("the report is being computed; retry in a moment") from None
            return done
        if key not in self._running:
            self._start(key, compute).add_done_callback(_log_failure)
        found: T = latest[2]
        return found

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        if key in self._done:
            self._done.move_to_end(key)
            found: T = self._done[key]
            return found
        running = self._running.get(key) or self._start(key, compute)
        # shielded: a client that hangs up does not cancel the others' computation
        result: T = await asyncio.shield(running)
        return result

    def _start(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        running = asyncio.ensure_future(self._compute(key, compute))
        self._running[key] = running
        running.add_done_callback(lambda _f: self._running.pop(key, None))
        return running

    async def _compute(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        async with self._slots:
            result = await compute()
        self._done[key] = result
        if isinstance(key, tuple) and key:
            self._latest[key[:-1]] = (self._clock(), key, result)
            self._latest.move_to_end(key[:-1])
            while len(self._latest) > self._size:
                self._latest.popitem(last=False)
        while len(self._done) > self._size:
            self._done.popitem(last=False)
        return result


def _log_failure(refresh: asyncio.Future[Any]) -> None:
    """A background refresh that failed: the last report stays, and the next view retries."""
    if not refresh.cancelled() and refresh.exception() is not None:
        log.warning("report refresh failed", error=repr(refresh.exception()))
