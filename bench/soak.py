"""`make soak`: steady mixed traffic with 1% poison for N minutes; nothing stops, nothing lost.

Runs the three services as processes against a fresh database and topics of
its own (on the broker and PostgreSQL given by ``VIGIL_KAFKA_BOOTSTRAP`` and
``VIGIL_DATABASE_URL``, or on a throwaway stack under ``.vigil/soak``).
Produces valid events to the raw topics at a steady rate with 1% poison of
several kinds: on the raw topics (for ingest), straight onto ``signals`` (for
scoring) and onto ``health.changes`` (for triggers). Every second it samples
each service's ``consumer_stalled_seconds`` gauge; at the end it waits for the
pipeline to drain and checks that every record is applied or dead-lettered.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import stack
from shared.database.engine import create_engine
from shared.kafka.clients import ensure_topics, make_producer, stop_bounded
from shared.settings.common import TopicNames
from tests.support.databases import create_database, drop_database
from tests.support.drain import count_records, wait_drained
from tests.support.poison import (
    health_change_bytes,
    poison_changes,
    poison_raw,
    poison_signals,
    raw_event,
)
from tests.support.services import Service

REPO = Path(__file__).resolve().parent.parent
console = Console(highlight=False, soft_wrap=True)
SERVICES = ("ingest", "scoring", "triggers")


@dataclass
class Tally:
    raw_good: int = 0
    raw_poison: int = 0
    signal_poison: int = 0
    change_good: int = 0
    change_poison: int = 0
    longest_stall_s: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SERVICES, 0.0))

    @property
    def records_in(self) -> int:
        return (
            self.raw_good
            + self.raw_poison
            + self.signal_poison
            + self.change_good
            + self.change_poison
        )


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=50, help="records per second")
    parser.add_argument("--poison", type=float, default=0.01, help="share of poison records")
    parser.add_argument("--seed", type=int, default=12)
    return parser.parse_args(argv)


def service_env(bootstrap: str, database_url: str, topics: TopicNames, run: str) -> dict[str, str]:
    env = {f"VIGIL_TOPICS__{k.upper()}": v for k, v in topics.model_dump().items()}
    return env | {
        "VIGIL_KAFKA_BOOTSTRAP": bootstrap,
        "VIGIL_DATABASE_URL": database_url,
        "VIGIL_API_TOKEN": secrets.token_urlsafe(32),
        "VIGIL_SECRETS_KEY": Fernet.generate_key().decode(),
        "VIGIL_CLOCK_ENABLED": "false",
        "VIGIL_LAG_INTERVAL_S": "1",
        "VIGIL_TRANSACTIONAL_ID_PREFIX": f"soak-{run}",
        "VIGIL_LOG_LEVEL": "WARNING",
    }


async def produce(
    bootstrap: str,
    topics: TopicNames,
    options: argparse.Namespace,
    tally: Tally,
    stop_at: float,
) -> None:
    """``rate`` records a second, 1% poison cycling through the kinds and the stages."""
    rng = random.Random(options.seed)
    by_source = topics.topic_of_source()
    raw_kinds, signal_kinds = poison_raw(), poison_signals()
    change_kinds = poison_changes()
    producer = make_producer(bootstrap, client_id="soak")
    await producer.start()
    i = 0
    try:
        while time.monotonic() < stop_at:
            second = time.monotonic()
            sends = []
            for _ in range(options.rate):
                i += 1
                sends.append(
                    await producer.send(
                        *_next(
                            i,
                            rng,
                            options,
                            topics,
                            by_source,
                            raw_kinds,
                            signal_kinds,
                            change_kinds,
                            tally,
                        )
                    )
                )
            await asyncio.gather(*sends)
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - second)))
    finally:
        await stop_bounded(producer, 10)


def _next(
    i: int,
    rng: random.Random,
    options: argparse.Namespace,
    topics: TopicNames,
    by_source: dict[str, str],
    raw_kinds: list[tuple[str, str, bytes]],
    signal_kinds: list[tuple[str, bytes]],
    change_kinds: list[tuple[str, bytes]],
    tally: Tally,
) -> tuple[str, bytes, bytes]:
    """(topic, value, key) of record ``i``."""
    key = f"acct-{i % 97}".encode()
    if rng.random() < options.poison:
        stage = rng.choice(("ingest", "ingest", "scoring", "triggers"))
        if stage == "ingest":
            _, source, value = rng.choice(raw_kinds)
            tally.raw_poison += 1
            return by_source[source], value, key
        if stage == "scoring":
            tally.signal_poison += 1
            return topics.signals, rng.choice(signal_kinds)[1], key
        tally.change_poison += 1
        return topics.health_changes, rng.choice(change_kinds)[1], key
    if i % 10 == 0:  # some direct health changes keep triggers busy too
        tally.change_good += 1
        return topics.health_changes, health_change_bytes(i), key
    tally.raw_good += 1
    return by_source["usage"], orjson.dumps(raw_event(i, event_id=f"soak-{i}")), key


PROGRESS_EVERY_S = 30


async def sample_stalls(services: dict[str, Service], tally: Tally, stop: asyncio.Event) -> None:
    started = last_said = time.monotonic()
    async with httpx.AsyncClient(timeout=2) as client:
        while not stop.is_set():
            if time.monotonic() - last_said >= PROGRESS_EVERY_S:
                last_said = time.monotonic()
                stalls = ", ".join(f"{n} {s:.1f} s" for n, s in tally.longest_stall_s.items())
                console.print(
                    f"  {last_said - started:4.0f} s: {tally.records_in:,} records in;"
                    f" longest stall so far: {stalls}"
                )
            for name, service in services.items():
                try:
                    page = (await client.get(f"{service.url}/metrics")).text
                except httpx.HTTPError:
                    continue
                stalled = _gauge(page, f"vigil_{name}_consumer_stalled_seconds")
                tally.longest_stall_s[name] = max(tally.longest_stall_s[name], stalled)
            await asyncio.sleep(1.0)


def _gauge(page: str, name: str) -> float:
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    return 0.0


async def soak(options: argparse.Namespace, bootstrap: str, base_url: str) -> bool:
    run = uuid.uuid4().hex[:6]
    topics = TopicNames(**{k: f"{v}.soak-{run}" for k, v in TopicNames().model_dump().items()})
    database = f"vigil_soak_{run}"
    database_url = await create_database(base_url, database)
    await ensure_topics(bootstrap, topics.model_dump().values())
    env = service_env(bootstrap, database_url, topics, run)
    logs = REPO / ".vigil" / "soak-logs"
    logs.mkdir(parents=True, exist_ok=True)
    groups = {name: f"soak-{name}-{run}" for name in SERVICES}
    services = {
        name: Service(name, env | {"VIGIL_GROUP_ID": groups[name]}, logs / f"{name}-{run}.log")
        for name in SERVICES
    }
    tally = Tally()
    stop = asyncio.Event()
    engine = create_engine(database_url, pool_size=2)
    try:
        for service in services.values():
            service.start()
        for service in services.values():
            await asyncio.to_thread(service.wait_ready)
        console.print(
            f"soak {run}: {options.minutes} min at {options.rate}/s, {options.poison:.0%} poison"
        )
        sampler = asyncio.create_task(sample_stalls(services, tally, stop))
        await produce(bootstrap, topics, options, tally, time.monotonic() + options.minutes * 60)
        drained_s = await wait_drained(
            engine, bootstrap, topics.model_dump(), groups, timeout_s=300
        )
        stop.set()
        await sampler
        return await report(engine, bootstrap, topics, tally, drained_s)
    finally:
        stop.set()
        for service in services.values():
            service.stop()
        await engine.dispose()
        await drop_database(base_url, database)


async def report(
    engine: AsyncEngine, bootstrap: str, topics: TopicNames, tally: Tally, drained_s: float
) -> bool:
    async with engine.connect() as conn:
        scored = int(await conn.scalar(text("SELECT count(*) FROM applied_events")) or 0)
        views = int(await conn.scalar(text("SELECT count(*) FROM trigger_scores")) or 0)
    dlq = {
        "ingest": await count_records(bootstrap, topics.dlq),
        "scoring": await count_records(bootstrap, topics.scoring_dlq),
        "triggers": await count_records(bootstrap, topics.triggers_dlq),
    }
    signals = await count_records(bootstrap, topics.signals)
    checks = {
        "ingest: every raw record is a signal or a dead letter": signals - tally.signal_poison
        == tally.raw_good
        and dlq["ingest"] == tally.raw_poison,
        "scoring: every signal applied or dead-lettered": scored == tally.raw_good
        and dlq["scoring"] == tally.signal_poison,
        "triggers: every poison health change dead-lettered": dlq["triggers"]
        == tally.change_poison,
    }
    console.print(
        f"records in:      {tally.records_in}  (raw valid {tally.raw_good}, raw poison "
        f"{tally.raw_poison}, signal poison {tally.signal_poison}, health changes "
        f"{tally.change_good} + {tally.change_poison} poison)"
    )
    console.print(f"scored:          {scored} signals applied; triggers stored {views} scores")
    console.print(
        f"dead-lettered:   {sum(dlq.values())}  ({', '.join(f'{k} {v}' for k, v in dlq.items())})"
    )
    console.print(
        "longest stall:   " + ", ".join(f"{k} {v:.1f} s" for k, v in tally.longest_stall_s.items())
    )
    console.print(f"drained in:      {drained_s:.1f} s after the last record")
    for name, ok in checks.items():
        console.print(f"{'ok  ' if ok else 'FAIL'} {name}")
    return all(checks.values())


def main(argv: list[str] | None = None) -> None:
    options = parse(argv)
    bootstrap = os.environ.get("VIGIL_KAFKA_BOOTSTRAP")
    database_url = os.environ.get("VIGIL_DATABASE_URL")
    if bootstrap and database_url:
        sys.exit(0 if asyncio.run(soak(options, bootstrap, database_url)) else 1)
    base = stack.StackConfig.from_env(REPO)
    config = stack.StackConfig(
        REPO / ".vigil" / "soak", base.kafka_version, base.kafka_home, base.kafka_cache
    )
    info = stack.up(config, echo=console.print)
    try:
        ok = asyncio.run(soak(options, info.kafka_bootstrap, info.database_url))
    finally:
        stack.down(config, echo=console.print)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
