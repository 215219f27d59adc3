"""No message stops the pipeline: each poison kind, on each stage, ends in a dead-letter
topic with its reason while the records around it are applied (real broker and database)."""

from __future__ import annotations

import uuid

import httpx
import orjson
import pytest
from sqlalchemy import text

from services.ingest.app import create_app as create_ingest
from services.ingest.config import IngestSettings
from services.scoring.app import create_app as create_scoring
from services.scoring.config import ScoringSettings
from services.triggers.app import create_app as create_triggers
from services.triggers.config import TriggersSettings
from shared.database.engine import create_engine
from shared.kafka.clients import MAX_MESSAGE_BYTES, ensure_topics
from tests.integration.kafka_io import produce, read_topic
from tests.integration.keys import SECRETS_KEY
from tests.integration.pipeline import wait_drained
from tests.support.poison import (
    dead_letters,
    good_signal,
    health_change,
    poison_changes,
    poison_raw,
    poison_signals,
    raw_event,
    sha,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
TOKEN = "test-token-poison-0123456789abcdef"


def interleave(good: list[bytes], poison: list[bytes]) -> list[bytes]:
    """Each poison record between good ones, so every batch mixes both."""
    out: list[bytes] = []
    step = max(1, len(good) // (len(poison) + 1))
    for i, value in enumerate(good):
        out.append(value)
        if i % step == step - 1 and poison:
            out.append(poison.pop(0))
    return out + poison


async def scalar(database_url: str, sql: str) -> int:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(text(sql)) or 0)
    finally:
        await engine.dispose()


async def test_ingest_dead_letters_every_poison_kind_and_passes_the_rest(
    infra, topic_names
) -> None:
    settings = IngestSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        api_token=TOKEN,
        topics=topic_names,
        group_id=f"ingest-{uuid.uuid4().hex[:6]}",
        instance_id=uuid.uuid4().hex[:6],
    )
    poison = poison_raw()
    good = [orjson.dumps(raw_event(i)) for i in range(40)]
    by_topic = topic_names.topic_of_source()
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    messages = [(by_topic["usage"], b"acct", v) for v in good]
    messages += [(by_topic[source], b"acct", value) for _, source, value in poison]
    await produce(infra.kafka_bootstrap, messages)
    app = create_ingest(settings)
    async with app.router.lifespan_context(app):
        signals = await read_topic(
            infra.kafka_bootstrap, topic_names.signals, until=lambda r: len(r) >= 40
        )
        dlq = await read_topic(
            infra.kafka_bootstrap, topic_names.dlq, until=lambda r: len(r) >= len(poison)
        )
    letters = dead_letters(dlq)
    assert len(signals) == 40 and len(letters) == len(poison)
    assert {d.payload_sha256 for d in letters} == {sha(v) for _, _, v in poison}
    assert {d.stage for d in letters} == {"ingest"}
    assert all(len(r.value) < MAX_MESSAGE_BYTES // 4 for r in dlq)
    codes = {d.payload_sha256: d.reason.code for d in letters}
    expected = {
        "seats over int32": "out_of_range",
        "400 KB control bytes": "not_json",
        "year-1 timestamp": "out_of_range",
        "year-1 with offset": "out_of_range",
        "quantity 1e308 (1)": "out_of_range",
        "200,000-digit money": "out_of_range",
    }
    for kind, _, value in poison:
        if kind in expected:
            assert codes[sha(value)] == expected[kind], kind
    huge = next(d for d in letters if d.payload_bytes and d.payload_bytes > 300_000)
    assert huge.payload_truncated and huge.payload_encoding == "base64"


async def test_ingest_http_answers_year_one_with_a_rejection_not_a_500(infra, topic_names) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    settings = IngestSettings(
        kafka_bootstrap=infra.kafka_bootstrap, api_token=TOKEN, topics=topic_names
    )
    app = create_ingest(settings, run_loops=False)
    events = [
        {"source": "usage", **raw_event(1, occurred_at="0001-01-01T00:00:00+01:00")},
        {"source": "payment", **raw_event(2, type="subscription_started", seats=2**31)},
        {"source": "usage", **raw_event(3)},
    ]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            response = await client.post(
                "/v1/events",
                json={"events": events},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["rejected", "rejected", "accepted"]
    assert results[0]["reason"]["message"].startswith("occurred_at")
    assert results[1]["reason"]["message"].startswith("seats")


async def test_scoring_dead_letters_every_poison_kind_and_applies_the_rest(
    infra, topic_names, database
) -> None:
    settings = ScoringSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        database_url=database,
        api_token=TOKEN,
        topics=topic_names,
        group_id=f"scoring-{uuid.uuid4().hex[:6]}",
        clock_enabled=False,
        outbox_poll_interval_s=0.1,
    )
    poison = poison_signals()
    good = [good_signal(i) for i in range(60)]
    stream = interleave(good, [v for _, v in poison])
    await ensure_topics(infra.kafka_bootstrap, [topic_names.signals])
    await produce(infra.kafka_bootstrap, [(topic_names.signals, b"acct-1", v) for v in stream])
    app = create_scoring(settings)
    async with app.router.lifespan_context(app):
        await wait_drained(database, infra.kafka_bootstrap, settings.group_id, topic_names.signals)
        dlq = await read_topic(
            infra.kafka_bootstrap, topic_names.scoring_dlq, until=lambda r: len(r) >= len(poison)
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
            metrics = (await client.get("/metrics")).text
    letters = dead_letters(dlq)
    assert {d.payload_sha256 for d in letters} == {sha(v) for _, v in poison}
    assert {d.stage for d in letters} == {"scoring"}
    assert {d.source_topic for d in letters} == {topic_names.signals}
    assert {d.reason.code for d in letters} == {"contract_violation"}
    assert await scalar(database, "SELECT count(*) FROM applied_events") == 60
    assert 'vigil_scoring_failures_total{kind="permanent"} 7.0' in metrics
    assert 'vigil_scoring_dead_letters_total{reason="contract_violation"} 7.0' in metrics


async def test_triggers_dead_letters_poison_and_a_failing_handler_record(
    infra, topic_names, database
) -> None:
    settings = TriggersSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        database_url=database,
        api_token=TOKEN,
        secrets_key=SECRETS_KEY,
        topics=topic_names,
        group_id=f"triggers-{uuid.uuid4().hex[:6]}",
        clock_enabled=False,
        outbox_poll_interval_s=0.1,
    )
    changes = [health_change(i) for i in range(30)]
    poison = poison_changes()
    stream = interleave([c.model_dump_json().encode() for c in changes], [v for _, v in poison])
    await ensure_topics(infra.kafka_bootstrap, [topic_names.health_changes])
    await produce(infra.kafka_bootstrap, [(topic_names.health_changes, b"k", v) for v in stream])
    app = create_triggers(settings)
    async with app.router.lifespan_context(app):
        await wait_drained(
            database, infra.kafka_bootstrap, settings.group_id, topic_names.health_changes
        )
        dlq = await read_topic(
            infra.kafka_bootstrap, topic_names.triggers_dlq, until=lambda r: len(r) >= len(poison)
        )
    letters = {d.payload_sha256: d for d in dead_letters(dlq)}
    assert set(letters) == {sha(v) for _, v in poison}
    assert {d.stage for d in letters.values()} == {"triggers"}
    handler_failure = letters[sha(poison[0][1])]
    assert handler_failure.reason.code == "database_rejected"
    assert "UntranslatableCharacter" in handler_failure.reason.message
    accounts = await scalar(database, "SELECT count(*) FROM trigger_accounts")
    assert accounts == 30
