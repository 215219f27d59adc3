"""Reading back what the pipeline concluded: final bands, open episodes, emitted playbooks.

The emitted playbooks are read from ``playbook.events`` itself, with each record's
Kafka timestamp (set by the producer when the outbox relayed it) as the wall clock
at which the playbook went out: what a subscriber saw, whatever the bookkeeping.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.kafka.clients import make_consumer, stop_bounded
from tests.support.drain import topic_ends
from tests.support.evaluation.score import Emitted, Observed
from tests.support.receiver import Receiver


async def observe(
    engine: AsyncEngine,
    bootstrap: str,
    playbook_topic: str,
    receiver: Receiver | None,
    urls: dict[str, str],
    before_restarts: dict[str, float] | None = None,
) -> Observed:
    """``urls``: service name -> base URL, for the counters; ``before_restarts``: what
    a killed service had counted before it died (its counters restart at zero)."""
    async with engine.connect() as conn:
        bands = {
            r.account_id: r.band
            for r in await conn.execute(
                text("SELECT account_id, band FROM accounts WHERE band IS NOT NULL")
            )
        }
        scored_by = {
            r.model_version: int(r.n)
            for r in await conn.execute(
                text(
                    "SELECT model_version, count(*) AS n FROM accounts"
                    " WHERE model_version IS NOT NULL GROUP BY model_version"
                )
            )
        }
        open_at_end: dict[str, set[str]] = {}
        for r in await conn.execute(
            text("SELECT account_id, playbook FROM playbook_episodes WHERE closed_at IS NULL")
        ):
            open_at_end.setdefault(r.playbook, set()).add(r.account_id)
    counted = await counters(urls)
    for name, value in (before_restarts or {}).items():
        counted[name] = (counted.get(name) or 0.0) + value
    ids = {r.webhook_id: r.verified for r in receiver.accepted} if receiver else {}
    return Observed(
        bands,
        open_at_end,
        await emitted(bootstrap, playbook_topic),
        counted.get("late_events"),
        len(ids),
        sum(ids.values()),
        counted.get("held_back"),
        scored_by,
    )


async def emitted(bootstrap: str, topic: str, timeout_s: float = 120) -> list[Emitted]:
    """Every ``triggered`` event on ``topic``, once per episode."""
    out: dict[str, Emitted] = {}
    for record in await read_all(bootstrap, topic, timeout_s):
        event = orjson.loads(record.value) if record.value else {}
        if event.get("kind") == "triggered":
            out.setdefault(event["episode_id"], _emitted(event, record.timestamp))
    return list(out.values())


async def published_changes(
    bootstrap: str, topic: str, timeout_s: float = 120
) -> list[dict[str, Any]]:
    """Every health change published on ``topic`` (corrections included)."""
    return [orjson.loads(r.value) for r in await read_all(bootstrap, topic, timeout_s) if r.value]


async def read_all(bootstrap: str, topic: str, timeout_s: float) -> list[ConsumerRecord]:
    """``topic`` from its beginning to its end as it is now."""
    ends = await topic_ends(bootstrap, [topic])
    consumer = make_consumer(bootstrap, group_id=None, client_id="vigil-evaluate-read")
    await consumer.start()
    out: list[ConsumerRecord] = []
    try:
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        deadline = time.monotonic() + timeout_s
        while not await _at_end(consumer, ends):
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end in {timeout_s:.0f}s")
            for records in (await consumer.getmany(timeout_ms=500)).values():
                out.extend(records)
    finally:
        await stop_bounded(consumer, 5)
    return out


async def _at_end(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    positions = [await consumer.position(tp) for tp in ends]
    return all(p >= end for p, end in zip(positions, ends.values(), strict=True))


def _emitted(event: dict[str, object], timestamp_ms: int) -> Emitted:
    return Emitted(
        str(event["account_id"]),
        str(event["playbook"]),
        str(event["episode_id"]),
        datetime.fromisoformat(str(event["at"])),
        datetime.fromtimestamp(timestamp_ms / 1000, UTC),
        str(event.get("reason", "")),
    )


# what the pipeline counts itself: name -> (service, word in a counter's name)
COUNTERS = {"late_events": ("scoring", "late"), "held_back": ("triggers", "held_back")}


async def counters(urls: dict[str, str], service: str | None = None) -> dict[str, float | None]:
    """Each of ``COUNTERS`` (of ``service`` only, when given) scraped from ``/metrics``."""
    out: dict[str, float | None] = {}
    for name, (owner, word) in COUNTERS.items():
        if owner in urls and service in (None, owner):
            out[name] = await counter_total(urls[owner], word)
    return out


async def counter_total(url: str, word: str) -> float | None:
    """The sum of every counter with ``word`` in its name; None when there is none."""
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{url}/metrics")
    response.raise_for_status()
    total: float | None = None
    for family in text_string_to_metric_families(response.text):
        if word not in family.name or family.type != "counter":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                total = (total or 0.0) + sample.value
    return total
