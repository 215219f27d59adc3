"""Shutdown of the loops is bounded whatever they are waiting for."""

from __future__ import annotations

import asyncio
import time

from shared.retry import Backoff, Paced, finish_tasks, retry_until_stopped


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


async def test_a_failed_session_is_reported_and_started_again_until_stopped() -> None:
    stop = asyncio.Event()
    failures: list[tuple[str, float]] = []
    sessions = 0

    async def session(stop_: asyncio.Event, backoff: Backoff) -> None:
        nonlocal sessions
        sessions += 1
        if sessions < 3:
            raise ConnectionError(f"outage {sessions}")
        backoff.reset()  # progress
        stop_.set()

    def failed(error: BaseException, delay: float) -> None:
        failures.append((str(error), delay))

    await retry_until_stopped(stop, session, failed, Backoff(initial_s=0.001, max_s=0.002))
    assert sessions == 3
    assert [message for message, _ in failures] == ["outage 1", "outage 2"]
    assert all(0 < delay <= 0.002 for _, delay in failures)


def test_paced_work_takes_its_share_of_the_time() -> None:
    now = [0.0]
    paced = Paced(share=0.01, clock=lambda: now[0])
    assert paced.due()  # the first run
    paced.done(started=now[0])
    assert paced.due()  # it took no time: due at the next tick
    now[0] = 5.0
    paced.done(started=4.7)  # 0.3 s: due 30 s after it ended
    now[0] = 34.9
    assert not paced.due()
    now[0] = 35.0
    assert paced.due()
