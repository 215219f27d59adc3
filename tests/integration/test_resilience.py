"""Outages: PostgreSQL down for 30 s, the broker restarted; results equal an undisturbed run."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text

from services.ingest.app import create_app as ingest_app
from services.ingest.config import IngestSettings
from services.scoring.app import create_app as scoring_app
from services.scoring.config import ScoringSettings
from services.triggers.app import create_app as triggers_app
from services.triggers.config import TriggersSettings
from shared import stack
from shared.database.engine import create_engine
from shared.kafka.clients import ensure_topics
from shared.settings.common import TopicNames
from tests.integration.kafka_io import produce, wait_for
from tests.integration.keys import SECRETS_KEY
from tests.integration.pipeline import assert_same_state, snapshot
from tests.integration.processes import ServiceProcess
from tests.support.drain import wait_drained
from tests.support.workload import events, make_workload

pytestmark = pytest.mark.asyncio(loop_scope="session")
TOKEN = "test-token-resilience-0123456789abcdef0123456789abcdef"


def own_topics(raw: TopicNames) -> TopicNames:
    """The raw topics shared, everything downstream of them a run's own."""
    suffix = uuid.uuid4().hex[:6]
    return raw.model_copy(
        update={
            name: f"{getattr(raw, name)}.{suffix}"
            for name in ("signals", "dlq", "health_changes", "playbook_events")
        }
    )


@pytest.fixture(scope="module")
async def raw_topics(infra) -> TopicNames:
    suffix = uuid.uuid4().hex[:8]
    topics = TopicNames(**{k: f"{v}.{suffix}" for k, v in TopicNames().model_dump().items()})
    await ensure_topics(infra.kafka_bootstrap, topics.model_dump().values())
    workload = make_workload(40, 40, seed=21, end=datetime.now(UTC))
    by_source = topics.topic_of_source()
    await produce(
        infra.kafka_bootstrap,
        [
            (by_source[s], e["account_id"].encode(), orjson.dumps(e))
            for s, e in events(workload, seed=21)
        ],
    )
    return topics


def groups() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:6]
    return {name: f"{name}-{suffix}" for name in ("ingest", "scoring", "triggers")}


@pytest.fixture(scope="module")
async def undisturbed(infra, raw_topics, make_database) -> dict[str, Any]:
    database = await asyncio.to_thread(make_database)
    topics, names = own_topics(raw_topics), groups()
    await ensure_topics(infra.kafka_bootstrap, topics.model_dump().values())
    common: dict[str, Any] = {
        "kafka_bootstrap": infra.kafka_bootstrap,
        "database_url": database,
        "api_token": TOKEN,
        "topics": topics,
    }
    apps = [
        ingest_app(IngestSettings(**common, group_id=names["ingest"])),
        scoring_app(ScoringSettings(**common, group_id=names["scoring"], clock_enabled=False)),
        triggers_app(
            TriggersSettings(
                **common, group_id=names["triggers"], clock_enabled=False, secrets_key=SECRETS_KEY
            )
        ),
    ]
    engine = create_engine(database, pool_size=1)
    try:
        async with AsyncExitStack() as lifespans:
            for app in apps:
                await lifespans.enter_async_context(app.router.lifespan_context(app))
            await wait_drained(
                engine, infra.kafka_bootstrap, topics.model_dump(), names, timeout_s=240
            )
    finally:
        await engine.dispose()
    return await snapshot(database)


async def disturbed_run(
    infra,
    raw_topics: TopicNames,
    database: str,
    tmp_path,
    disrupt: Callable[[list[ServiceProcess]], Awaitable[None]],
) -> dict[str, Any]:
    topics, names = own_topics(raw_topics), groups()
    await ensure_topics(infra.kafka_bootstrap, topics.model_dump().values())
    base = {f"VIGIL_TOPICS__{k.upper()}": v for k, v in topics.model_dump().items()} | {
        "VIGIL_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "VIGIL_DATABASE_URL": database,
        "VIGIL_API_TOKEN": TOKEN,
        "VIGIL_SECRETS_KEY": SECRETS_KEY,
        "VIGIL_CLOCK_ENABLED": "false",
        "VIGIL_BATCH_MAX_RECORDS": "200",
    }
    services = [
        ServiceProcess(name, base | {"VIGIL_GROUP_ID": group}, tmp_path)
        for name, group in names.items()
    ]
    engine = create_engine(database, pool_size=1)
    try:
        for service in services:
            service.start()
        for service in services:
            await asyncio.to_thread(service.wait_ready)

        async def some_applied() -> bool:
            async with engine.connect() as conn:
                return bool(await conn.scalar(text("SELECT count(*) > 2000 FROM applied_events")))

        await wait_for(some_applied, timeout_s=120, what="part of the stream applied")
        await disrupt(services)
        for service in services:
            await asyncio.to_thread(service.wait_ready, 120)
        await wait_drained(engine, infra.kafka_bootstrap, topics.model_dump(), names, timeout_s=300)
    finally:
        await engine.dispose()
        for service in services:
            code = service.terminate(20)
            assert code == 0, service.log_tail()
    # the outage was seen: a session retried, or the Kafka client logged the lost connection and
    # recovered by itself (a 5 s broker restart often needs no new session)
    seen = ("retrying", "KafkaConnectionError", "Unable connect to node")
    logs = [s.log_path.read_text() for s in services]
    assert any(mark in log for log in logs for mark in seen), "outage not logged"
    return await snapshot(database)


def stack_of(infra: Any) -> stack.StackConfig:
    if infra.stack is None:
        pytest.skip("needs the stack the suite starts itself (VIGIL_* addresses were given)")
    config: stack.StackConfig = infra.stack
    return config


async def test_postgres_down_for_30_seconds(infra, raw_topics, undisturbed, database, tmp_path):
    config = stack_of(infra)

    async def outage(services: list[ServiceProcess]) -> None:
        scoring = next(s for s in services if s.name == "scoring")
        await asyncio.to_thread(stack.stop_postgres, config)
        try:
            async with httpx.AsyncClient() as client:

                async def not_ready() -> bool:
                    return (await client.get(f"{scoring.url}/readyz")).status_code == 503

                await wait_for(not_ready, timeout_s=20, what="readiness false without the database")
            await asyncio.sleep(30)  # the outage itself, not a synchronization
        finally:
            await asyncio.to_thread(stack.start_postgres, config)

    after = await disturbed_run(infra, raw_topics, database, tmp_path, outage)
    assert_same_state(after, undisturbed)


async def test_broker_restart(infra, raw_topics, undisturbed, database, tmp_path) -> None:
    config = stack_of(infra)

    async def restart(_services: list[ServiceProcess]) -> None:
        await asyncio.to_thread(stack.restart_kafka, config, down_s=5)

    after = await disturbed_run(infra, raw_topics, database, tmp_path, restart)
    assert_same_state(after, undisturbed)
