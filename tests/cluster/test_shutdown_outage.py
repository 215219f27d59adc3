"""SIGTERM while Kafka is partly or wholly unavailable: every service exits 0 within 10 s.

Runs last in the cluster tier: the second test takes every broker down.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from shared import stack
from shared.kafka.clients import ensure_topics
from shared.settings.common import TopicNames
from tests.integration.kafka_io import produce, wait_for
from tests.integration.keys import SECRETS_KEY
from tests.integration.processes import ServiceProcess
from tests.integration.streams import mixed_stream

pytestmark = pytest.mark.asyncio(loop_scope="session")
TOKEN = "test-token-outage-0123456789abcdef0123456789abcdef"
BOUND_S = 10.0


async def leaderless(bootstrap: str, topics: list[str]) -> bool:
    """True once the controller reports a partition of ``topics`` without a leader."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await admin.start()
        described = await admin.describe_topics(topics)
    except KafkaError as error:
        if not error.retriable:  # the admin client may pick the dead broker: ask again
            raise
        return False
    finally:
        await admin.close()
    return any(p["leader"] < 0 for t in described for p in t["partitions"])


async def busy_services(
    infra, topics: TopicNames, database: str, tmp_path, replication: int
) -> list[ServiceProcess]:
    """One instance of each service, mid-stream."""
    await ensure_topics(
        infra.kafka_bootstrap,
        topics.model_dump().values(),
        replication_factor=replication,
        min_insync_replicas=1,
    )
    suffix = uuid.uuid4().hex[:6]
    env = {f"VIGIL_TOPICS__{k.upper()}": v for k, v in topics.model_dump().items()} | {
        "VIGIL_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "VIGIL_DATABASE_URL": database,
        "VIGIL_API_TOKEN": TOKEN,
        "VIGIL_SECRETS_KEY": SECRETS_KEY,
        "VIGIL_BATCH_MAX_RECORDS": "200",
        "VIGIL_TOPIC_REPLICATION_FACTOR": str(replication),
        "VIGIL_TOPIC_MIN_INSYNC_REPLICAS": "1",
    }
    services = [
        ServiceProcess(name, env | {"VIGIL_GROUP_ID": f"{name}-{suffix}"}, tmp_path)
        for name in ("ingest", "scoring", "triggers")
    ]
    for service in services:
        service.start()
    for service in services:
        await asyncio.to_thread(service.wait_ready, 180)
    await produce(infra.kafka_bootstrap, mixed_stream(topics, valid=20_000, invalid=0).messages)

    async def scoring_busy() -> bool:
        async with httpx.AsyncClient() as client:
            body = (await client.get(f"{services[1].url}/metrics")).text
        return "vigil_scoring_events_applied_total{" in body

    await wait_for(scoring_busy, timeout_s=120, what="scoring mid-stream")
    return services


async def sigterm_each(services: list[ServiceProcess]) -> dict[str, float]:
    took = {}
    for service in services:
        started = time.monotonic()
        code = await asyncio.to_thread(service.terminate, BOUND_S + 5)
        took[service.name] = round(time.monotonic() - started, 1)
        assert code == 0, service.log_tail()
        assert "stopped" in service.log_path.read_text(), service.log_tail()
    return took


async def outage_then_sigterm(
    infra, database, tmp_path, replication: int, outage: Callable[[TopicNames], Awaitable[None]]
) -> dict[str, float]:
    suffix = uuid.uuid4().hex[:6]
    topics = TopicNames(**{k: f"{v}.{suffix}" for k, v in TopicNames().model_dump().items()})
    services = await busy_services(infra, topics, database, tmp_path, replication)
    try:
        await outage(topics)
        took = await sigterm_each(services)
    finally:
        for service in services:
            service.kill()
    print(f"\nshutdown during outage: seconds to exit {took}")
    assert all(seconds < BOUND_S for seconds in took.values()), took
    return took


async def test_sigterm_within_bound_while_partitions_have_no_leader(
    infra, database, tmp_path
) -> None:
    """Topics with one replica lose the leader of every partition the killed broker led."""

    async def lose_a_broker(topics: TopicNames) -> None:
        await asyncio.to_thread(stack.kill_broker, infra.stack, 3)
        names = list(topics.model_dump().values())
        await wait_for(
            lambda: leaderless(infra.kafka_bootstrap, names),
            timeout_s=60,
            what="partitions without a leader",
        )

    try:
        await outage_then_sigterm(infra, database, tmp_path, 1, lose_a_broker)
    finally:
        await asyncio.to_thread(stack.start_broker, infra.stack, 3)


async def test_sigterm_within_bound_while_kafka_is_down(infra, database, tmp_path) -> None:
    """Every broker killed mid-stream (the cluster is not restarted: this test runs last)."""

    async def lose_every_broker(_topics: TopicNames) -> None:
        for node in (1, 2, 3):
            await asyncio.to_thread(stack.kill_broker, infra.stack, node)
        await asyncio.sleep(3)  # the outage itself: let the clients notice, not a synchronization

    await outage_then_sigterm(infra, database, tmp_path, 3, lose_every_broker)
