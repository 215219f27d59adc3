"""One arrival order through the real pipeline: services as processes, real Kafka and
PostgreSQL, a verifying webhook receiver; then what it concluded, against the truth.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncEngine

from services.scoring.scorecard.compiled import version_of
from services.scoring.scorecard.document import Scorecard
from shared.database.engine import create_engine
from shared.kafka.clients import ensure_topics
from shared.settings.common import TopicNames
from tests.support.drain import wait_drained
from tests.support.evaluation import segments
from tests.support.evaluation.collect import counters, observe, published_changes
from tests.support.evaluation.custom import expected_segments, rescore_claimed, store_live
from tests.support.evaluation.equivalence import default_equals_model
from tests.support.evaluation.orders import (
    KILLED,
    KILLS,
    LATER,
    UNPACED,
    Item,
    Plan,
    arrange,
    produce,
)
from tests.support.evaluation.point_in_time import Signals, check, signals_of
from tests.support.evaluation.score import Evaluation, evaluate
from tests.support.evaluation.truth import Truth
from tests.support.receiver import Receiver, serving
from tests.support.services import Service
from tests.support.workload import Workload

SERVICES = ("ingest", "scoring", "triggers")
Say = Callable[[str], None]


@dataclass(frozen=True)
class Target:
    """Where one order runs: its own topics, database, consumer groups and logs."""

    bootstrap: str
    database_url: str
    topics: TopicNames
    logs: Path
    suffix: str

    @property
    def groups(self) -> dict[str, str]:
        return {name: f"vigil-{name}-{self.suffix}" for name in SERVICES}


@dataclass(frozen=True)
class Run:
    order: str
    workload: Workload
    truth: Truth
    items: list[Item]
    rate: float | None
    horizon: timedelta
    signals: Signals | None = None  # the items as scoring reads them; None: decoded here
    scorecard: Scorecard | None = None  # live from the start; None: the built-in model
    scorecard_name: str = ""  # what the results call it


async def run_order(run: Run, target: Target, say: Say = lambda _s: None) -> Evaluation:
    started = time.monotonic()
    await ensure_topics(target.bootstrap, target.topics.model_dump().values())
    token = secrets.token_urlsafe(32)  # >= 32 characters, as every service requires
    services = _services(target, token)
    receiver = Receiver()
    engine = create_engine(target.database_url, pool_size=2)
    if run.scorecard is not None and run.order != LATER:
        await store_live(engine, run.scorecard)
    try:
        for service in services.values():
            service.start()
        for service in services.values():
            await asyncio.to_thread(service.wait_ready, 180)
        async with serving(receiver), _client(token) as client:
            await _subscribe(client, services["triggers"], receiver)
            before_restarts = await _replay(run, target, services, say)
            await _close_the_period(run, target, engine, client, services, say)
            if run.scorecard is not None and run.order == LATER:
                await _apply_later(run, run.scorecard, target, engine, client, services, say)
            seen = await observe(
                engine,
                target.bootstrap,
                target.topics.playbook_events,
                receiver,
                {name: s.url for name, s in services.items()},
                before_restarts,
            )
            # on the states scoring stored, before the database goes
            equivalence = await default_equals_model(engine, len(run.truth.cohort))
    finally:
        await engine.dispose()
        for service in services.values():
            service.stop()
    changes = await published_changes(target.bootstrap, target.topics.health_changes)
    signals = run.signals if run.signals is not None else signals_of(run.items)
    truth = await asyncio.to_thread(check, changes, signals, scorecard=run.scorecard)
    custom = [p.name for p in run.scorecard.playbooks] if run.scorecard is not None else []
    result = evaluate(
        run.order,
        run.truth,
        seen,
        run.horizon,
        truth,
        equivalence,
        scorecard=run.scorecard_name,
        custom_playbooks=custom,
        live_version=None if run.scorecard is None else version_of(run.scorecard),
        segments=segments.compare(
            segments.last_segments(changes), expected_segments(run.scorecard_name, run.truth)
        ),
    )
    result.seconds = time.monotonic() - started
    return result


async def _close_the_period(
    run: Run,
    target: Target,
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    services: dict[str, Service],
    say: Say,
) -> None:
    """Drained, then the clocks once at the end of the history, as the demo does: silence
    lowers health, and time-based playbooks (and held-back ones that still hold) open."""

    async def drain() -> None:
        took = await wait_drained(
            engine, target.bootstrap, target.topics.model_dump(), target.groups, timeout_s=1200
        )
        say(f"    {run.order}: drained in {took:.0f}s")

    await drain()
    end = run.workload.end.isoformat()
    await _post(client, f"{services['scoring'].url}/v1/clock/rescore", {"as_of": end})
    await drain()
    await _post(client, f"{services['triggers'].url}/v1/clock/tick", {"now": end})
    await drain()


async def _apply_later(
    run: Run,
    card: Scorecard,
    target: Target,
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    services: dict[str, Service],
    say: Say,
) -> None:
    """The custom scorecard stored once the history is in (version 2, after the defaults
    row scoring stored): the replica that claims it re-scores every account from the
    state and rollups it kept; then the period is closed again."""
    started = time.monotonic()
    await store_live(engine, card, version=2)
    rescore = f"{services['scoring'].url}/v1/clock/rescore"
    async with asyncio.timeout(300):
        while not await rescore_claimed(engine, 2):  # noqa: ASYNC110 - a polled table
            await asyncio.sleep(0.2)
        # a pass of ours that gets the clock's lock starts after the claimed one ended
        while not await _rescored(client, rescore, run.workload.end.isoformat()):  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    await _close_the_period(run, target, engine, client, services, say)
    # the re-score published at the wall clock, after the history's end: triggers may
    # have read it before it followed the new scorecard, and its clock is what then
    # judges the new playbooks on the stored measures, as in production
    now = datetime.now(UTC).isoformat()
    await _post(client, f"{services['triggers'].url}/v1/clock/tick", {"now": now})
    await wait_drained(engine, target.bootstrap, target.topics.model_dump(), target.groups)
    say(f"    {run.order}: scorecard applied and re-scored in {time.monotonic() - started:.0f}s")


async def _replay(
    run: Run, target: Target, services: dict[str, Service], say: Say
) -> dict[str, float]:
    """Produce the events in the run's order; returns what killed services had counted."""
    before: dict[str, float] = {}
    disruptions: list[tuple[float, Callable[[], Awaitable[None]]]] = []
    if run.order in KILLED:
        for fraction, name in KILLS:
            disruptions.append((fraction, _killer(services[name], before, say)))
    items = arrange(run.order, run.items)
    rate = None if run.order in UNPACED else run.rate
    took = await produce(Plan(items, rate, disruptions), target.bootstrap, target.topics)
    say(f"    {run.order}: produced {len(items)} events in {took:.0f}s")
    for service in services.values():
        await asyncio.to_thread(service.wait_ready, 180)
    return before


def _killer(service: Service, before: dict[str, float], say: Say) -> Callable[[], Awaitable[None]]:
    async def kill_and_restart() -> None:
        # its counters die with it: keep what it had counted (up to a moment before)
        for name, value in (await counters({service.name: service.url}, service.name)).items():
            before[name] = before.get(name, 0.0) + (value or 0.0)
        await asyncio.to_thread(service.kill)
        say(f"    kill -9 {service.name} (pid {service.process.pid if service.process else '?'})")
        service.start()

    return kill_and_restart


def _services(target: Target, token: str) -> dict[str, Service]:
    env = {f"VIGIL_TOPICS__{k.upper()}": v for k, v in target.topics.model_dump().items()} | {
        "VIGIL_KAFKA_BOOTSTRAP": target.bootstrap,
        "VIGIL_DATABASE_URL": target.database_url,
        "VIGIL_API_TOKEN": token,
        "VIGIL_SECRETS_KEY": Fernet.generate_key().decode(),
        # the clock is ticked at the end of the replayed history, which may be far from now
        "VIGIL_CLOCK_ANY_TIME": "true",
        "VIGIL_CLOCK_ENABLED": "false",
        "VIGIL_WEBHOOKS__ALLOW_HTTP": "true",
        "VIGIL_WEBHOOKS__ALLOWLIST": '["127.0.0.1"]',
        "VIGIL_LOG_JSON": "true",
        # all four sources are produced: an empty topic is "not yet", not idle
        "VIGIL_EXPECTED_SOURCES": '["usage", "ticket", "payment", "survey"]',
    }
    target.logs.mkdir(parents=True, exist_ok=True)
    return {
        name: Service(
            name,
            env | {"VIGIL_GROUP_ID": target.groups[name]},
            target.logs / f"{name}-{target.suffix}.log",
        )
        for name in SERVICES
    }


def _client(token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=300)


async def _subscribe(client: httpx.AsyncClient, triggers: Service, receiver: Receiver) -> None:
    response = await client.post(
        f"{triggers.url}/v1/webhooks/subscriptions",
        json={"url": receiver.url, "event_types": ["playbook.triggered", "playbook.resolved"]},
    )
    response.raise_for_status()
    receiver.secrets.append(response.json()["secret"])


async def _rescored(client: httpx.AsyncClient, url: str, as_of: str) -> bool:
    response = await client.post(url, params={"as_of": as_of})
    response.raise_for_status()
    return int(response.json()["accounts"]) > 0


async def _post(client: httpx.AsyncClient, url: str, params: dict[str, str]) -> None:
    (await client.post(url, params=params)).raise_for_status()
