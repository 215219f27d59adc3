"""Parts of the services whose state lives in PostgreSQL (scoring and triggers).

Each builds, in its ``app.py``: the database (engine closed on the exit
stack), its versioned config loaded once, the batch consumer of its input
topic with offsets in PostgreSQL, the outbox relay of its output topic, the
chunked clock (:mod:`shared.clock.periodic`) and a loop refreshing the gauges that
need a query. The functions here build those from the shared settings.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Protocol, TypeVar

from aiokafka import TopicPartition
from prometheus_client import Counter, Gauge
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.clock.periodic import ChunkedClock, Now, utc_now
from shared.consumer.dead_letter import Stage
from shared.consumer.lag_monitor import LagMonitor, lag_reporter
from shared.consumer.loop import BatchHandler, DbOffsetsConsumer, LoopOptions, Prepare
from shared.consumer.offsets import load_offsets
from shared.consumer.outbox import OutboxRelay, outbox_backlog
from shared.database.config_store import VersionedConfig
from shared.database.engine import create_engine, create_sessionmaker, db_reachable, transaction
from shared.database.locks import LockKey
from shared.http.probes import ReadinessCheck
from shared.metrics import ConsumerMetricSet
from shared.retry import wait_or_stop
from shared.service.skeleton import Loop, Parts
from shared.settings.common import StatefulServiceSettings

GAUGE_INTERVAL_S = 5.0
M = TypeVar("M", bound=BaseModel)
Sessions = async_sessionmaker[AsyncSession]


def open_database(
    stack: AsyncExitStack, settings: StatefulServiceSettings
) -> tuple[AsyncEngine, Sessions]:
    """The engine (disposed when ``stack`` closes) and its sessionmaker."""
    engine = create_engine(
        settings.database_url, pool_size=settings.db_pool_size, tls=settings.database_tls
    )
    stack.push_async_callback(engine.dispose)
    return engine, create_sessionmaker(engine)


async def load_config(
    sessions: Sessions,
    table: str,
    model: type[M],
    check: Callable[[M], None] = lambda _config: None,
) -> VersionedConfig[M]:
    """The versioned config in force before the first batch (defaults stored on first start);
    ``check`` runs before a config is stored or adopted (see
    :mod:`shared.database.config_store`)."""
    store = VersionedConfig(table, model, check)
    async with transaction(sessions) as session:
        await store.refresh(session)
    return store


class _OutboxMetrics(Protocol):
    @property
    def outbox_relayed(self) -> Counter: ...


def outbox_relay(
    settings: StatefulServiceSettings,
    sessions: Sessions,
    metrics: _OutboxMetrics,
    lock_key: LockKey,
    *topics: str,
) -> OutboxRelay:
    """The relay of the outbox of ``topics`` (output and dead letters), one instance at a
    time under ``lock_key``, counting what it moved in ``metrics.outbox_relayed``."""
    return OutboxRelay(
        sessions,
        settings.kafka,
        list(topics),
        lock_key=lock_key,
        poll_interval_s=settings.outbox_poll_interval_s,
        on_relayed=metrics.outbox_relayed.inc,
    )


def batch_consumer(
    settings: StatefulServiceSettings,
    sessions: Sessions,
    topic: str,
    handle: BatchHandler,
    *,
    on_committed: Callable[[int], None],
    metrics: ConsumerMetricSet,
    dead_letters: tuple[Stage, str],
    on_batch_seconds: Callable[[float], None] = lambda _s: None,
    prepare: Prepare | None = None,
    now: Now = utc_now,
) -> DbOffsetsConsumer:
    """The consumer of ``topic`` in the service's group, offsets stored with the state;
    a record that fails for good goes to the ``dead_letters`` topic of its stage."""
    stage, dead_letter_topic = dead_letters
    options = LoopOptions(
        bootstrap=settings.kafka,
        group_id=settings.group_id,
        topics=[topic],
        client_id=f"{settings.group_id}-{settings.instance_label}",
        batch_max_records=settings.batch_max_records,
        fetch_timeout_ms=settings.fetch_timeout_ms,
        top_up_ms=settings.fetch_top_up_ms,
        stuck_after_s=settings.stuck_after_s,
        dead_letter_topic=dead_letter_topic,
        stage=stage,
    )
    return DbOffsetsConsumer(
        options,
        sessions,
        handle,
        on_committed=on_committed,
        on_failure=metrics.failed,
        on_dead_letter=metrics.count_dead_letter,
        on_batch_seconds=on_batch_seconds,
        prepare=prepare,
        now=now,
    )


@dataclass
class StatefulRuntime:
    """What every stateful service holds; a service's runtime extends it (and narrows
    ``settings`` and ``metrics`` to its own classes)."""

    settings: StatefulServiceSettings
    metrics: ConsumerMetricSet
    engine: AsyncEngine
    sessions: Sessions
    consumer: DbOffsetsConsumer
    relay: OutboxRelay
    clock: ChunkedClock


RuntimeT = TypeVar("RuntimeT", bound=StatefulRuntime)
Refresh = Callable[[AsyncSession], Awaitable[None]]


def service_parts(
    runtime: RuntimeT, outbox: tuple[str, Gauge], refresh: Refresh, **more: Loop
) -> Parts[RuntimeT]:
    """Readiness and loops: the consumer, the relay, the gauges (the backlog of the
    ``outbox`` topic, then ``refresh``), the clock when enabled, and ``more``."""
    topic, backlog = outbox

    async def gauges(session: AsyncSession) -> None:
        backlog.set(await outbox_backlog(session, [topic]))
        await refresh(session)

    loops: dict[str, Loop] = {
        "consumer": runtime.consumer,
        "outbox-relay": runtime.relay,
        "gauges": GaugeLoop(runtime.sessions, gauges),
        "lag": lag_monitor(runtime),
        **more,
    }
    if runtime.settings.clock_runs:
        loops["clock"] = runtime.clock
    health, stuck_after_s = runtime.consumer.health, runtime.settings.stuck_after_s
    return Parts(
        runtime,
        readiness(runtime.engine, runtime.consumer),
        loops,
        lambda: health.not_ready_because(stuck_after_s),
    )


def lag_monitor(runtime: StatefulRuntime) -> LagMonitor:
    """Lag from end offsets and the offsets stored in PostgreSQL, apart from the loop."""
    s = runtime.settings

    async def stored() -> dict[TopicPartition, int]:
        async with runtime.sessions() as session:
            return await load_offsets(session, s.group_id)

    return LagMonitor(
        s.kafka,
        runtime.consumer.topics,
        stored,
        lag_reporter(runtime.metrics, runtime.consumer.health),
        interval_s=s.lag_interval_s,
    )


def readiness(engine: AsyncEngine, consumer: DbOffsetsConsumer) -> ReadinessCheck:
    """Ready when PostgreSQL answers, the broker is reached and partitions are held."""

    async def check() -> dict[str, bool]:
        return {
            "postgres": await db_reachable(engine),
            "kafka": consumer.health.connected,
            "partitions": bool(consumer.health.assigned),
        }

    return check


class GaugeLoop:
    """Refreshes the gauges that need a query (outbox backlog, bands) every few seconds."""

    def __init__(
        self, sessions: Sessions, refresh: Callable[[AsyncSession], Awaitable[None]]
    ) -> None:
        self._sessions = sessions
        self._refresh = refresh

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            # Best effort: during an outage the gauges keep their last value, and the
            # consumer's own health (``/readyz``) reports the outage.
            with contextlib.suppress(Exception):
                async with transaction(self._sessions) as session:
                    await self._refresh(session)
            await wait_or_stop(stop, GAUGE_INTERVAL_S)
