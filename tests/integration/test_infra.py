"""The parts are real: a Kafka round trip and a PostgreSQL round trip."""

from __future__ import annotations

import asyncio

import orjson
from sqlalchemy import text

from shared.database.engine import create_engine, create_sessionmaker, transaction
from shared.kafka.clients import (
    TopicPartition,
    dumps,
    ensure_topics,
    key_bytes,
    make_consumer,
    make_producer,
    stop_bounded,
)


async def test_kafka_round_trip_by_key_and_partition(infra, topic_names) -> None:
    topic = topic_names.signals
    await ensure_topics(infra.kafka_bootstrap, [topic], partitions=4)
    producer = make_producer(infra.kafka_bootstrap, client_id="test-producer")
    await producer.start()
    try:
        sent = {}
        for i in range(20):
            account = f"acct-{i % 5}"
            meta = await producer.send_and_wait(
                topic, dumps({"n": i, "account_id": account}), key=key_bytes(account)
            )
            sent[i] = (account, meta.partition, meta.offset)
    finally:
        await stop_bounded(producer, 10)

    consumer = make_consumer(infra.kafka_bootstrap, group_id=None, client_id="test-consumer")
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(4)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        received: dict[int, tuple[str, int, int]] = {}
        deadline = asyncio.get_running_loop().time() + 30
        while len(received) < 20 and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for tp, messages in batch.items():
                for message in messages:
                    body = orjson.loads(message.value)
                    received[body["n"]] = (message.key.decode(), tp.partition, message.offset)
    finally:
        await stop_bounded(consumer, 10)

    assert received == sent
    # the same key always lands on the same partition
    by_account: dict[str, set[int]] = {}
    for account, partition, _ in received.values():
        by_account.setdefault(account, set()).add(partition)
    assert all(len(p) == 1 for p in by_account.values())


async def test_postgres_round_trip_after_migrations(infra) -> None:
    engine = create_engine(infra.database_url)
    sessions = create_sessionmaker(engine)
    try:
        async with transaction(sessions) as session:
            await session.execute(
                text(
                    "INSERT INTO consumer_offsets (group_id, topic, partition, next_offset)"
                    " VALUES ('test-rt', 't', 0, 42)"
                    " ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = 42"
                )
            )
        async with sessions() as session:
            stored = await session.scalar(
                text("SELECT next_offset FROM consumer_offsets WHERE group_id = 'test-rt'")
            )
            version = await session.scalar(text("SELECT version_num FROM alembic_version"))
        assert stored == 42
        assert version is not None
    finally:
        await engine.dispose()
