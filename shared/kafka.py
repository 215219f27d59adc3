"""aiokafka helpers: clients with safe defaults, orjson payloads, topics.

Offsets are never auto-committed: each consumer loop decides when its
output is durable (Kafka transaction, or the database transaction that also
stores the offsets).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.logging import get_logger

log = get_logger(__name__)

MAX_MESSAGE_BYTES = 2 * 1024 * 1024


def dumps(value: Any) -> bytes:
    """JSON bytes for a payload (datetimes as RFC 3339, Decimals as strings)."""
    return orjson.dumps(value, default=_default)


def _default(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def key_bytes(account_id: str) -> bytes:
    return account_id.encode("utf-8")


def make_producer(bootstrap: str, *, client_id: str, **overrides: Any) -> AIOKafkaProducer:
    """An idempotent producer that waits for all in-sync replicas."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "client_id": client_id,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        "max_request_size": MAX_MESSAGE_BYTES,
        "request_timeout_ms": 30_000,
        "compression_type": None,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def make_consumer(
    bootstrap: str, *, group_id: str | None, client_id: str, **overrides: Any
) -> AIOKafkaConsumer:
    """A consumer that never auto-commits and reads only committed messages."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "group_id": group_id,
        "client_id": client_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        "max_partition_fetch_bytes": MAX_MESSAGE_BYTES,
        "fetch_max_bytes": 16 * 1024 * 1024,
        "max_poll_interval_ms": 300_000,
        "session_timeout_ms": 30_000,
        "heartbeat_interval_ms": 3_000,
    }
    options.update(overrides)
    return AIOKafkaConsumer(**options)


async def send_all(
    producer: AIOKafkaProducer, messages: Iterable[tuple[str, bytes | None, bytes]]
) -> None:
    """Send (topic, key, value) messages and wait until Kafka acknowledged all of them.

    Enqueue everything first, then await the futures together: awaiting each
    send in turn would serialize the producer.
    """
    futures = [await producer.send(topic, value, key=key) for topic, key, value in messages]
    if futures:
        await asyncio.gather(*futures)


async def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    *,
    partitions: int = 4,
    configs: Mapping[str, str] | None = None,
) -> None:
    """Create the topics that do not exist yet (idempotent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="vigil-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name=t,
                num_partitions=partitions,
                replication_factor=1,
                topic_configs=dict(configs or {}),
            )
            for t in dict.fromkeys(topics)
            if t not in existing
        ]
        if wanted:
            # another instance may create them at the same moment
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
            await _wait_for_topics(admin, [t.name for t in wanted])
    finally:
        await admin.close()


async def _wait_for_topics(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while loop.time() < deadline:
        if set(names) <= set(await admin.list_topics()):
            return
        await asyncio.sleep(0.1)
    raise KafkaError(f"topics not visible after 30 s: {names}")


async def stop_bounded(client: AIOKafkaConsumer | AIOKafkaProducer, timeout_s: float) -> None:
    """Stop a client, giving up after ``timeout_s``: stop() can hang with no broker."""
    try:
        await asyncio.wait_for(client.stop(), timeout_s)
    except (TimeoutError, KafkaError, OSError) as error:
        log.warning("kafka client stop did not finish", error=repr(error), timeout_s=timeout_s)


async def end_offsets(
    consumer: AIOKafkaConsumer, partitions: Iterable[TopicPartition]
) -> dict[TopicPartition, int]:
    result: dict[TopicPartition, int] = await consumer.end_offsets(list(partitions))
    return result


__all__ = [
    "AIOKafkaConsumer",
    "AIOKafkaProducer",
    "TopicPartition",
    "dumps",
    "end_offsets",
    "ensure_topics",
    "key_bytes",
    "make_consumer",
    "make_producer",
    "send_all",
    "stop_bounded",
]
