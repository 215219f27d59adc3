"""Dead letters read in bounded steps on the real broker: a page is a scan from its
cursor that stops one past the page, an id is one seek, a time range starts at the
topic's time index, and a big redrive runs a limit at a time with progress."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka.structs import RecordMetadata

from services.scoring.app import create_app as create_scoring
from shared.consumer.dead_letter import Origin, dead_letter_bytes, dead_letter_record
from shared.database.engine import create_engine, create_sessionmaker, transaction
from shared.dlq.kafka_io import scan
from shared.dlq.records import Selection
from shared.dlq.redrive import dlq_topics, redrive
from shared.kafka.clients import ensure_topics, make_producer, stop_bounded
from shared.settings.common import TopicNames
from tests.integration.test_dlq_redrive import running, scoring_settings

pytestmark = pytest.mark.asyncio(loop_scope="session")
COUNT = 1200
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)


def at(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


async def dead_letter_topic(infra: Any, topics: TopicNames) -> list[str]:
    """COUNT dead letters in ingest.dlq one minute apart (each written when it was
    received, as a stage writes them), every third ``too_large``; their ids in
    partition/offset order."""
    bootstrap, topic = infra.kafka_bootstrap, topics.dlq
    await ensure_topics(bootstrap, topics.model_dump().values())
    source = topics.topic_of_source()["usage"]
    producer = make_producer(bootstrap, client_id="test-dlq-writer", linger_ms=20)
    await producer.start()
    try:
        sends = []
        for n in range(COUNT):
            origin = Origin(source, 0, n, f"acct-{n % 7}".encode(), b'{"not": "an event"')
            code = "too_large" if n % 3 == 0 else "not_json"
            record = dead_letter_record(
                origin, stage="ingest", code=code, message="m", received_at=at(n)
            )
            stamp = int(at(n).timestamp() * 1000)
            sends.append(
                await producer.send(
                    topic, dead_letter_bytes(record), key=origin.key, timestamp_ms=stamp
                )
            )
        sent: list[RecordMetadata] = await asyncio.gather(*sends)
    finally:
        await stop_bounded(producer, 10)
    return [
        f"{m.partition}/{m.offset}" for m in sorted(sent, key=lambda m: (m.partition, m.offset))
    ]


async def test_pages_ids_and_time_ranges_read_only_what_they_need(
    infra, topic_names, database
) -> None:
    topics = topic_names
    ids = await dead_letter_topic(infra, topics)
    async with running(create_scoring(scoring_settings(infra, topics, database))) as api:
        pages: list[list[str]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"topic": "ingest.dlq", "limit": 250}
            answer = (
                await api.get("/v1/dlq", params=params | ({"cursor": cursor} if cursor else {}))
            ).json()
            pages.append([d["id"] for d in answer["items"]])
            cursor = answer["next_cursor"]
            if cursor is None:
                break
        assert [i for p in pages for i in p] == ids
        assert [len(p) for p in pages] == [250, 250, 250, 250, 200]

        late = await api.get(
            "/v1/dlq",
            params={"topic": "ingest.dlq", "since": at(1000).isoformat(), "limit": 1000},
        )
        received = [d["received_at"] for d in late.json()["items"]]
        assert len(received) == 200
        assert all(datetime.fromisoformat(r) >= at(1000) for r in received)

        one = await api.get(f"/v1/dlq/ingest.dlq/{ids[777]}")
        assert one.status_code == 200 and one.json()["id"] == ids[777]
        past_end = ids[-1].split("/")[0] + "/99999999"
        assert (await api.get(f"/v1/dlq/ingest.dlq/{past_end}")).status_code == 404

        # a dry run by reason, 150 at a time: the cursor continues where the last stopped
        body = {"topic": "ingest.dlq", "reason": "too_large", "dry_run": True, "limit": 150}
        first = (await api.post("/v1/dlq/redrive", json=body)).json()
        rest = (
            await api.post("/v1/dlq/redrive", json=body | {"after": first["next_cursor"]})
        ).json()
        third = (
            await api.post("/v1/dlq/redrive", json=body | {"after": rest["next_cursor"]})
        ).json()
    assert first["counts"] == {"sent": 150} and rest["counts"] == {"sent": 150}
    assert third["counts"] == {"sent": 100} and third["next_cursor"] is None
    redriven = [r["id"] for r in first["records"] + rest["records"] + third["records"]]
    assert len(set(redriven)) == COUNT // 3

    # the time index: a scan from ``since`` starts near it, not at the topic's start
    examined = [d async for d in scan(infra.kafka_bootstrap, topics.dlq, since=at(1000))]
    assert 200 <= len(examined) <= 200 + 5  # the time index's margin: five minutes


async def test_a_long_redrive_reports_progress_a_chunk_at_a_time(
    infra, topic_names, database
) -> None:
    topics = topic_names
    await dead_letter_topic(infra, topics)
    heard: list[int] = []
    engine = create_engine(database)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            report = await redrive(
                session,
                infra.kafka_bootstrap,
                dlq_topics(topics)["ingest.dlq"],
                Selection(),
                dry_run=True,
                max_attempts=2,
                requested_by="test",
                limit=1100,
                progress=lambda examined, _counts: heard.append(examined),
            )
    finally:
        await engine.dispose()
    assert heard == [500, 1000, 1100]
    assert report.counts == {"sent": 1100} and report.next_cursor == report.records[-1]["id"]
