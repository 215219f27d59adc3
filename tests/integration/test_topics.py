"""Topic settings: what Vigil creates, and an existing topic that differs is reported."""

from __future__ import annotations

import uuid

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from services.ingest.app import create_app as ingest_app
from services.ingest.config import IngestSettings
from shared.kafka.clients import ensure_topics
from shared.kafka.topics import TopicMismatch, describe_layouts


async def layouts(bootstrap: str, topics: list[str]):
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return await describe_layouts(admin, topics)
    finally:
        await admin.close()


async def test_topics_are_created_as_configured_and_differences_reported(infra) -> None:
    topic = f"settings.{uuid.uuid4().hex[:8]}"
    assert (
        await ensure_topics(infra.kafka_bootstrap, [topic], partitions=3, min_insync_replicas=1)
        == []
    )
    (layout,) = (await layouts(infra.kafka_bootstrap, [topic])).values()
    assert (layout.partitions, layout.replication_factor, layout.min_insync_replicas) == (3, 1, 1)

    found = await ensure_topics(infra.kafka_bootstrap, [topic], partitions=6, replication_factor=2)
    assert found == [
        TopicMismatch(topic, "partitions", 6, 3),
        TopicMismatch(topic, "replication_factor", 2, 1),
    ]
    (again,) = (await layouts(infra.kafka_bootstrap, [topic])).values()
    assert again.partitions == 3, "an existing topic is reported, never changed"


async def test_a_replication_factor_the_cluster_cannot_hold_is_a_clear_error(infra) -> None:
    topic = f"settings.{uuid.uuid4().hex[:8]}"
    with pytest.raises(KafkaError, match=f"creating topic {topic}"):
        await ensure_topics(infra.kafka_bootstrap, [topic], replication_factor=5)


async def test_a_service_shows_the_difference_in_its_metrics(infra, topic_names) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values(), partitions=4)
    settings = IngestSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        database_url=infra.database_url,
        api_token="test-token-topics-0123456789abcdef0123456789abcdef",
        topics=topic_names,
        topic_partitions=5,
        instance_id="topics-test",
    )
    app = ingest_app(settings, run_loops=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            body = (await client.get("/metrics")).text
    line = (
        f'vigil_kafka_topic_setting_mismatch{{setting="partitions",topic="{topic_names.signals}"}}'
        " 1.0"
    )
    assert line in body
