"""Scoring on the real broker and database: deterministic, crash-proof, scalable."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from services.scoring.app import create_app
from services.scoring.config import ScoringSettings
from shared.database.engine import create_engine
from shared.settings.common import TopicNames
from tests.integration.kafka_io import read_topic, wait_for
from tests.integration.pipeline import (
    assert_same_state,
    produce_signals,
    snapshot,
    wait_drained,
    workload_signals,
)
from tests.integration.processes import ServiceProcess

pytestmark = pytest.mark.asyncio(loop_scope="session")


@dataclass(frozen=True)
class Replay:
    topics: TopicNames
    signals: list[tuple[str, bytes]]
    unique_usage: int


def own_output(topics: TopicNames, group_id: str) -> TopicNames:
    """Each run publishes its health changes to a topic of its own."""
    return topics.model_copy(update={"health_changes": f"{topics.health_changes}.{group_id}"})


def settings_for(infra, topics: TopicNames, database_url: str, group_id: str) -> ScoringSettings:
    topics = own_output(topics, group_id)
    return ScoringSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        database_url=database_url,
        api_token="test-token-scoring-0123456789abcdef0123456789abcdef",
        topics=topics,
        group_id=group_id,
        clock_enabled=False,
        batch_max_records=700,
        outbox_poll_interval_s=0.1,
    )


def env_for(infra, topics: TopicNames, database_url: str, group_id: str) -> dict[str, str]:
    topics = own_output(topics, group_id)
    env = {f"VIGIL_TOPICS__{k.upper()}": v for k, v in topics.model_dump().items()}
    return env | {
        "VIGIL_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "VIGIL_DATABASE_URL": database_url,
        "VIGIL_API_TOKEN": "test-token-scoring-0123456789abcdef0123456789abcdef",
        "VIGIL_GROUP_ID": group_id,
        "VIGIL_CLOCK_ENABLED": "false",
        "VIGIL_BATCH_MAX_RECORDS": "300",
    }


@asynccontextmanager
async def scoring_in_process(settings: ScoringSettings) -> AsyncIterator[None]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield


@pytest.fixture(scope="module")
async def replay(infra) -> Replay:
    """A multi-account workload on its own signals topic, with producer retries (duplicates)."""
    suffix = uuid.uuid4().hex[:8]
    topics = TopicNames(**{k: f"{v}.{suffix}" for k, v in TopicNames().model_dump().items()})
    signals = workload_signals(accounts=40, days=45, seed=11, prefix=f"s{suffix}-")
    unique_usage = sum(1 for _, body in signals if b'"source":"usage"' in body)
    duplicated = signals + random.Random(3).sample(signals, len(signals) // 20)
    await produce_signals(infra.kafka_bootstrap, topics.signals, duplicated)
    return Replay(topics, duplicated, unique_usage)


@pytest.fixture(scope="module")
async def baseline(infra, replay: Replay, make_database) -> tuple[str, dict[str, Any], str]:
    """An uninterrupted run: its database, its final state and its health.changes topic."""
    database_url = await asyncio.to_thread(make_database)
    group = f"scoring-base-{uuid.uuid4().hex[:6]}"
    async with scoring_in_process(settings_for(infra, replay.topics, database_url, group)):
        await wait_drained(database_url, infra.kafka_bootstrap, group, replay.topics.signals)
    topic = own_output(replay.topics, group).health_changes
    return database_url, await snapshot(database_url), topic


async def test_replay_gives_the_same_final_scores_twice(infra, replay, baseline, make_database):
    _, expected, _ = baseline
    database_url = await asyncio.to_thread(make_database)
    group = f"scoring-again-{uuid.uuid4().hex[:6]}"
    async with scoring_in_process(settings_for(infra, replay.topics, database_url, group)):
        await wait_drained(database_url, infra.kafka_bootstrap, group, replay.topics.signals)
    again = await snapshot(database_url)
    assert len(expected["accounts"]) == 40
    assert all(row[1] is not None for row in expected["accounts"])
    assert_same_state(again, expected)


async def test_repeated_event_ids_are_counted_once(baseline, replay) -> None:
    _, state, _ = baseline
    applied = state["applied"][0][0]
    assert applied == len({body for _, body in replay.signals})
    assert sum(row[2] for row in state["activity"]) == replay.unique_usage


async def test_health_changes_on_kafka_match_the_score_history(infra, replay, baseline) -> None:
    database_url, _, topic = baseline
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            history = [
                tuple(r)
                for r in await conn.execute(
                    text("SELECT event_id, account_id, score, band FROM score_history ORDER BY seq")
                )
            ]
            revisions: dict[str, int] = dict(
                (await conn.execute(text("SELECT account_id, health_revision FROM accounts"))).all()
            )
    finally:
        await engine.dispose()
    records = await read_topic(infra.kafka_bootstrap, topic, until=lambda r: len(r) >= len(history))
    published = [orjson.loads(r.value) for r in records]
    assert sorted(history) == sorted(
        (m["event_id"], m["account_id"], m["score"], m["band"]) for m in published
    )
    # per account, Kafka holds the changes in the order they were written
    order: dict[str, list[str]] = {}
    for m in published:
        order.setdefault(m["account_id"], []).append(m["event_id"])
    for account_id, ids in order.items():
        assert ids == [h[0] for h in history if h[1] == account_id]
    # each account's changes are numbered 1, 2, ... in publication order (triggers rely on it)
    numbered: dict[str, list[int]] = {}
    for m in published:
        numbered.setdefault(m["account_id"], []).append(m["revision"])
    assert numbered == {a: list(range(1, len(ids) + 1)) for a, ids in order.items()}
    assert {a: n for a, n in revisions.items() if n} == {a: len(ids) for a, ids in order.items()}


async def test_sigkill_at_three_points_gives_identical_final_state(
    infra, replay, baseline, make_database, tmp_path
) -> None:
    _, expected, _ = baseline
    database_url = await asyncio.to_thread(make_database)
    group = f"scoring-crash-{uuid.uuid4().hex[:6]}"
    env = env_for(infra, replay.topics, database_url, group)
    total = len(replay.signals)
    for fraction in sorted(random.Random(5).uniform(0.1, 0.9) for _ in range(3)):
        process = ServiceProcess("scoring", env, tmp_path).start()
        try:
            target = fraction * total

            async def reached(target: float = target) -> bool:
                return await _applied(database_url, group) >= target

            await wait_for(reached, timeout_s=120, what=f"{fraction:.0%} applied")
        finally:
            process.kill()
    process = ServiceProcess("scoring", env, tmp_path).start()
    try:
        await wait_drained(database_url, infra.kafka_bootstrap, group, replay.topics.signals)
    finally:
        assert process.terminate() == 0, process.log_tail()
    assert_same_state(await snapshot(database_url), expected)


async def test_two_instances_split_partitions_and_the_survivor_takes_over(
    infra, replay, baseline, make_database, tmp_path
) -> None:
    _, expected, _ = baseline
    database_url = await asyncio.to_thread(make_database)
    group = f"scoring-pair-{uuid.uuid4().hex[:6]}"
    env = env_for(infra, replay.topics, database_url, group) | {"VIGIL_BATCH_MAX_RECORDS": "50"}
    first = ServiceProcess("scoring", env | {"VIGIL_INSTANCE_ID": "1"}, tmp_path).start()
    second = ServiceProcess("scoring", env | {"VIGIL_INSTANCE_ID": "2"}, tmp_path).start()
    try:
        await asyncio.to_thread(first.wait_ready)
        await asyncio.to_thread(second.wait_ready)
        # both ready means both hold partitions of the 4-partition topic
        second.kill()
        await wait_drained(database_url, infra.kafka_bootstrap, group, replay.topics.signals)
    finally:
        second.kill()
        assert first.terminate() == 0, first.log_tail()
    assert_same_state(await snapshot(database_url), expected)


async def _applied(database_url: str, group: str) -> int:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            value = await conn.scalar(
                text(
                    "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE group_id = :g"
                ),
                {"g": group},
            )
            return int(value or 0)
    finally:
        await engine.dispose()
