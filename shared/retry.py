"""Backoff, waiting and the loops around them, for broker and database outages."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from shared.logging import get_logger

log = get_logger(__name__)

CANCEL_GRACE_S = 2.0


@dataclass
class Paced:
    """Costly work inside a loop that ticks more often, kept to ``share`` of the time: due
    again once ``1 / share`` times the last run's duration has passed since it ended (the
    first call is due). Cheap work is due at every tick; a count of a million rows that
    takes 0.3 s, at a share of 0.01, every 30 s."""

    share: float
    clock: Callable[[], float] = time.monotonic
    next_at: float | None = None

    def due(self) -> bool:
        return self.next_at is None or self.clock() >= self.next_at

    def done(self, started: float) -> None:
        """The run that began at ``started`` (this clock) has ended."""
        now = self.clock()
        self.next_at = now + (now - started) / self.share


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
    """Let loops finish their batch and commit on shutdown; cancel what overruns.

    Returns within ``timeout_s`` whatever the loops do: with partitions that
    have no leader a send or a client's stop() waits for Kafka's own timeouts
    (30 s and more). The last ``CANCEL_GRACE_S`` are for cancelled loops to
    close their clients; a loop still busy after that is left to the process
    exit (its open Kafka transaction aborts, its database transaction rolls back).
    """
    if not tasks:
        return
    loop = asyncio.get_running_loop()
    timeout_s = max(timeout_s, 0.5)
    grace = min(CANCEL_GRACE_S, timeout_s / 2)
    deadline = loop.time() + timeout_s
    _done, pending = await asyncio.wait(tasks, timeout=timeout_s - grace)
    while pending and loop.time() < deadline:
        # again and again: a cancelled loop's cleanup (a transaction abort, a client
        # stop) awaits Kafka in turn, and each cancel interrupts one of those waits
        for task in pending:
            task.cancel()
        _done, pending = await asyncio.wait(pending, timeout=min(0.25, deadline - loop.time()))
    if pending:
        names = sorted(task.get_name() for task in pending)
        log.warning("loops still busy at the shutdown deadline", loops=names)


async def retry_until_stopped(
    stop: asyncio.Event,
    session: Callable[[asyncio.Event, Backoff], Awaitable[None]],
    failed: Callable[[BaseException, float], None],
    backoff: Backoff | None = None,
) -> None:
    """Run ``session(stop, backoff)`` until ``stop``; after each failure (an outage), report
    it with the delay (``failed``) and start a fresh session after that delay. A session
    resets ``backoff`` once it makes progress."""
    backoff = backoff or Backoff()
    while not stop.is_set():
        try:
            await session(stop, backoff)
        except Exception as error:  # noqa: BLE001 - outages are retried
            delay = backoff.next_delay()
            failed(error, delay)
            await wait_or_stop(stop, delay)


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
