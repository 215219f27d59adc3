"""A clock pass split across processes by account range, one process per core.

The coordinator (:class:`shared.clock.periodic.ChunkedClock`, holding the pass's lock)
asks the plan for range boundaries, starts one spawned process per range and
waits for all of them. Each worker builds its own engine and plan from the
service's settings (``ClockPlan.worker``, a module-level function, because a
spawned process receives it by reference) and runs the same chunk loop as an
in-process pass over its range: each chunk its own transaction. A worker that
fails fails the pass (the others are stopped, their committed chunks stay, as
when an in-process pass fails half way); the next pass starts over.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from shared.clock.chunks import WorkerPlan, run_chunks
from shared.service.gc_tuning import tune_for_batches

# Spawning a worker costs about a second (imports, an engine): a range of fewer
# chunks than this is done sooner in the coordinator's own process.
MIN_CHUNKS_PER_WORKER = 5


class ClockWorkerFailed(RuntimeError):
    """A worker process of a split clock pass failed or died; the pass is retried."""


@dataclass(frozen=True)
class RangeJob:
    """One worker's share of a pass: account ids after ``after`` up to ``last`` (inclusive);
    ``None`` leaves that side open."""

    worker: WorkerPlan
    settings: Any  # the service's settings, pickled to the worker
    as_of: datetime
    after: str | None
    last: str | None


@dataclass(frozen=True)
class RangeResult:
    result: int  # what the range's chunks returned
    accounts: int  # accounts the range held
    peak_rss_mb: float  # the worker process's own peak resident memory


def ranges(bounds: Sequence[str]) -> list[tuple[str | None, str | None]]:
    """``(after, last)`` per range from the ids that end all but the last range."""
    edges = sorted(set(bounds))
    starts: list[str | None] = [None, *edges]
    ends: list[str | None] = [*edges, None]
    return list(zip(starts, ends, strict=True))


async def run_ranges(
    jobs: Sequence[RangeJob], alongside: Awaitable[RangeResult]
) -> list[RangeResult]:
    """Every job in a process of its own while ``alongside`` (the coordinator's own range)
    runs here; the first failure stops the rest and raises."""
    context = multiprocessing.get_context("spawn")
    started: list[tuple[BaseProcess, Connection]] = []
    waits: list[asyncio.Future[RangeResult]] = [asyncio.ensure_future(alongside)]
    try:
        for job in jobs:
            receiver, sender = context.Pipe(duplex=False)
            process: BaseProcess = context.Process(
                target=_worker_main, args=(job, sender), daemon=True
            )
            process.start()
            sender.close()  # the worker holds the only writer: its death ends recv()
            started.append((process, receiver))
            waits.append(asyncio.ensure_future(asyncio.to_thread(_outcome, process, receiver)))
        return list(await asyncio.gather(*waits))
    finally:
        for wait in waits:
            wait.cancel()  # a no-op on those done
        for running, receiver in started:
            if running.is_alive():
                running.terminate()  # its open chunk rolls back with its connection
            await asyncio.to_thread(running.join)
            receiver.close()
        await asyncio.gather(*waits, return_exceptions=True)


def _outcome(process: BaseProcess, receiver: Connection) -> RangeResult:
    try:
        reply = receiver.recv()
    except EOFError:
        reply = None
    if isinstance(reply, RangeResult):
        return reply
    process.join()
    raise ClockWorkerFailed(f"clock worker exited with {process.exitcode}: {reply}")


def _worker_main(job: RangeJob, sender: Connection) -> None:
    tune_for_batches()
    try:
        sender.send(asyncio.run(_run_job(job)))
    except BaseException as error:
        sender.send(repr(error))
        raise
    finally:
        sender.close()


async def _run_job(job: RangeJob) -> RangeResult:
    async with job.worker(job.settings) as (sessions, plan):
        chunk_size = job.settings.clock_chunk_size
        done = await run_chunks(
            sessions, plan, chunk_size, job.as_of, after=job.after, last=job.last
        )
    return RangeResult(done.result, done.accounts, peak_rss_mb())


def peak_rss_mb() -> float:
    """This process's own peak resident memory (``VmHWM``; 0 where there is no /proc).

    Not ``getrusage().ru_maxrss``: Linux carries the parent's RSS into it at
    exec, so a process started from a big one reported that.
    """
    status = Path("/proc/self/status")
    if not status.exists():
        return 0.0
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0
