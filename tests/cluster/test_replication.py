"""On a 3-broker cluster: Vigil's topics are replicated, and losing a broker and an instance
of each of two services mid-stream changes nothing in the final state."""

from __future__ import annotations

import asyncio
import os
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient
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
from shared.kafka.topics import describe_layouts
from shared.settings.common import TopicNames
from tests.integration.kafka_io import produce, wait_for
from tests.integration.keys import SECRETS_KEY
from tests.integration.pipeline import snapshot, state_differences
from tests.integration.processes import ServiceProcess
from tests.integration.streams import bad_payloads
from tests.support.drain import count_records, wait_drained
from tests.support.workload import events, make_workload

pytestmark = pytest.mark.asyncio(loop_scope="session")
TOKEN = "test-token-cluster-0123456789abcdef0123456789abcdef"
ACCOUNTS = int(os.environ.get("VIGIL_CLUSTER_ACCOUNTS", "150"))
BAD = 100
REPLICATED = {"topic_replication_factor": 3, "topic_min_insync_replicas": 2}


def fresh_topics(
    base: TopicNames | None = None, names: tuple[str, ...] | None = None
) -> TopicNames:
    suffix = uuid.uuid4().hex[:6]
    base = base or TopicNames()
    fields = names or tuple(base.model_dump())
    return base.model_copy(update={n: f"{getattr(base, n)}.{suffix}" for n in fields})


def groups() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:6]
    return {name: f"{name}-{suffix}" for name in ("ingest", "scoring", "triggers")}


async def describe(bootstrap: str, topics: list[str]) -> tuple[dict[str, Any], list[Any]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return await describe_layouts(admin, topics), await admin.describe_topics(topics)
    finally:
        await admin.close()


async def test_starting_vigil_creates_its_topics_with_the_configured_replication(
    infra, topic_names, database
) -> None:
    common: dict[str, Any] = {
        "kafka_bootstrap": infra.kafka_bootstrap,
        "database_url": database,
        "api_token": TOKEN,
        "topics": topic_names,
        **REPLICATED,
    }
    apps = [
        ingest_app(IngestSettings(**common), run_loops=False),
        scoring_app(ScoringSettings(**common), run_loops=False),
        triggers_app(TriggersSettings(**common, secrets_key=SECRETS_KEY), run_loops=False),
    ]
    names = list(topic_names.model_dump().values())
    async with AsyncExitStack() as lifespans:
        for app in apps:
            await lifespans.enter_async_context(app.router.lifespan_context(app))
    layouts, metadata = await describe(infra.kafka_bootstrap, names)
    assert {
        (t, lay.partitions, lay.replication_factor, lay.min_insync_replicas)
        for t, lay in layouts.items()
    } == {(t, 4, 3, 2) for t in names}
    for topic in metadata:
        for partition in topic["partitions"]:
            assert len(set(partition["replicas"])) == 3, "each replica on its own broker"
    # unset, the replication factor is the broker's default (3 on this cluster)
    default = f"default-rf.{uuid.uuid4().hex[:6]}"
    await ensure_topics(infra.kafka_bootstrap, [default])
    by_default, _ = await describe(infra.kafka_bootstrap, [default])
    assert by_default[default].replication_factor == 3


@pytest.fixture(scope="module")
async def raw(infra) -> tuple[TopicNames, int]:
    """The raw topics, produced once: a realistic workload plus bad input of every kind."""
    topics = fresh_topics()
    await ensure_topics(
        infra.kafka_bootstrap,
        topics.model_dump().values(),
        replication_factor=3,
        min_insync_replicas=2,
    )
    workload = make_workload(ACCOUNTS, 60, seed=16, end=datetime.now(UTC))
    by_source = topics.topic_of_source()
    messages = [
        (by_source[s], e["account_id"].encode(), orjson.dumps(e))
        for s, e in events(workload, seed=16)
    ]
    messages += [
        (topics.usage, f"bad-{i}".encode(), p) for i, (_c, p) in enumerate(bad_payloads(BAD))
    ]
    await produce(infra.kafka_bootstrap, messages)
    return topics, len(messages)


async def outputs(bootstrap: str, topics: TopicNames) -> tuple[int, int]:
    return await count_records(bootstrap, topics.signals), await count_records(
        bootstrap, topics.dlq
    )


@pytest.fixture(scope="module")
async def undisturbed(infra, raw, make_database) -> tuple[dict[str, Any], tuple[int, int]]:
    database = await asyncio.to_thread(make_database)
    topics = fresh_topics(raw[0], ("signals", "dlq", "health_changes", "playbook_events"))
    names = groups()
    common: dict[str, Any] = {
        "kafka_bootstrap": infra.kafka_bootstrap,
        "database_url": database,
        "api_token": TOKEN,
        "topics": topics,
        **REPLICATED,
    }
    apps = [
        ingest_app(IngestSettings(**common, group_id=names["ingest"])),
        scoring_app(ScoringSettings(**common, group_id=names["scoring"], clock_enabled=False)),
        triggers_app(
            TriggersSettings(
                **common,
                secrets_key=SECRETS_KEY,
                group_id=names["triggers"],
                clock_enabled=False,
            )
        ),
    ]
    engine = create_engine(database, pool_size=1)
    try:
        async with AsyncExitStack() as lifespans:
            for app in apps:
                await lifespans.enter_async_context(app.router.lifespan_context(app))
            await wait_drained(
                engine, infra.kafka_bootstrap, topics.model_dump(), names, timeout_s=900
            )
    finally:
        await engine.dispose()
    return await snapshot(database), await outputs(infra.kafka_bootstrap, topics)


async def test_a_broker_and_service_instances_killed_mid_stream_change_nothing(
    infra, raw, undisturbed, database, tmp_path
) -> None:
    raw_topics, produced = raw
    expected, expected_outputs = undisturbed
    topics = fresh_topics(raw_topics, ("signals", "dlq", "health_changes", "playbook_events"))
    names = groups()
    env = {f"VIGIL_TOPICS__{k.upper()}": v for k, v in topics.model_dump().items()} | {
        "VIGIL_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "VIGIL_DATABASE_URL": database,
        "VIGIL_API_TOKEN": TOKEN,
        "VIGIL_SECRETS_KEY": SECRETS_KEY,
        "VIGIL_CLOCK_ENABLED": "false",
        "VIGIL_BATCH_MAX_RECORDS": "300",
        "VIGIL_TOPIC_REPLICATION_FACTOR": "3",
        "VIGIL_TOPIC_MIN_INSYNC_REPLICAS": "2",
        "VIGIL_INSTANCE_LOCK_DIR": str(tmp_path / "slots"),
    }

    def instance(name: str) -> ServiceProcess:
        return ServiceProcess(name, env | {"VIGIL_GROUP_ID": names[name]}, tmp_path)

    services = [instance(name) for name in names for _twice in range(2)]
    killed: list[ServiceProcess] = []
    engine = create_engine(database, pool_size=1)
    try:
        for service in services:
            service.start()
        for service in services:
            await asyncio.to_thread(service.wait_ready, 180)

        async def a_quarter_applied() -> bool:
            async with engine.connect() as conn:
                applied = await conn.scalar(text("SELECT count(*) FROM applied_events"))
            return bool(int(applied or 0) > (produced - BAD) // 4)

        await wait_for(a_quarter_applied, timeout_s=300, what="a quarter of the stream applied")
        await asyncio.to_thread(stack.kill_broker, infra.stack, 2)
        killed = [services[0], services[2]]  # one ingest, one scoring instance
        for service in killed:
            service.kill()
        # the restarted ingest claims the freed slot: same transactional id, so its zombie's
        # open transaction is aborted at once instead of after the transaction timeout
        restarted = instance("ingest")
        services.append(restarted)
        restarted.start()
        await wait_drained(engine, infra.kafka_bootstrap, topics.model_dump(), names, timeout_s=900)
    finally:
        await engine.dispose()
        codes = {s.log_path.name: s.stop(20) for s in services if s not in killed}
        for service in services:
            service.kill()
        await asyncio.to_thread(stack.start_broker, infra.stack, 2)  # for the tests after this
    assert set(codes.values()) == {0}, codes
    assert transactional_id(restarted) == transactional_id(killed[0])
    actual = await snapshot(database)
    differences = state_differences(actual, expected)
    signals, dead = await outputs(infra.kafka_bootstrap, topics)
    print(
        f"\ncluster test: events {produced} ({produced - BAD} valid, {BAD} bad),"
        f" accounts compared {len(expected['accounts'])}, applied {actual['applied'][0][0]},"
        f" signals {signals}, dead letters {dead}, differences: {len(differences)}"
    )
    assert not differences, differences
    assert (signals, dead) == expected_outputs == (produced - BAD, BAD), "lost or duplicated"
    assert expected["accounts"], "the workload scored no account"


def transactional_id(service: ServiceProcess) -> str:
    for line in service.log_path.read_text().splitlines():
        if '"ingest instance"' in line:
            found: str = orjson.loads(line)["transactional_id"]
            return found
    raise AssertionError(f"no start line in {service.log_path}")
