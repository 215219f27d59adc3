"""PostgreSQL's offsets are the truth: Kafka's committed offsets (the mirror) are never a
starting point, even when they are ahead of the database (its last commits lost)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from sqlalchemy.ext.asyncio import AsyncSession

from shared.consumer.loop import DbOffsetsConsumer, LoopOptions
from shared.consumer.offsets import load_offsets
from shared.database.engine import create_engine, create_sessionmaker
from shared.kafka.clients import ensure_topics, make_consumer, stop_bounded
from tests.integration.kafka_io import produce, wait_for

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def mirror_at_the_end(bootstrap: str, group_id: str, topic: str) -> None:
    """The group's Kafka offsets at the end of every partition, as the loop's mirror
    leaves them after commits the database then lost."""
    consumer = make_consumer(bootstrap, group_id=group_id, client_id="mirror")
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(2)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.commit(ends)
    finally:
        await stop_bounded(consumer, 5)


async def test_a_partition_with_no_stored_offset_starts_at_its_beginning(infra, database) -> None:
    topic = f"truth.{uuid.uuid4().hex[:8]}"
    group_id = f"truth-{uuid.uuid4().hex[:6]}"
    await ensure_topics(infra.kafka_bootstrap, [topic], partitions=2)
    values = [f"v{i}".encode() for i in range(40)]
    await produce(
        infra.kafka_bootstrap, [(topic, f"k{i}".encode(), v) for i, v in enumerate(values)]
    )
    await mirror_at_the_end(infra.kafka_bootstrap, group_id, topic)

    seen: list[bytes] = []

    async def handle(_session: AsyncSession, records: Sequence[ConsumerRecord]) -> None:
        seen.extend(r.value for r in records)

    engine = create_engine(database, pool_size=2)
    sessions = create_sessionmaker(engine)
    options = LoopOptions(
        bootstrap=infra.kafka_bootstrap, group_id=group_id, topics=[topic], client_id="truth"
    )
    stop = asyncio.Event()
    task = asyncio.create_task(DbOffsetsConsumer(options, sessions, handle).run(stop))

    async def all_applied() -> bool:
        async with sessions() as session:
            stored = await load_offsets(session, group_id)
        return sum(stored.values()) == len(values) and len(seen) == len(values)

    try:
        await wait_for(all_applied, timeout_s=60, what="every record applied from the start")
    finally:
        stop.set()
        await task
        await engine.dispose()
    assert sorted(seen) == sorted(values)
