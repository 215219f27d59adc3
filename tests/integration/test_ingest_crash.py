"""Kill -9 the ingest process mid-stream: nothing lost, nothing duplicated."""

from __future__ import annotations

import asyncio
import time
import uuid

import orjson

from shared.kafka.clients import ensure_topics
from tests.integration.kafka_io import produce, read_topic
from tests.integration.processes import ServiceProcess
from tests.integration.streams import mixed_stream


def topic_env(topic_names) -> dict[str, str]:
    return {
        f"VIGIL_TOPICS__{name.upper()}": value for name, value in topic_names.model_dump().items()
    }


async def test_sigkill_mid_stream_loses_and_duplicates_nothing(
    infra, topic_names, tmp_path
) -> None:
    stream = mixed_stream(topic_names, valid=30_000, invalid=100)
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    env = {
        "VIGIL_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "VIGIL_DATABASE_URL": infra.database_url,
        "VIGIL_API_TOKEN": "test-token-crash-0123456789abcdef0123456789abcdef",
        "VIGIL_GROUP_ID": f"ingest-crash-{uuid.uuid4().hex[:6]}",
        "VIGIL_INSTANCE_ID": "crash",
        "VIGIL_BATCH_MAX_RECORDS": "500",
        **topic_env(topic_names),
    }
    first = ServiceProcess("ingest", env, tmp_path).start()
    try:
        first.wait_ready()
        producing = asyncio.create_task(produce(infra.kafka_bootstrap, stream.messages))
        # kill once part of the stream is through, while the rest is still arriving
        await read_topic(
            infra.kafka_bootstrap,
            topic_names.signals,
            until=lambda r: len(r) >= 3_000,
            timeout_s=90,
        )
        first.kill()
        killed_at = time.monotonic()
        await producing
        second = ServiceProcess("ingest", env, tmp_path).start()
        try:
            signals = await read_topic(
                infra.kafka_bootstrap,
                topic_names.signals,
                until=lambda r: len(r) >= len(stream.valid_ids),
                timeout_s=180,
            )
            # let a straggling duplicate show itself: the DLQ is the last thing produced
            await read_topic(
                infra.kafka_bootstrap, topic_names.dlq, until=lambda r: len(r) >= 100, timeout_s=60
            )
            signals = await read_topic(
                infra.kafka_bootstrap,
                topic_names.signals,
                until=lambda r: len(r) >= len(stream.valid_ids),
                timeout_s=30,
            )
        finally:
            assert second.terminate() == 0, second.log_tail()
    finally:
        first.kill()
    ids = [orjson.loads(r.value)["event_id"] for r in signals]
    assert set(ids) == stream.valid_ids, "a valid event is missing from signals"
    assert len(ids) == len(set(ids)), "transactions must leave no duplicate on signals"
    assert time.monotonic() - killed_at < 300
