"""Event time end to end: a source read behind the others raises no false alarm;
a fact that changes alone (a renewal date) reaches triggers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import ConsumerRecord, TopicPartition
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from services.ingest.app import create_app as ingest_app
from services.ingest.config import IngestSettings
from services.scoring.app import create_app as scoring_app
from services.scoring.config import ScoringSettings
from services.triggers.app import create_app as triggers_app
from services.triggers.config import TriggersSettings
from shared.database.engine import create_engine
from shared.kafka.clients import ensure_topics, make_consumer, stop_bounded
from shared.settings.common import TopicNames
from tests.integration.kafka_io import produce, read_topic
from tests.integration.keys import SECRETS_KEY
from tests.support.drain import kafka_group_lag, wait_drained
from tests.support.workload import events, make_workload

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def read_all(bootstrap: str, topic: str, partitions: int = 4) -> list[ConsumerRecord]:
    """Every committed record on ``topic`` now (up to its end offsets)."""
    consumer = make_consumer(bootstrap, group_id=None, client_id="test-read-all")
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[ConsumerRecord] = []
        while any([await consumer.position(tp) < ends[tp] for tp in tps]):
            for part in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(part)
        return records
    finally:
        await stop_bounded(consumer, 5)


@asynccontextmanager
async def pipeline(
    infra: Any, topics: TopicNames, database: str, *, ingest_batch: int = 2000, **ingest: Any
) -> AsyncIterator[tuple[dict[str, str], list[Any]]]:
    """Ingest, scoring and triggers in process (clocks off); yields (groups, apps)."""
    suffix = uuid.uuid4().hex[:6]
    groups = {name: f"{name}-{suffix}" for name in ("ingest", "scoring", "triggers")}
    common: dict[str, Any] = {
        "kafka_bootstrap": infra.kafka_bootstrap,
        "database_url": database,
        "api_token": "test-token-event-time-0123456789abcdef0123456789abcdef",
        "topics": topics,
    }
    quick: dict[str, Any] = {"clock_enabled": False, "outbox_poll_interval_s": 0.1}
    apps = [
        ingest_app(
            IngestSettings(
                **common,
                group_id=groups["ingest"],
                instance_id=suffix,
                batch_max_records=ingest_batch,
                **ingest,
            )
        ),
        scoring_app(ScoringSettings(**common, group_id=groups["scoring"], **quick)),
        triggers_app(
            TriggersSettings(
                **common, group_id=groups["triggers"], secrets_key=SECRETS_KEY, **quick
            )
        ),
    ]
    async with AsyncExitStack() as stack:
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
        yield groups, apps


async def metric_samples(app: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        page = (await client.get("/metrics")).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(page)
        for s in family.samples
    }


async def assert_no_false_alarm(infra: Any, topics: TopicNames, steady: set[str]) -> None:
    """No steady account was ever red on health.changes, none got an at_risk episode."""
    changes = [
        orjson.loads(r.value) for r in await read_all(infra.kafka_bootstrap, topics.health_changes)
    ]
    playbooks = [
        orjson.loads(r.value) for r in await read_all(infra.kafka_bootstrap, topics.playbook_events)
    ]
    red = sorted(
        {c["account_id"] for c in changes if c["account_id"] in steady and c["band"] == "red"}
    )
    assert red == [], f"steady accounts went red on health.changes: {red}"
    at_risk = [
        p["account_id"]
        for p in playbooks
        if p["playbook"] == "at_risk" and p["account_id"] in steady
    ]
    assert at_risk == [], f"at_risk opened for steady accounts: {at_risk}"


def population(
    topics: TopicNames, seed: int
) -> tuple[dict[str, list[tuple[str, bytes, bytes]]], set[str]]:
    """A bench population's raw messages per topic, and its steady (healthy, expanding) accounts."""
    workload = make_workload(24, 45, seed=seed, end=datetime.now(UTC) - timedelta(hours=1))
    by_source = topics.topic_of_source()
    messages: dict[str, list[tuple[str, bytes, bytes]]] = {t: [] for t in by_source.values()}
    for source, event in events(workload, seed=seed):
        topic = by_source[source]
        messages[topic].append((topic, event["account_id"].encode(), orjson.dumps(event)))
    steady = {a.account_id for a in workload.accounts if a.cohort in ("healthy", "expanding")}
    assert steady
    return messages, steady


async def test_backfill_one_source_after_another_with_expected_sources_raises_no_alarm(
    infra, topic_names, database
) -> None:
    """Each source's whole history produced only once ingest has read the previous one.

    An empty topic is idle (caught up: the wall clock) unless its source is
    expected (``VIGIL_EXPECTED_SOURCES``): then it holds time back until its
    history arrives, and nobody is judged before every source has been read.
    """
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    messages, steady = population(topic_names, seed=31)
    expected = ["usage", "ticket", "payment", "survey"]
    engine = create_engine(database, pool_size=1)
    try:
        async with pipeline(infra, topic_names, database, expected_sources=expected) as (
            groups,
            _apps,
        ):
            for source in expected:
                topic = topic_names.topic_of_source()[source]
                await produce(infra.kafka_bootstrap, messages[topic])
                await wait_for_lag_zero(infra.kafka_bootstrap, groups["ingest"], topic)
                async with engine.connect() as conn:
                    scored = await conn.scalar(text("SELECT count(score) FROM accounts"))
                if source != expected[-1]:
                    assert scored == 0, f"accounts judged before {expected[-1]} was read"
            await wait_drained(
                engine, infra.kafka_bootstrap, topic_names.model_dump(), groups, timeout_s=300
            )
            async with engine.connect() as conn:
                unscored = await conn.scalar(
                    text("SELECT count(*) FROM accounts WHERE score IS NULL")
                )
    finally:
        await engine.dispose()
    assert unscored == 0
    await assert_no_false_alarm(infra, topic_names, steady)


async def wait_for_lag_zero(bootstrap: str, group: str, topic: str, timeout_s: float = 120) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while await kafka_group_lag(bootstrap, group, [topic]) > 0:
        assert loop.time() < deadline, f"ingest did not read {topic} in {timeout_s}s"
        await asyncio.sleep(0.2)


async def test_a_source_read_behind_the_others_makes_no_healthy_account_red(
    infra, topic_names, database
) -> None:
    """Usage is read an hour (and more) of event time behind the other sources.

    Its whole history sits on its topic before ingest starts, produced after the
    other sources' (and several times their volume), and ingest reads small
    batches: tickets, payments and surveys are read to the end long before usage
    is. Judged at the other sources' time, healthy accounts would look idle (this
    test fails with the watermark bound switched off).
    """
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    messages, steady = population(topic_names, seed=23)
    usage = messages.pop(topic_names.usage)
    others = [m for topic in messages.values() for m in topic]
    await produce(infra.kafka_bootstrap, others)
    await produce(infra.kafka_bootstrap, usage)
    assert len(usage) > 3 * len(others)

    engine = create_engine(database, pool_size=1)
    try:
        async with pipeline(infra, topic_names, database, ingest_batch=100) as (groups, apps):
            await wait_drained(
                engine, infra.kafka_bootstrap, topic_names.model_dump(), groups, timeout_s=300
            )
            scoring_metrics = await metric_samples(apps[1])
        async with engine.connect() as conn:
            final: dict[str, str | None] = dict(
                (await conn.execute(text("SELECT account_id, band FROM accounts"))).all()
            )
    finally:
        await engine.dispose()

    await assert_no_false_alarm(infra, topic_names, steady)
    assert None not in final.values(), "every account is scored in the end"
    assert all(final[a] != "red" for a in steady)
    # the scenario happened: accounts were judged before their latest event, held back
    held = scoring_metrics[("vigil_scoring_held_back_judgements_total", ())]
    assert held > 0


def raw_event(kind: str, account: str, at: datetime, n: int, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"{account}-{kind}-{n}",
        "account_id": account,
        "occurred_at": at.isoformat(),
        "type": kind,
        **fields,
    }


async def test_only_a_renewal_date_changes_and_triggers_opens_renewal(
    infra, topic_names, database
) -> None:
    """A subscription update that moves only the renewal date into the window:
    the score does not move, yet a health change carries the new date to triggers."""
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    now = datetime.now(UTC)
    account = f"renews-{uuid.uuid4().hex[:6]}"
    subscription = {"arr": "50000", "currency": "USD", "seats": 10, "plan": "pro"}
    far, near = (now + timedelta(days=300)).date(), (now + timedelta(days=45)).date()
    first = [
        raw_event(
            "subscription_started",
            account,
            now - timedelta(days=200),
            0,
            renewal_at=far.isoformat(),
            **subscription,
        ),
        *(
            raw_event("session_started", account, now - timedelta(hours=h), h, user_id=f"u{h % 8}")
            for h in range(1, 72, 3)
        ),
    ]
    update = raw_event(
        "subscription_updated", account, now, 1, renewal_at=near.isoformat(), **subscription
    )
    topic_of = {
        "subscription_started": topic_names.payment,
        "subscription_updated": topic_names.payment,
    }

    def messages(batch: list[dict[str, Any]]) -> list[tuple[str, bytes, bytes]]:
        return [
            (topic_of.get(e["type"], topic_names.usage), account.encode(), orjson.dumps(e))
            for e in batch
        ]

    latest_usage = now - timedelta(hours=1)

    def as_of(record: ConsumerRecord) -> datetime:
        return datetime.fromisoformat(orjson.loads(record.value)["as_of"])

    async with pipeline(infra, topic_names, database):
        await produce(infra.kafka_bootstrap, messages(first))
        initial = await read_topic(
            infra.kafka_bootstrap,
            topic_names.health_changes,
            until=lambda r: any(as_of(x) >= latest_usage for x in r),
            timeout_s=120,
        )
        await produce(infra.kafka_bootstrap, messages([update]))
        playbooks = await read_topic(
            infra.kafka_bootstrap,
            topic_names.playbook_events,
            until=lambda r: any(orjson.loads(x.value)["playbook"] == "renewal" for x in r),
            timeout_s=120,
        )
        changes = [
            orjson.loads(r.value)
            for r in await read_all(infra.kafka_bootstrap, topic_names.health_changes)
        ]

    before = max((orjson.loads(r.value) for r in initial), key=lambda c: c["as_of"])
    last = max(changes, key=lambda c: c["as_of"])
    assert before["account"]["renewal_at"] == far.isoformat()
    assert last["facts_changed"] == ["renewal_at"]
    assert last["account"]["renewal_at"] == near.isoformat()
    # not a health change by the score rule: same band, moved less than the step
    assert last["band"] == last["previous_band"] and abs(last["score"] - last["previous_score"]) < 5
    renewal = [orjson.loads(r.value) for r in playbooks]
    opened = [p for p in renewal if p["playbook"] == "renewal" and p["kind"] == "triggered"]
    assert [p["account_id"] for p in opened] == [account]
    assert opened[0]["due_by"].startswith(near.isoformat())
