"""Produce a workload's raw events to Kafka, with progress: ``python -m bench.simulate``."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from shared.kafka.clients import (
    Brokers,
    dumps,
    ensure_topics,
    key_bytes,
    make_producer,
    stop_bounded,
)
from shared.settings.common import ConnectionSettings, TopicNames
from tests.support.workload import Workload, events, make_workload
from vigil.cli import load_stack_env


async def produce_workload(
    workload: Workload,
    bootstrap: Brokers,
    topics: TopicNames,
    *,
    seed: int,
    rate: float | None = None,
    show_progress: bool = True,
    after_each_day: Callable[[], Awaitable[None]] | None = None,
    extra: Sequence[tuple[str, dict[str, Any]]] = (),
) -> int:
    """Send every event of ``workload``; at ``rate`` events/s when given. Returns the count.

    ``after_each_day`` is awaited once a simulated day's events are acknowledged: a
    replay of months in a minute can wait there for ingest to catch up, as a live
    stream does, so that the small topics do not run weeks ahead of ``usage``.
    """
    by_source = topics.topic_of_source()
    await ensure_topics(bootstrap, by_source.values())
    # a live stream arrives in event-time order, across all sources
    everything = [*events(workload, seed=seed), *extra]  # extra: e.g. the demo's cancellations
    items = sorted(everything, key=lambda item: item[1]["occurred_at"])
    producer = make_producer(bootstrap, client_id="vigil-simulate", linger_ms=20)
    await producer.start()
    started = time.perf_counter()
    try:
        with _progress(show_progress) as progress:
            task = progress.add_task("producing events", total=len(items))
            pending: list[asyncio.Future[object]] = []
            day = items[0][1]["occurred_at"][:10] if items else ""
            for n, (source, body) in enumerate(items, 1):
                if after_each_day and body["occurred_at"][:10] != day:
                    await asyncio.gather(*pending)
                    pending.clear()
                    progress.update(task, completed=n - 1)
                    await after_each_day()
                    day = body["occurred_at"][:10]
                pending.append(
                    await producer.send(
                        by_source[source], dumps(body), key=key_bytes(body["account_id"])
                    )
                )
                if len(pending) >= 5000:
                    await asyncio.gather(*pending)
                    pending.clear()
                    progress.update(task, completed=n)
                if rate:
                    ahead = n / rate - (time.perf_counter() - started)
                    if ahead > 0:
                        await asyncio.sleep(ahead)  # pacing to the target rate
            await asyncio.gather(*pending)
            progress.update(task, completed=len(items))
    finally:
        await stop_bounded(producer, 10)
    return len(items)


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
    )


def simulate(
    bootstrap: Brokers,
    topics: TopicNames,
    *,
    accounts: int,
    days: int,
    seed: int,
    rate: float | None,
    truth_path: Path,
) -> tuple[Workload, int]:
    """Make the workload, write its ground truth, produce it."""
    workload = make_workload(accounts, days, seed=seed)
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    truth_path.write_text(json.dumps(workload.ground_truth(), indent=1, sort_keys=True))
    count = asyncio.run(produce_workload(workload, bootstrap, topics, seed=seed, rate=rate))
    return workload, count


async def produce_invalid(bootstrap: Brokers, topics: TopicNames, *, count: int) -> int:
    """Bad input of several kinds, to show the dead-letter topic at work."""
    samples = [
        b"\xff\xfe not utf-8",
        b"{not json",
        b"[1, 2, 3]",
        b'{"event_id": "x", "account_id": "acct-00000", "type": "feature_used"}',
        b'{"event_id": "y", "account_id": "acct-00000", "occurred_at": "2026-01-01T00:00:00",'
        b' "type": "feature_used", "user_id": "u"}',
    ]
    messages = [(topics.usage, None, samples[i % len(samples)]) for i in range(count)]
    producer = make_producer(bootstrap, client_id="vigil-simulate")
    await producer.start()
    try:
        futures = [await producer.send(t, v, key=k) for t, k, v in messages]
        await asyncio.gather(*futures)
    finally:
        await stop_bounded(producer, 10)
    return len(messages)


def main(
    accounts: Annotated[int, typer.Option(help="Accounts in the population")] = 500,
    days: Annotated[int, typer.Option(help="Days of event time")] = 90,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same events)")] = 7,
    rate: Annotated[
        float | None, typer.Option(help="Events/s (default: as fast as possible)")
    ] = None,
    truth: Annotated[Path, typer.Option(help="Where to write the cohort ground truth")] = Path(
        ".vigil/ground-truth.json"
    ),
) -> None:
    """Produce a realistic workload (healthy, declining, churning, expanding, onboarding)."""
    load_stack_env()
    # VIGIL_KAFKA_BOOTSTRAP and the VIGIL_KAFKA_* security settings, as the services read them
    workload, count = simulate(
        ConnectionSettings().kafka,
        TopicNames(),
        accounts=accounts,
        days=days,
        seed=seed,
        rate=rate,
        truth_path=truth,
    )
    typer.echo(f"produced {count} events for {len(workload.accounts)} accounts; truth in {truth}")


if __name__ == "__main__":
    typer.run(main)
