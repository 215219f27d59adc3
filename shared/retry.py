"""Bounded exponential backoff with full jitter, for broker and database outages."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field


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
    try:
        await asyncio.wait_for(stop.wait(), delay)
    except TimeoutError:
        pass


async def wait_any(wake: asyncio.Event, stop: asyncio.Event, timeout_s: float) -> None:
    """Wait until ``wake`` or ``stop`` is set, or ``timeout_s`` passes."""
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
