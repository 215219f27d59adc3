"""Waiting for the pipeline to drain: every consumer at the end, every outbox empty."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.contracts.watermarks import is_watermark
from shared.kafka.clients import Brokers, client_options, make_consumer, stop_bounded


@dataclass(frozen=True)
class Backlog:
    ingest: int
    scoring: int
    triggers: int
    outbox: int
    webhooks: int
    held_back: int = 0  # accounts a watermark still holds back (judged before their last event)

    @property
    def total(self) -> int:
        queued = self.ingest + self.scoring + self.triggers + self.outbox + self.webhooks
        return queued + self.held_back


async def topic_ends(bootstrap: Brokers, topics: list[str]) -> dict[TopicPartition, int]:
    """End offsets of every partition of ``topics``; a topic the broker does not know is an error
    (skipping it would read as "nothing left to do")."""
    consumer = make_consumer(bootstrap, group_id=None, client_id="vigil-drain")
    await consumer.start()
    try:
        deadline = time.monotonic() + 10
        while missing := [t for t in topics if not consumer.partitions_for_topic(t)]:
            if time.monotonic() > deadline:
                raise LookupError(f"topics not on the broker: {missing}")
            await consumer._client.force_metadata_update()
        partitions = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t)
        ]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return ends
    finally:
        await stop_bounded(consumer, 5)


async def count_records(bootstrap: Brokers, topic: str) -> int:
    """Records on ``topic`` (end offsets overcount: transaction markers take offsets).

    Watermark records on ``signals`` (header ``vigil-kind: watermark``) are not counted.
    """
    ends = await topic_ends(bootstrap, [topic])
    consumer = make_consumer(bootstrap, group_id=None, client_id="vigil-count")
    await consumer.start()
    count = 0
    try:
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            positions = [await consumer.position(tp) for tp in ends]
            if all(p >= end for p, end in zip(positions, ends.values(), strict=True)):
                break
            batch = await consumer.getmany(timeout_ms=500)
            count += sum(
                1 for records in batch.values() for r in records if not is_watermark(r.headers)
            )
    finally:
        await stop_bounded(consumer, 5)
    return count


async def kafka_group_lag(bootstrap: Brokers, group: str, topics: list[str]) -> int:
    ends = await topic_ends(bootstrap, topics)
    admin = AIOKafkaAdminClient(**client_options(bootstrap))
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    except KafkaError as error:
        if not error.retriable:  # a new broker has no coordinator until __consumer_offsets exists
            raise
        committed = {}
    finally:
        await admin.close()
    return sum(
        max(0, end - (committed[tp].offset if tp in committed else 0)) for tp, end in ends.items()
    )


async def db_group_lag(engine: AsyncEngine, bootstrap: Brokers, group: str, topic: str) -> int:
    ends = await topic_ends(bootstrap, [topic])
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT partition, next_offset FROM consumer_offsets WHERE group_id = :g"
                " AND topic = :t"
            ),
            {"g": group, "t": topic},
        )
        stored = {r.partition: r.next_offset for r in rows}
    return sum(max(0, end - stored.get(tp.partition, 0)) for tp, end in ends.items())


async def _queued(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        outbox = int(await conn.scalar(text("SELECT count(*) FROM outbox")) or 0)
        hooks = await conn.scalar(
            text("SELECT count(*) FROM webhook_deliveries WHERE status IN ('pending', 'in_flight')")
        )
    return outbox, int(hooks or 0)


async def held_back_accounts(engine: AsyncEngine) -> int:
    """Accounts scoring judged before their latest event: re-scored once the watermarks pass."""
    async with engine.connect() as conn:
        held = await conn.scalar(
            text(
                "SELECT count(*) FROM accounts"
                " WHERE scored_as_of IS NULL OR scored_as_of < last_event_at"
            )
        )
    return int(held or 0)


async def backlog(
    engine: AsyncEngine, bootstrap: Brokers, topics: dict[str, str], groups: dict[str, str]
) -> Backlog:
    """Measured in pipeline order, so a stage seen empty has handed everything downstream."""
    raw = [topics["usage"], topics["ticket"], topics["payment"], topics["survey"]]
    ingest = await kafka_group_lag(bootstrap, groups["ingest"], raw)
    scoring = await db_group_lag(engine, bootstrap, groups["scoring"], topics["signals"])
    held = await held_back_accounts(engine)
    scored_outbox, _ = await _queued(engine)
    triggers = await db_group_lag(engine, bootstrap, groups["triggers"], topics["health_changes"])
    outbox, hooks = await _queued(engine)
    return Backlog(ingest, scoring, triggers, max(scored_outbox, outbox), hooks, held)


async def wait_drained(
    engine: AsyncEngine,
    bootstrap: Brokers,
    topics: dict[str, str],
    groups: dict[str, str],
    *,
    timeout_s: float = 900,
    report: Callable[[Backlog], None] = lambda _b: None,
) -> float:
    """Until nothing is left anywhere twice in a row; returns the seconds it took."""
    started = time.monotonic()
    quiet = 0
    while quiet < 2:
        current = await backlog(engine, bootstrap, topics, groups)
        report(current)
        quiet = quiet + 1 if current.total == 0 else 0
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"pipeline not drained after {timeout_s:.0f}s: {current}")
        await asyncio.sleep(0.5)
    return time.monotonic() - started
