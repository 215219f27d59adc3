"""`make bench BENCH_ARGS=--soak`: ten million signals through scoring, sampled as it goes.

Signals, not raw events: what should not grow is scoring's state handling
(ingest is stateless and has a throughput row of its own). A generator makes
usage signals on the fly, stamped with the wall clock as a live stream is, for
a fixed set of accounts, and the producer keeps at most ``LEAD`` of them ahead
of scoring (the topic stays small, and the producer does not take a core
from scoring while far ahead). One scoring process applies them to PostgreSQL
and publishes its health changes. Every ``sample_s`` it samples consumed
throughput (scoring's offsets stored in PostgreSQL), the process's RSS
(``VmRSS``) and its mean batch transaction time and size (its Prometheus
histograms); at the end the first quarter of the samples is compared with the
last (:mod:`tests.support.soak_trend`).
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

from bench import throughput
from shared.contracts.signals import UsageSignal
from shared.database.engine import create_engine
from shared.kafka.clients import key_bytes, make_producer, send_all, stop_bounded
from tests.support.services import Service

LEAD = 200_000  # records the producer may run ahead of scoring
CHUNK = 5_000
METRIC = "vigil_scoring_"


@dataclass(frozen=True)
class Totals:
    """Cumulative figures read at one moment."""

    at: float  # time.monotonic()
    consumed: int
    rss_mb: float
    batches: float  # transactions of batches, and their seconds
    batch_seconds: float
    sized: float  # batches sized (observed mid-transaction, so counted apart), their signals
    batch_events: float


@dataclass(frozen=True)
class Sample:
    """The interval between two readings."""

    t_s: float  # since the first reading
    consumed: int
    per_s: float
    rss_mb: float
    batch_ms: float  # mean transaction time of the batches in the interval (nan: none)
    batch_events: float  # mean signals per batch in the interval

    @classmethod
    def between(cls, start: Totals, a: Totals, b: Totals) -> Sample:
        batches, sized = b.batches - a.batches, b.sized - a.sized
        return cls(
            t_s=b.at - start.at,
            consumed=b.consumed,
            per_s=(b.consumed - a.consumed) / max(b.at - a.at, 1e-6),
            rss_mb=b.rss_mb,
            batch_ms=1000 * (b.batch_seconds - a.batch_seconds) / batches if batches else NAN,
            batch_events=(b.batch_events - a.batch_events) / sized if sized else NAN,
        )

    def line(self) -> str:
        return (
            f"    {self.t_s:>6.0f} s  {self.consumed:>12,} consumed  {self.per_s:>8,.0f}/s"
            f"  RSS {self.rss_mb:>6,.1f} MB  batch {self.batch_ms:>7,.1f} ms"
            f" ({self.batch_events:,.0f} signals)"
        )


NAN = float("nan")


def signals(accounts: int, run: str) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) of usage signals without end, round the accounts in a shuffled order."""
    template = UsageSignal.model_validate(
        {
            "event_id": "e",
            "account_id": "a",
            "type": "used",
            "occurred_at": datetime.now(UTC),
            "user_id": "u",
            "ingested_at": datetime.now(UTC),
        }
    ).model_dump(mode="json", exclude_none=True)
    features = ("used", "exported", "shared", "invited")
    for i in itertools.count():
        account = f"soak-{(i * 7919) % accounts}"
        now = datetime.now(UTC).isoformat()
        body = template | {
            "event_id": f"{run}-{i}",
            "account_id": account,
            "type": features[i % len(features)],
            "feature": features[i % len(features)],
            "occurred_at": now,
            "ingested_at": now,
            "user_id": f"u{i % 13}",
        }
        value = orjson.dumps(body)
        if i < len(features):  # the template must stay a valid signal: scoring would dead-letter
            UsageSignal.model_validate_json(value)
        yield key_bytes(account), value


class Consumed:
    """How far scoring has got, as last read; the producer waits on it to keep its lead."""

    def __init__(self) -> None:
        self.count = 0
        self._moved = asyncio.Event()

    def update(self, count: int) -> None:
        self.count = count
        self._moved.set()

    async def within(self, produced: int, lead: int) -> None:
        while produced - self.count > lead:
            self._moved.clear()
            await self._moved.wait()


async def produce(
    bootstrap: str, topic: str, total: int, accounts: int, run: str, consumed: Consumed
) -> None:
    """``total`` signals, never more than ``LEAD`` ahead of scoring."""
    producer = make_producer(bootstrap, client_id="bench-soak", linger_ms=20)
    await producer.start()
    source = signals(accounts, run)
    try:
        for start in range(0, total, CHUNK):
            await consumed.within(start, LEAD)
            chunk = itertools.islice(source, min(CHUNK, total - start))
            await send_all(producer, [(topic, key, value) for key, value in chunk])
    finally:
        await stop_bounded(producer, 10)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return NAN


def batch_totals(page: str) -> tuple[float, float, float, float]:
    """From scoring's /metrics page: batch transactions and their seconds, batches sized and
    their signals."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(page):
        for s in family.samples:
            if s.name.startswith(f"{METRIC}transaction_duration_seconds") and (
                s.labels.get("kind") != "batch"
            ):
                continue
            found[s.name.removeprefix(METRIC)] = float(s.value)
    return (
        found.get("transaction_duration_seconds_count", 0.0),
        found.get("transaction_duration_seconds_sum", 0.0),
        found.get("batch_size_events_count", 0.0),
        found.get("batch_size_events_sum", 0.0),
    )


class Sampler:
    """Reads the cumulative figures of one scoring process and its consumer group."""

    def __init__(self, service: Service, database_url: str, group: str) -> None:
        self.service = service
        self.engine = create_engine(database_url, pool_size=1)
        self.group = group
        self.http = httpx.AsyncClient(timeout=10)

    async def consumed(self) -> int:
        return await throughput.stored_position(self.engine, self.group)

    async def totals(self) -> Totals:
        consumed = await self.consumed()
        page = (await self.http.get(f"{self.service.url}/metrics")).text
        assert self.service.process is not None
        rss = rss_mb(self.service.process.pid)
        return Totals(time.monotonic(), consumed, rss, *batch_totals(page))

    async def close(self) -> None:
        await self.http.aclose()
        await self.engine.dispose()


async def soak(
    bootstrap: str,
    database_url: str,
    topics: dict[str, str],
    logs: Path,
    options: SoakOptions,
    say: Callable[[str], None],
) -> list[Sample]:
    """Until scoring has stored offsets past ``options.events`` signals; the samples."""
    run = uuid.uuid4().hex[:6]
    group = f"bench-soak-{run}"
    service = Service(
        "scoring",
        throughput.scoring_env(bootstrap, database_url, topics, group),
        logs / f"{group}.log",
    )
    service.start()
    sampler = Sampler(service, database_url, group)
    consumed = Consumed()
    try:
        await asyncio.to_thread(service.wait_ready)
        producing = asyncio.create_task(
            produce(bootstrap, topics["signals"], options.events, options.accounts, run, consumed)
        )
        try:
            return await _sample(sampler, consumed, producing, options, say)
        finally:
            producing.cancel()
            await asyncio.gather(producing, return_exceptions=True)
    finally:
        service.stop()
        await sampler.close()


@dataclass(frozen=True)
class SoakOptions:
    events: int
    accounts: int
    sample_s: float
    stalled_s: float = 300  # no progress this long: give up


async def _sample(
    sampler: Sampler,
    consumed: Consumed,
    producing: asyncio.Task[None],
    options: SoakOptions,
    say: Callable[[str], None],
) -> list[Sample]:
    start = previous = await sampler.totals()
    samples: list[Sample] = []
    moved_at = start.at
    while previous.consumed < options.events:
        # once a second: the producer's lead is measured from this
        await asyncio.sleep(1.0)
        count = await sampler.consumed()
        if producing.done() and producing.exception() is not None:
            raise RuntimeError("the soak producer failed") from producing.exception()
        now = time.monotonic()
        moved_at = now if count > consumed.count else moved_at
        consumed.update(count)
        if now - moved_at > options.stalled_s:
            raise TimeoutError(f"scoring made no progress for {options.stalled_s:.0f} s at {count}")
        if now - previous.at >= options.sample_s or count >= options.events:
            current = await sampler.totals()
            samples.append(Sample.between(start, previous, current))
            say(samples[-1].line())
            previous = current
    return samples
