"""SIGTERM mid-stream: each service finishes its batch, commits, exits 0 within 10 s.
No secret ever reaches a log line."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from shared.kafka.clients import ensure_topics
from tests.integration.kafka_io import produce, wait_for
from tests.integration.keys import SECRETS_KEY
from tests.integration.processes import ServiceProcess
from tests.integration.streams import mixed_stream

TOKEN = "test-token-Sh0uld-N3ver-Be-Logged"


async def test_sigterm_exits_0_within_10_seconds_and_no_secret_is_logged(
    infra, topic_names, database, tmp_path
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    env = {f"VIGIL_TOPICS__{k.upper()}": v for k, v in topic_names.model_dump().items()} | {
        "VIGIL_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "VIGIL_DATABASE_URL": database,
        "VIGIL_API_TOKEN": TOKEN,
        "VIGIL_SECRETS_KEY": SECRETS_KEY,
        "VIGIL_LOG_LEVEL": "DEBUG",
        "VIGIL_BATCH_MAX_RECORDS": "200",
        "VIGIL_WEBHOOKS__ALLOW_HTTP": "true",
        "VIGIL_WEBHOOKS__ALLOWLIST": '["127.0.0.1"]',
    }
    suffix = uuid.uuid4().hex[:6]
    services = [
        ServiceProcess(name, env | {"VIGIL_GROUP_ID": f"{name}-{suffix}"}, tmp_path)
        for name in ("ingest", "scoring", "triggers")
    ]
    for service in services:
        service.start()
    for service in services:
        await asyncio.to_thread(service.wait_ready)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(headers=auth) as client:
        created = await client.post(
            f"{services[2].url}/v1/webhooks/subscriptions",
            json={"url": "http://127.0.0.1:9/hook", "event_types": ["health.changed"]},
        )
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        assert (await client.get(f"{services[1].url}/v1/accounts")).status_code == 200
    stream = mixed_stream(topic_names, valid=20_000, invalid=0)
    await produce(infra.kafka_bootstrap, stream.messages)

    async def busy() -> bool:
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"{services[1].url}/metrics")).text
        return "vigil_scoring_events_applied_total" in text and "_total{source=" in text

    await wait_for(busy, timeout_s=60, what="scoring mid-stream")
    for service in services:
        started = time.monotonic()
        code = await asyncio.to_thread(service.terminate, 10)
        assert code == 0, service.log_tail()
        assert time.monotonic() - started < 10
        log = service.log_path.read_text()
        assert "stopped" in log
        assert TOKEN not in log, f"{service.name} logged the API token"
        assert secret not in log, f"{service.name} logged a webhook secret"
        assert secret.removeprefix("whsec_") not in log
