"""Reading a dead-letter topic as it is now, and sending originals back. Thin Kafka I/O."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.dlq.attempts import redrive_headers
from shared.dlq.records import DeadLetter, parse
from shared.kafka import make_consumer, make_producer, stop_bounded
from shared.kafka_connect import Brokers

READ_TIMEOUT_S = 60.0
METADATA_WAIT_S = 3.0


async def read_dead_letters(bootstrap: Brokers, topic: str) -> list[DeadLetter]:
    """Every record of ``topic`` up to its end when the call starts (what arrives later,
    such as a redrive's own failures, is for the next call), in partition/offset order."""
    consumer = make_consumer(bootstrap, group_id=None, client_id="vigil-dlq-reader")
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(await _partitions(consumer, topic))]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        found: list[DeadLetter] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READ_TIMEOUT_S
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            if loop.time() > deadline:
                raise TimeoutError(f"{topic}: not read to its end in {READ_TIMEOUT_S}s")
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                found.extend(
                    parse(r.partition, r.offset, r.key, r.value)
                    for r in records
                    if r.offset < ends[tp]
                )
        return sorted(found, key=lambda d: (d.partition, d.offset))
    finally:
        await stop_bounded(consumer, 5)


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    """The topic's partitions; none when the broker does not know it (nothing was ever
    dead-lettered there, and the stage that creates it has not started)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + METADATA_WAIT_S
    while not (partitions := consumer.partitions_for_topic(topic)):
        if loop.time() > deadline:
            return set()
        await consumer._client.force_metadata_update()
    return set(partitions)


async def send_back(bootstrap: Brokers, dead: Sequence[DeadLetter], redrive_id: str) -> None:
    """Each dead letter's original bytes to the topic they came from, as the next attempt."""
    if not dead:
        return
    producer = make_producer(bootstrap, client_id="vigil-dlq-redrive")
    await producer.start()
    try:
        sends = []
        for d in dead:
            assert d.record is not None
            headers = redrive_headers(d.record.attempt + 1, redrive_id)
            sends.append(
                await producer.send(
                    d.record.source_topic, d.original_bytes(), key=d.key, headers=headers
                )
            )
        await asyncio.gather(*sends)
    finally:
        await stop_bounded(producer, 10)
