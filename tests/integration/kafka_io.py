"""Test-side Kafka helpers: produce raw bytes, read a topic back with a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from aiokafka import ConsumerRecord, TopicPartition

from shared.contracts.watermarks import is_watermark
from shared.kafka.clients import Brokers, make_consumer, make_producer, stop_bounded


async def produce(
    bootstrap: Brokers, messages: Iterable[tuple[str, bytes | None, bytes]], *, linger_ms: int = 20
) -> int:
    """Send (topic, key, value) messages and wait for every acknowledgement."""
    producer = make_producer(bootstrap, client_id="test-producer", linger_ms=linger_ms)
    await producer.start()
    try:
        futures = [await producer.send(t, v, key=k) for t, k, v in messages]
        await asyncio.gather(*futures)
        return len(futures)
    finally:
        await stop_bounded(producer, 10)


async def read_topic(
    bootstrap: Brokers,
    topic: str,
    *,
    until: Callable[[list[ConsumerRecord]], bool],
    timeout_s: float = 60.0,
    partitions: int = 4,
) -> list[ConsumerRecord]:
    """Read ``topic`` from the beginning (committed messages only) until ``until`` holds.

    Watermark records (header ``vigil-kind: watermark``) are skipped.
    Raises TimeoutError with what was read when the deadline passes first.
    """
    consumer = make_consumer(bootstrap, group_id=None, client_id="test-reader")
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not until(records):
            if loop.time() > deadline:
                raise TimeoutError(
                    f"{topic}: condition not met after {timeout_s}s ({len(records)} read)"
                )
            batch = await consumer.getmany(timeout_ms=300)
            for part in batch.values():
                # watermark records share `signals` with the signals; tests read signals
                records.extend(r for r in part if not is_watermark(r.headers))
        return records
    finally:
        await stop_bounded(consumer, 10)


async def wait_for(
    check: Callable[[], object], *, timeout_s: float = 30.0, what: str = "condition"
) -> None:
    """Await until ``check()`` is truthy (it may be a coroutine function's result)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise TimeoutError(f"{what} not met after {timeout_s}s")
        await asyncio.sleep(0.1)
