"""The DB consumer loop on the real broker and database: a record PostgreSQL refuses is
isolated and dead-lettered in the batch's transaction; lag stays true while a loop fails."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from decimal import Decimal

import orjson
import pytest
from aiokafka import ConsumerRecord, TopicPartition
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.consumer.failures import FailureKind
from shared.consumer.lag_monitor import LagMonitor, lag_reporter
from shared.consumer.loop import DbOffsetsConsumer, LoopOptions
from shared.consumer.offsets import load_offsets
from shared.contracts import DlqRecord
from shared.database.engine import create_engine, create_sessionmaker
from shared.errors import DatabaseUnavailable
from shared.kafka.clients import ensure_topics
from shared.metrics import ConsumerMetricSet
from tests.integration.kafka_io import produce, wait_for

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def upsert(session: AsyncSession, records: Sequence[ConsumerRecord]) -> None:
    """Like scoring's state upserts: an int4 column, a summed float, a numeric."""
    for record in records:
        row = orjson.loads(record.value)
        await session.execute(
            text(
                "INSERT INTO probe (k, seats, q, arr) VALUES (:k, :seats, :q, :arr)"
                " ON CONFLICT (k) DO UPDATE SET q = probe.q + EXCLUDED.q,"
                " seats = EXCLUDED.seats, arr = EXCLUDED.arr"
            ),
            {"k": row["k"], "seats": row["seats"], "q": row["q"], "arr": Decimal(row["arr"])},
        )


def row(k: str, seats: int = 1, q: float = 1.0, arr: str = "1") -> bytes:
    return orjson.dumps({"k": k, "seats": seats, "q": q, "arr": arr})


async def test_records_postgresql_refuses_are_dead_lettered_and_the_rest_applied(
    infra, database
) -> None:
    topic, dlq = f"probe.{uuid.uuid4().hex[:8]}", "probe.dlq"
    poison = [
        row("p-seats", seats=2_147_483_648),  # asyncpg: value out of int32 range
        row("p-q", q=1e308),  # applied: alone it fits a double
        row("p-q", q=1e308),  # the sum overflows in PostgreSQL
        row("p-nul", arr="NaN"),  # applied: numeric takes NaN (the contracts refuse it)
    ]
    good = [row(f"g-{i % 7}") for i in range(70)]
    stream = good[:20] + poison[:2] + good[20:50] + poison[2:] + good[50:]
    await ensure_topics(infra.kafka_bootstrap, [topic], partitions=4)
    await produce(infra.kafka_bootstrap, [(topic, b"k", v) for v in stream])
    engine = create_engine(database, pool_size=2)
    async with engine.begin() as conn:
        await conn.execute(
            text("CREATE TABLE probe (k text PRIMARY KEY, seats int, q float8, arr numeric)")
        )
    kinds: list[FailureKind] = []
    options = LoopOptions(
        bootstrap=infra.kafka_bootstrap,
        group_id=f"probe-{uuid.uuid4().hex[:6]}",
        topics=[topic],
        client_id="probe",
        batch_max_records=40,
        dead_letter_topic=dlq,
        stage="scoring",
    )
    loop = DbOffsetsConsumer(options, create_sessionmaker(engine), upsert, on_failure=kinds.append)
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))

    async def drained() -> bool:
        async with create_sessionmaker(engine)() as session:
            stored = await load_offsets(session, options.group_id)
        return sum(stored.values()) == len(stream)

    try:
        await wait_for(drained, timeout_s=60, what="every record applied or dead-lettered")
    finally:
        stop.set()
        await task
    async with engine.connect() as conn:
        rows = {r.k: r for r in await conn.execute(text("SELECT * FROM probe"))}
        outbox = (await conn.execute(text("SELECT topic, payload FROM outbox"))).all()
    await engine.dispose()
    # no outbox relay runs here: the dead letters wait in the outbox, committed with the rest
    letters = [DlqRecord.model_validate_json(p) for t, p in outbox if t == dlq]
    assert sorted(d.offset for d in letters) == [20, 52]
    assert {d.reason.code for d in letters} == {"database_rejected"}
    assert sum(r.q for k, r in rows.items() if k.startswith("g-")) == 70
    assert rows["p-q"].q == 1e308 and "p-seats" not in rows and "p-nul" in rows
    assert kinds == [FailureKind.permanent] * 2


class ProbeMetrics(ConsumerMetricSet):
    prefix = "probe"


async def test_lag_gauge_rises_while_the_consumer_is_stuck(infra, database) -> None:
    topic = f"stuck.{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.kafka_bootstrap, [topic], partitions=2)
    engine = create_engine(database, pool_size=2)
    sessions = create_sessionmaker(engine)

    async def always_down(_session: AsyncSession, _records: Sequence[ConsumerRecord]) -> None:
        raise DatabaseUnavailable("the database is away")

    metrics = ProbeMetrics(CollectorRegistry())
    registry = metrics.registry
    group = f"stuck-{uuid.uuid4().hex[:6]}"
    options = LoopOptions(infra.kafka_bootstrap, group, [topic], "stuck", fetch_timeout_ms=50)
    loop = DbOffsetsConsumer(options, sessions, always_down, on_failure=metrics.failed)

    async def stored() -> dict[TopicPartition, int]:
        async with sessions() as session:
            return await load_offsets(session, group)

    monitor = LagMonitor(
        infra.kafka_bootstrap,
        [topic],
        stored,
        lag_reporter(metrics, loop.health),
        interval_s=0.3,
    )

    def total() -> float:
        return sum(
            registry.get_sample_value(
                "vigil_probe_consumer_lag_messages", {"topic": topic, "partition": str(p)}
            )
            or 0
            for p in range(2)
        )

    stop = asyncio.Event()
    tasks = [asyncio.create_task(loop.run(stop)), asyncio.create_task(monitor.run(stop))]
    try:
        await produce(infra.kafka_bootstrap, [(topic, b"a", b"1")] * 30)
        await wait_for(lambda: total() == 30, timeout_s=30, what="lag 30")
        await produce(infra.kafka_bootstrap, [(topic, b"b", b"2")] * 20)
        await wait_for(lambda: total() == 50, timeout_s=30, what="lag 50")
        transient = registry.get_sample_value("vigil_probe_failures_total", {"kind": "transient"})
        assert transient and transient >= 1
        await wait_for(lambda: loop.health.stalled_s() > 1.0, timeout_s=30, what="stall")
        reasons = loop.health.not_ready_because(1.0)
        assert "the database is away" in reasons["progress"]
        assert (registry.get_sample_value("vigil_probe_consumer_stalled_seconds") or 0) > 0
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await engine.dispose()
