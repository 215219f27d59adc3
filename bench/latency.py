"""Latency at a given rate: event produced -> health.changes and -> webhook received."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import ConsumerRecord
from cryptography.fernet import Fernet

from shared.contracts.watermarks import is_watermark
from shared.database.engine import create_engine
from shared.kafka.clients import make_consumer, make_producer, stop_bounded
from tests.support.drain import topic_ends, wait_drained
from tests.support.latency_stages import Stamped, split_at_signal
from tests.support.receiver import Receiver, serving
from tests.support.services import Service

# services refuse tokens under 32 characters
TOKEN = "bench-token-0123456789abcdef0123456789abcdef"


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "n": 0}

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "n": len(ordered)}


ACCOUNTS = 2000


def usage_event(account: str, user: str) -> tuple[bytes, bytes]:
    """A usage event stamped with the moment it is sent (key, value)."""
    body = {
        "event_id": uuid.uuid4().hex,
        "account_id": account,
        "type": "used",
        "occurred_at": datetime.now(UTC).isoformat(),
        "user_id": user,
    }
    return account.encode(), orjson.dumps(body)


def ticket_event(account: str, opened: bool) -> tuple[bytes, bytes]:
    """An urgent ticket opened, or resolved: enough to move the score by a step."""
    body = {
        "event_id": uuid.uuid4().hex,
        "account_id": account,
        "type": "opened" if opened else "resolved",
        "ticket_id": f"{account}-t",
        "severity": "urgent",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    return account.encode(), orjson.dumps(body)


@dataclass
class Traffic:
    """Usage of ``ACCOUNTS`` accounts and 2% urgent tickets, opened and resolved in turn.

    Kept across the windows of one pipeline: a window that "opened" tickets
    already open would move no score, and leave few health changes to measure.
    """

    rng: random.Random = field(default_factory=lambda: random.Random(3))
    open_tickets: set[str] = field(default_factory=set)

    def next(self, topics: dict[str, str]) -> tuple[str, bytes, bytes]:
        """(topic, key, value) of the next event."""
        account = f"lat-{self.rng.randrange(ACCOUNTS)}"
        if self.rng.random() < 0.02:
            opened = account not in self.open_tickets
            self.open_tickets.symmetric_difference_update({account})
            return topics["ticket"], *ticket_event(account, opened)
        return topics["usage"], *usage_event(account, f"u{self.rng.randrange(5)}")


async def produce_at_rate(
    topics: dict[str, str],
    bootstrap: str,
    rate: float,
    seconds: float,
    traffic: Traffic | None = None,
) -> int:
    """Events of ``traffic`` (a fresh one by default) at ``rate``/s for ``seconds``."""
    traffic = traffic or Traffic()
    # a product backend batches its sends for a few milliseconds, as Kafka clients do
    producer = make_producer(bootstrap, client_id="bench-latency", linger_ms=5)
    await producer.start()
    sent = 0
    started = time.perf_counter()
    try:
        while (elapsed := time.perf_counter() - started) < seconds:
            for _ in range(max(int(elapsed * rate) - sent, 0)):
                topic, key, value = traffic.next(topics)
                await producer.send(topic, value, key=key)
                sent += 1
            await asyncio.sleep(0.005)  # pacing to the target rate
        await producer.flush()
    finally:
        await stop_bounded(producer, 10)
    return sent


async def seed_accounts(bootstrap: str, topic: str) -> None:
    """One event per account before the measured window: no account is new in it."""
    producer = make_producer(bootstrap, client_id="bench-latency-seed")
    await producer.start()
    try:
        for i in range(ACCOUNTS):
            key, value = usage_event(f"lat-{i}", "u0")
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await stop_bounded(producer, 10)


async def records_since(
    bootstrap: str, topic: str, since: datetime
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` from the first one stamped at or after ``since`` to its end."""
    ends = await topic_ends(bootstrap, [topic])  # every partition, the metadata awaited
    consumer = make_consumer(bootstrap, group_id=None, client_id="bench-latency-read")
    await consumer.start()
    try:
        tps = list(ends)
        consumer.assign(tps)
        starts = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in tps})
        for tp in tps:
            found = starts.get(tp)
            consumer.seek(tp, found.offset if found is not None else ends[tp])
        while any([await consumer.position(tp) < ends[tp] for tp in tps]):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    yield record
    finally:
        await stop_bounded(consumer, 5)


async def health_changes_since(bootstrap: str, topic: str, since: datetime) -> list[Stamped]:
    """The health changes published since ``since``: (account, as_of, the relay's CreateTime)."""
    out: list[Stamped] = []
    async for record in records_since(bootstrap, topic, since):
        body = orjson.loads(record.value or b"{}")
        out.append(
            (body["account_id"], datetime.fromisoformat(body["as_of"]), record.timestamp / 1000)
        )
    return out


async def signals_since(bootstrap: str, topic: str, since: datetime) -> list[Stamped]:
    """The signals ingest sent since ``since``: (account, event time, its CreateTime)."""
    out: list[Stamped] = []
    async for record in records_since(bootstrap, topic, since):
        if not is_watermark(record.headers):
            body = orjson.loads(record.value or b"{}")
            occurred = datetime.fromisoformat(body["occurred_at"])
            out.append((body["account_id"], occurred, record.timestamp / 1000))
    return out


def change_latencies(changes: list[Stamped], since: datetime, until: datetime) -> list[float]:
    """Publish time minus as_of (the triggering event's time), for as_of in [since, until)."""
    return [at - as_of.timestamp() for _a, as_of, at in changes if since <= as_of < until]


async def drained(bootstrap: str, database_url: str, topics: dict[str, str]) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        groups = {n: f"vigil-{n}" for n in ("ingest", "scoring", "triggers")}
        await wait_drained(engine, bootstrap, topics, groups, timeout_s=300)
    finally:
        await engine.dispose()


@dataclass
class Pipeline:
    """The three services running, a webhook receiver subscribed, every account seeded."""

    bootstrap: str
    database_url: str
    topics: dict[str, str]
    receiver: Receiver
    traffic: Traffic = field(default_factory=Traffic)

    async def window(self, rate: float, seconds: float) -> dict[str, Any]:
        """Events at ``rate`` for ``seconds``, drained; the latencies of what they caused."""
        started = datetime.now(UTC)
        sent = await produce_at_rate(self.topics, self.bootstrap, rate, seconds, self.traffic)
        await drained(self.bootstrap, self.database_url, self.topics)
        ended = datetime.now(UTC)
        hooks = [
            (r.at - r.as_of).total_seconds()
            for r in self.receiver.accepted
            if r.as_of is not None and started <= r.as_of < ended
        ]
        changes = await health_changes_since(self.bootstrap, self.topics["health_changes"], started)
        signals = await signals_since(self.bootstrap, self.topics["signals"], started)
        to_signal, to_change = split_at_signal(signals, changes, started, ended)
        return {
            "sent": sent,
            "health_changes": percentiles(change_latencies(changes, started, ended)),
            "webhooks": percentiles(hooks),
            "stages": {
                "event_to_signal": percentiles(to_signal),
                "signal_to_health_change": percentiles(to_change),
            },
        }


def service_env(bootstrap: str, database_url: str, topics: dict[str, str]) -> dict[str, str]:
    return {f"VIGIL_TOPICS__{k.upper()}": v for k, v in topics.items()} | {
        "VIGIL_KAFKA_BOOTSTRAP": bootstrap,
        "VIGIL_DATABASE_URL": database_url,
        "VIGIL_API_TOKEN": TOKEN,
        "VIGIL_SECRETS_KEY": Fernet.generate_key().decode(),
        "VIGIL_CLOCK_ENABLED": "false",
        "VIGIL_LOG_LEVEL": "WARNING",
        "VIGIL_FETCH_TIMEOUT_MS": "20",
        "VIGIL_WEBHOOKS__ALLOW_HTTP": "true",
        "VIGIL_WEBHOOKS__ALLOWLIST": '["127.0.0.1"]',
    }


@asynccontextmanager
async def pipeline(
    bootstrap: str, database_url: str, topics: dict[str, str], logs: Path
) -> AsyncIterator[Pipeline]:
    env = service_env(bootstrap, database_url, topics)
    services = [
        Service(n, env, logs / f"latency-{n}.log") for n in ("ingest", "scoring", "triggers")
    ]
    receiver = Receiver()
    for service in services:
        service.start()
    try:
        for service in services:
            await asyncio.to_thread(service.wait_ready)
        async with serving(receiver):
            async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as c:
                created = await c.post(
                    f"{services[2].url}/v1/webhooks/subscriptions",
                    json={"url": receiver.url, "event_types": ["health.changed"]},
                )
                created.raise_for_status()
            await seed_accounts(bootstrap, topics["usage"])
            await drained(bootstrap, database_url, topics)
            yield Pipeline(bootstrap, database_url, topics, receiver)
    finally:
        for service in services:
            service.stop()


async def measure(
    bootstrap: str,
    database_url: str,
    topics: dict[str, str],
    logs: Path,
    *,
    rate: float = 2000,
    seconds: float = 20,
) -> dict[str, Any]:
    """One window at ``rate`` on a pipeline of its own (row 6)."""
    async with pipeline(bootstrap, database_url, topics, logs) as running:
        return await running.window(rate, seconds)
