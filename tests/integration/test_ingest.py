"""Ingest on the real broker: every valid event on signals, every bad one dead-lettered."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import orjson
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from services.ingest.app import create_app
from services.ingest.config import IngestSettings
from shared.kafka.clients import ensure_topics
from shared.settings.common import TopicNames
from tests.integration.kafka_io import produce, read_topic, wait_for
from tests.integration.streams import mixed_stream, valid_event

TOKEN = "test-token-ingest-0123456789abcdef0123456789abcdef"


def ingest_settings(infra, topics: TopicNames) -> IngestSettings:
    return IngestSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        database_url=infra.database_url,
        api_token=TOKEN,
        topics=topics,
        group_id=f"ingest-{uuid.uuid4().hex[:6]}",
        instance_id=uuid.uuid4().hex[:6],
    )


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            yield client


def counters(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def test_mixed_stream_valid_to_signals_invalid_to_dlq(infra, topic_names) -> None:
    stream = mixed_stream(topic_names, valid=10_000, invalid=500)
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    await produce(infra.kafka_bootstrap, stream.messages)
    app = create_app(ingest_settings(infra, topic_names))
    async with running(app) as client:
        signals = await read_topic(
            infra.kafka_bootstrap,
            topic_names.signals,
            until=lambda r: len(r) >= 10_000,
            timeout_s=120,
        )
        dead = await read_topic(
            infra.kafka_bootstrap, topic_names.dlq, until=lambda r: len(r) >= 500, timeout_s=60
        )
        metrics = counters((await client.get("/metrics")).text)

    signal_ids = [orjson.loads(r.value)["event_id"] for r in signals]
    assert len(signal_ids) == len(set(signal_ids)) == 10_000
    assert set(signal_ids) == stream.valid_ids
    assert all(r.key == orjson.loads(r.value)["account_id"].encode() for r in signals)

    codes = {r.key.decode(): orjson.loads(r.value)["reason"]["code"] for r in dead}
    assert len(dead) == 500
    assert codes == stream.bad_codes
    assert set(codes.values()) >= {"not_utf8", "not_json", "too_large", "nul_character", "too_deep"}
    for record in dead:
        body = orjson.loads(record.value)
        assert body["source_topic"] == topic_names.usage
        assert body["offset"] >= 0 and body["reason"]["message"]

    produced = metrics[
        (
            "vigil_ingest_produced_events_total",
            (("outcome", "signal"), ("topic", topic_names.signals)),
        )
    ]
    assert produced == 10_000
    by_reason = Counter(stream.bad_codes.values())
    for code, n in by_reason.items():
        assert metrics[("vigil_ingest_dead_letters_total", (("reason", code),))] == n


async def test_http_batch_answers_per_event_and_is_on_kafka_before_the_response(
    infra, topic_names
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    app = create_app(ingest_settings(infra, topic_names), run_loops=False)
    good = [{"source": "usage", **valid_event("usage", i)} for i in range(3)]
    bad = [
        {"source": "usage", **valid_event("usage", 9), "occurred_at": "2026-01-01T00:00:00"},
        {"source": "telemetry", **valid_event("usage", 10)},
        "not an object",
    ]
    async with running(app) as client:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        response = await client.post("/v1/events", json={"events": good + bad}, headers=auth)
        assert response.status_code == 200
        body = response.json()
        # the accepted ones are on Kafka now, with no waiting
        on_kafka = await read_topic(
            infra.kafka_bootstrap, topic_names.signals, until=lambda r: len(r) >= 3, timeout_s=5
        )

        assert (body["accepted"], body["rejected"]) == (3, 3)
        assert [r["status"] for r in body["results"]] == ["accepted"] * 3 + ["rejected"] * 3
        assert [r["reason"]["code"] for r in body["results"][3:]] == [
            "timestamp_without_offset",
            "unknown_source",
            "not_object",
        ]
        assert {orjson.loads(r.value)["event_id"] for r in on_kafka} == {
            e["event_id"] for e in good
        }

        assert (await client.post("/v1/events", json={"events": []})).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert (
            await client.post("/v1/events", json={"events": []}, headers=wrong)
        ).status_code == 401
        too_many = {"events": [good[0]] * 1001}
        assert (await client.post("/v1/events", json=too_many, headers=auth)).status_code == 413
        huge = b'{"events": ["' + b"x" * (9 * 1024 * 1024) + b'"]}'
        assert (await client.post("/v1/events", content=huge, headers=auth)).status_code == 413
        assert (await client.post("/v1/events", content=b"{nope", headers=auth)).status_code == 422
        assert (await client.post("/v1/events", json=[1, 2], headers=auth)).status_code == 422
        assert (await client.get("/healthz")).status_code == 200


async def test_same_event_posted_twice_is_accepted_twice(infra, topic_names) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    app = create_app(ingest_settings(infra, topic_names), run_loops=False)
    event = {"source": "payment", **valid_event("payment", 1)}
    async with running(app) as client:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        for _ in range(2):
            response = await client.post("/v1/events", json={"events": [event]}, headers=auth)
            assert response.json()["accepted"] == 1
    # both copies reach signals; scoring counts the event_id once (see test_scoring)
    records = await read_topic(
        infra.kafka_bootstrap, topic_names.signals, until=lambda r: len(r) >= 2, timeout_s=10
    )
    assert {orjson.loads(r.value)["event_id"] for r in records} == {event["event_id"]}


async def test_readiness_reports_partitions(infra, topic_names) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    app = create_app(ingest_settings(infra, topic_names))
    async with running(app) as client:

        async def ready() -> bool:
            return (await client.get("/readyz")).status_code == 200

        await wait_for(ready, timeout_s=30, what="ingest ready")
        body = (await client.get("/readyz")).json()
        assert body["checks"] == {"kafka": True, "partitions": True}
