"""Throughput rows: ceiling, ingest, scoring, naive baseline, Quix Streams peer, 2 vs 1."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.measure import rate_until
from shared.database.engine import create_engine
from shared.kafka.clients import client_options, make_consumer, stop_bounded
from tests.support.drain import topic_ends
from tests.support.services import Service

REPO = Path(__file__).resolve().parent.parent

NewDatabase = Callable[[], Awaitable[str]]


async def ceiling(bootstrap: str, topic: str, total: int) -> float:
    """A plain aiokafka consumer that reads the topic and does nothing else."""
    consumer = make_consumer(
        bootstrap, group_id=f"ceiling-{uuid.uuid4().hex[:6]}", client_id="bench-ceiling"
    )
    await consumer.start()
    seen = 0
    try:
        consumer.subscribe([topic])

        async def progress() -> int:
            nonlocal seen
            batch = await consumer.getmany(timeout_ms=100, max_records=5000)
            seen += sum(len(records) for records in batch.values())
            return seen

        return await rate_until(progress, total)
    finally:
        await stop_bounded(consumer, 5)


async def ingest(
    bootstrap: str,
    database_url: str,
    raw: dict[str, str],
    out: dict[str, str],
    total: int,
    logs: Path,
) -> float:
    group = f"bench-ingest-{uuid.uuid4().hex[:6]}"
    env = _topic_env(raw | out) | {
        "VIGIL_KAFKA_BOOTSTRAP": bootstrap,
        "VIGIL_DATABASE_URL": database_url,
        "VIGIL_GROUP_ID": group,
        "VIGIL_API_TOKEN": "bench-token-0123456789abcdef0123456789abcdef",
        "VIGIL_INSTANCE_ID": group,
        "VIGIL_LOG_LEVEL": "WARNING",
    }
    service = Service("ingest", env, logs / f"{group}.log").start()
    admin = AIOKafkaAdminClient(**client_options(bootstrap))
    await admin.start()
    try:

        async def progress() -> int:
            try:
                offsets = await admin.list_consumer_group_offsets(group)
            except GroupCoordinatorNotAvailableError:  # the broker's first group: not yet
                return 0
            return sum(meta.offset for meta in offsets.values() if meta.offset > 0)

        return await rate_until(progress, total)
    finally:
        await admin.close()
        service.stop()


async def scoring(
    bootstrap: str,
    database_url: str,
    topics: dict[str, str],
    total: int,
    logs: Path,
    *,
    instances: int = 1,
    batch_max_records: int | None = None,
) -> float:
    """The real scoring service (as processes) until its stored offsets reach the end."""
    group = f"bench-scoring-{uuid.uuid4().hex[:6]}"
    env = scoring_env(bootstrap, database_url, topics, group, batch_max_records)
    services = [
        Service("scoring", env | {"VIGIL_INSTANCE_ID": str(i)}, logs / f"{group}-{i}.log")
        for i in range(instances)
    ]
    for service in services:
        service.start()
    engine = create_engine(database_url, pool_size=1)
    try:
        return await rate_until(lambda: stored_position(engine, group), total)
    finally:
        await engine.dispose()
        for service in services:
            service.stop()


def scoring_env(
    bootstrap: str,
    database_url: str,
    topics: dict[str, str],
    group: str,
    batch_max_records: int | None = None,
) -> dict[str, str]:
    """The service's environment; its own batch size unless ``batch_max_records``."""
    size = {} if batch_max_records is None else {"VIGIL_BATCH_MAX_RECORDS": str(batch_max_records)}
    return (
        size
        | _topic_env(topics)
        | {
            "VIGIL_KAFKA_BOOTSTRAP": bootstrap,
            "VIGIL_DATABASE_URL": database_url,
            "VIGIL_GROUP_ID": group,
            "VIGIL_API_TOKEN": "bench-token-0123456789abcdef0123456789abcdef",
            "VIGIL_CLOCK_ENABLED": "false",
            "VIGIL_LOG_LEVEL": "WARNING",
        }
    )


async def stored_position(engine: AsyncEngine, group: str) -> int:
    """Records of ``group``'s partitions behind its offsets stored in PostgreSQL."""
    async with engine.connect() as conn:
        value = await conn.scalar(
            text("SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE group_id = :g"),
            {"g": group},
        )
    return int(value or 0)


async def quix_peer(python: str, bootstrap: str, topic: str, total: int) -> float:
    """The peer in its own interpreter (``python``, the peer virtualenv's)."""
    result = await asyncio.to_thread(
        subprocess.run,
        [
            python,
            "-m",
            "bench.peer_quix",
            "--bootstrap",
            bootstrap,
            "--topic",
            topic,
            "--count",
            str(total),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=REPO,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the Quix Streams peer failed: {result.stderr[-2000:]}")
    line = [ln for ln in result.stdout.splitlines() if ln.startswith("{")][-1]
    body = json.loads(line)
    return float(body["events"]) / float(body["seconds"])


async def topic_size(bootstrap: str, topic: str) -> int:
    return sum((await topic_ends(bootstrap, [topic])).values())


def _topic_env(topics: dict[str, str]) -> dict[str, str]:
    return {f"VIGIL_TOPICS__{name.upper()}": value for name, value in topics.items()}
