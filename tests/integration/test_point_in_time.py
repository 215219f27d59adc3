"""Point-in-time truth under an event-time replay: every published state was true at its time.

History replayed in event-time order as fast as the broker takes it, all four
sources interleaved, into a pipeline that is idle and read to the present:
every published health change (the last revision at its ``as_of``) must equal
the pure model applied to the account's events up to that ``as_of``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from shared.database.engine import create_engine
from shared.kafka.clients import ensure_topics
from shared.settings.common import TopicNames
from tests.integration.kafka_io import produce
from tests.integration.test_event_time import pipeline, read_all
from tests.support.drain import wait_drained
from tests.support.evaluation.point_in_time import check, signals_of
from tests.support.workload import events, make_workload

pytestmark = pytest.mark.asyncio(loop_scope="session")

SOURCES = ("usage", "ticket", "payment", "survey")


async def wait_read_to_the_present(engine: Any, timeout_s: float = 60) -> None:
    """Scoring holds a caught-up report of every source: the pipeline is idle and current."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        async with engine.connect() as conn:
            caught_up = await conn.scalar(
                text(
                    "SELECT count(DISTINCT source) FROM source_watermarks"
                    " WHERE caught_up AND watermark IS NOT NULL"
                )
            )
        if caught_up == len(SOURCES):
            return
        assert loop.time() < deadline, "the idle pipeline never reported every source read"
        await asyncio.sleep(0.2)


async def test_an_event_time_replay_publishes_only_true_states(
    infra: Any, topic_names: TopicNames, database: str
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    workload = make_workload(16, 75, seed=41, end=datetime.now(UTC) - timedelta(hours=1))
    items = sorted(events(workload, seed=41), key=lambda i: (i[1]["occurred_at"], i[1]["event_id"]))
    by_source = topic_names.topic_of_source()
    messages = [(by_source[s], e["account_id"].encode(), orjson.dumps(e)) for s, e in items]
    engine = create_engine(database, pool_size=1)
    try:
        async with pipeline(infra, topic_names, database, ingest_batch=200) as (groups, _apps):
            await wait_read_to_the_present(engine)
            await produce(infra.kafka_bootstrap, messages, linger_ms=5)
            await wait_drained(
                engine, infra.kafka_bootstrap, topic_names.model_dump(), groups, timeout_s=300
            )
        async with engine.connect() as conn:
            unscored = await conn.scalar(text("SELECT count(*) FROM accounts WHERE score IS NULL"))
    finally:
        await engine.dispose()
    changes = [
        orjson.loads(r.value)
        for r in await read_all(infra.kafka_bootstrap, topic_names.health_changes)
    ]
    assert unscored == 0
    truth = check(changes, signals_of(items))
    assert truth.total > 0
    assert truth.ok, truth.detail() + "\n" + "\n".join(truth.false)
