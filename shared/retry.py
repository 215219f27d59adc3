"""Backoff, waiting and the loops around them, for broker and database outages."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from shared.logging import get_logger

log = get_logger(__name__)


@dataclass
class Backoff:
    """Delays that double from ``initial_s`` up to ``max_s``; reset on success."""

    initial_s: float = 0.2
    max_s: float = 10.0
    attempt: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self) -> float:
        ceiling = min(self.max_s, self.initial_s * (2**self.attempt))
        self.attempt += 1
        delay: float = ceiling / 2 + self.rng.uniform(0, ceiling / 2)
        return delay

    def reset(self) -> None:
        self.attempt = 0


async def wait_or_stop(stop: asyncio.Event, delay: float) -> None:
    """Sleep for ``delay`` unless ``stop`` is set first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), delay)


async def wait_any(wake: asyncio.Event, stop: asyncio.Event, timeout_s: float) -> None:
    """Wait until ``wake`` or ``stop`` is set, or ``timeout_s`` passes."""
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def finish_tasks(tasks: list[asyncio.Task[None]], timeout_s: float) -> None:
    """Let loops finish their batch and commit on shutdown; cancel what overruns."""
    if not tasks:
        return
    _done, pending = await asyncio.wait(tasks, timeout=max(timeout_s, 0.5))
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def run_periodically(
    stop: asyncio.Event,
    interval_s: float,
    work: Callable[[], Awaitable[object]],
    *,
    name: str,
    on_error: Callable[[BaseException], None] = lambda _error: None,
) -> None:
    """``work`` every ``interval_s`` until ``stop``; a failure (an outage) is retried with
    backoff instead of ending the loop."""
    backoff = Backoff(initial_s=1.0, max_s=30.0)
    while not stop.is_set():
        try:
            await work()
            backoff.reset()
            await wait_or_stop(stop, interval_s)
        except Exception as error:  # noqa: BLE001 - retried after an outage
            on_error(error)
            delay = backoff.next_delay()
            log.warning(f"{name} failed; retrying", error=repr(error), delay_s=delay)
            await wait_or_stop(stop, delay)
