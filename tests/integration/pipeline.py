"""Test-side helpers for scoring and triggers: workloads on Kafka, drain waits, snapshots."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from aiokafka import TopicPartition
from sqlalchemy import text

from services.ingest.domain.validation import to_signal, validate_object
from shared.contracts import signal_to_json
from shared.database.engine import create_engine
from shared.kafka.clients import ensure_topics, make_consumer, stop_bounded
from tests.integration.kafka_io import produce
from tests.support.workload import events, make_workload

END = datetime(2026, 3, 1, tzinfo=UTC)


def workload_signals(accounts: int, days: int, seed: int, prefix: str) -> list[tuple[str, bytes]]:
    """(account_id, signal bytes) of a bench workload, with account ids made unique."""
    workload = make_workload(accounts, days, seed=seed, end=END)
    out = []
    for source, body in events(workload, seed=seed):
        body = {
            **body,
            "account_id": prefix + body["account_id"],
            "event_id": prefix + body["event_id"],
        }
        event = validate_object(source, body, now=END)
        out.append((event.account_id, signal_to_json(to_signal(event, source, END))))
    return out


async def produce_signals(bootstrap: str, topic: str, signals: list[tuple[str, bytes]]) -> None:
    await ensure_topics(bootstrap, [topic], partitions=4)
    await produce(bootstrap, [(topic, account.encode(), body) for account, body in signals])


async def end_offsets(bootstrap: str, topic: str, partitions: int = 4) -> dict[int, int]:
    consumer = make_consumer(bootstrap, group_id=None, client_id="test-offsets")
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        ends = await consumer.end_offsets(tps)
        return {tp.partition: off for tp, off in ends.items()}
    finally:
        await stop_bounded(consumer, 5)


async def wait_drained(
    database_url: str, bootstrap: str, group_id: str, topic: str, *, timeout_s: float = 180
) -> None:
    """Until the stored offsets reach the topic's end and the outbox is empty."""
    ends = await end_offsets(bootstrap, topic)
    engine = create_engine(database_url, pool_size=1)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    try:
        while True:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text(
                        "SELECT partition, next_offset FROM consumer_offsets"
                        " WHERE group_id = :g AND topic = :t"
                    ),
                    {"g": group_id, "t": topic},
                )
                stored = {r.partition: r.next_offset for r in rows}
                backlog = await conn.scalar(text("SELECT count(*) FROM outbox"))
            if all(stored.get(p, 0) >= end for p, end in ends.items()) and backlog == 0:
                return
            if loop.time() > deadline:
                raise TimeoutError(
                    f"not drained after {timeout_s}s: "
                    f"stored {stored}, ends {ends}, outbox {backlog}"
                )
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()


STATE_QUERIES = {
    "accounts": "SELECT account_id, score, band, segment, components, coverage, arr, seats,"
    " renewal_at, first_value_at, scored_as_of FROM accounts ORDER BY account_id",
    "activity": "SELECT * FROM daily_activity ORDER BY account_id, day",
    # per key, not the stored text: a merged day's JSON lists its keys in another order
    "rollups": "SELECT account_id, day, k, (v ->> 0)::bigint, (v ->> 1)::float8"
    " FROM rollups, jsonb_each(CAST(counts AS jsonb)) AS c(k, v) ORDER BY account_id, day, k",
    "rollup_users": "SELECT account_id, day, k FROM rollups,"
    " jsonb_object_keys(CAST(users AS jsonb)) AS k ORDER BY account_id, day, k",
    "users": "SELECT * FROM account_users ORDER BY account_id, user_id",
    "features": "SELECT * FROM account_features ORDER BY account_id, feature",
    "tickets": "SELECT * FROM tickets ORDER BY account_id, ticket_id",
    "invoices": "SELECT * FROM invoices ORDER BY account_id, invoice_id",
    "failures": "SELECT * FROM payment_failures ORDER BY account_id, event_id",
    "responses": "SELECT * FROM responses ORDER BY account_id, event_id",
    "applied": "SELECT count(*) FROM applied_events",
    # which events, not only how many: a difference then names them (the id's letter after
    # the account is the source in the test workloads), as a count alone could not
    "applied_ids": "SELECT account_id, event_id FROM applied_events ORDER BY account_id, event_id",
}


async def snapshot(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every account's state and final score, comparable across runs."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return {
                name: [tuple(row) for row in await conn.execute(text(sql))]
                for name, sql in STATE_QUERIES.items()
            }
    finally:
        await engine.dispose()


def state_differences(actual: dict[str, list[Any]], expected: dict[str, list[Any]]) -> list[str]:
    """Rows one snapshot has and the other lacks, table by table (a few of each)."""
    out = []
    for table in expected:
        have, want = set(map(repr, actual.get(table, []))), set(map(repr, expected[table]))
        if have != want:  # rows hold dicts (jsonb), so they are compared by their repr
            out.append(
                f"{table}: {len(want - have)} missing, e.g. {sorted(want - have)[:3]};"
                f" {len(have - want)} unexpected, e.g. {sorted(have - want)[:3]}"
            )
    return out


def assert_same_state(actual: dict[str, list[Any]], expected: dict[str, list[Any]]) -> None:
    """Every table's difference in the failure message (pytest cuts a long repr short)."""
    differences = state_differences(actual, expected)
    assert not differences, "\n".join(differences)
