"""Shutdown of the loops is bounded whatever they are waiting for."""

from __future__ import annotations

import asyncio
import time

from shared.retry import finish_tasks


async def test_finish_tasks_returns_within_its_bound_when_a_loop_ignores_cancellation() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():  # like a client stop() that waits for a dead broker
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                continue

    async def polite(stop: asyncio.Event) -> None:
        await stop.wait()

    stop = asyncio.Event()
    stop.set()
    tasks = [asyncio.create_task(stubborn()), asyncio.create_task(polite(stop))]
    started = time.monotonic()
    await finish_tasks(tasks, 1.0)
    took = time.monotonic() - started
    assert took < 1.5, took
    assert tasks[1].done() and not tasks[0].done()
    release.set()
    tasks[0].cancel()
    await asyncio.gather(tasks[0], return_exceptions=True)


async def test_finish_tasks_lets_a_loop_finish_its_batch_first() -> None:
    finished = []

    async def batch() -> None:
        await asyncio.sleep(0.2)
        finished.append(True)

    await finish_tasks([asyncio.create_task(batch())], 5.0)
    assert finished == [True]
