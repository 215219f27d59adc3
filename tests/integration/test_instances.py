"""Two ingest instances started with the same configuration both work: no fencing loop."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
import orjson

from shared.kafka.clients import ensure_topics
from tests.integration.kafka_io import produce, read_topic
from tests.integration.processes import ServiceProcess
from tests.integration.streams import mixed_stream

CONSUMED = re.compile(r"^vigil_ingest_consumed_events_total\{[^}]*\} ([0-9.e+]+)$", re.M)


async def consumed(service: ServiceProcess) -> float:
    async with httpx.AsyncClient() as client:
        body = (await client.get(f"{service.url}/metrics")).text
    return sum(float(value) for value in CONSUMED.findall(body))


async def test_two_ingest_instances_with_one_configuration_both_make_progress(
    infra, topic_names, tmp_path
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    env = {f"VIGIL_TOPICS__{k.upper()}": v for k, v in topic_names.model_dump().items()} | {
        "VIGIL_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "VIGIL_DATABASE_URL": infra.database_url,
        "VIGIL_API_TOKEN": "test-token-instances-0123456789abcdef0123456789abcdef",
        "VIGIL_GROUP_ID": f"ingest-twins-{uuid.uuid4().hex[:6]}",
        "VIGIL_INSTANCE_LOCK_DIR": str(tmp_path / "slots"),
        "VIGIL_BATCH_MAX_RECORDS": "300",
    }
    twins = [ServiceProcess("ingest", env, tmp_path) for _ in range(2)]
    stream = mixed_stream(topic_names, valid=12_000, invalid=0)
    try:
        for twin in twins:
            twin.start()
        for twin in twins:
            await asyncio.to_thread(twin.wait_ready)  # ready: holds partitions of its own
        await produce(infra.kafka_bootstrap, stream.messages)
        signals = await read_topic(
            infra.kafka_bootstrap,
            topic_names.signals,
            until=lambda r: len(r) >= len(stream.valid_ids),
            timeout_s=180,
        )
        counts = [await consumed(twin) for twin in twins]
    finally:
        codes = [twin.stop(15) for twin in twins]
    assert codes == [0, 0], [twin.log_tail() for twin in twins]
    ids = [orjson.loads(r.value)["event_id"] for r in signals]
    assert set(ids) == stream.valid_ids and len(ids) == len(set(ids))
    assert all(count > 0 for count in counts), f"an instance made no progress: {counts}"
    logs = [twin.log_path.read_text() for twin in twins]
    txn_ids = {re.search(r'"transactional_id": ?"([^"]+)"', log).group(1) for log in logs}  # type: ignore[union-attr]
    assert len(txn_ids) == 2, f"both instances got one transactional id: {txn_ids}"
    assert not any("ProducerFenced" in log for log in logs), "an instance was fenced"
