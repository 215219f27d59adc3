"""Measuring: progress-based rates and the median of repeated runs."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Stat:
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Stat:
        return cls(statistics.median(values), min(values), max(values))

    def as_dict(self) -> dict[str, float]:
        return {"median": self.median, "min": self.low, "max": self.high}


async def rate_until(
    progress: Callable[[], Awaitable[int]], total: int, *, timeout_s: float = 900
) -> float:
    """Events per second from the first progress seen to ``total`` (start-up excluded)."""
    started = time.monotonic()
    first_at: float | None = None
    first_count = 0
    while True:
        count = await progress()
        now = time.monotonic()
        if first_at is None and count > 0:
            first_at, first_count = now, count
        if count >= total:
            assert first_at is not None
            elapsed = max(now - first_at, 1e-6)
            return (count - first_count) / elapsed if count > first_count else count / elapsed
        if now - started > timeout_s:
            raise TimeoutError(f"only {count} of {total} after {timeout_s:.0f}s")
        await asyncio.sleep(0.05)
