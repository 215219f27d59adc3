"""Wiring of the triggers service: the one place that builds and closes everything."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from services.triggers.api import router
from services.triggers.clock import TriggersClock
from services.triggers.config import TriggersSettings
from services.triggers.consumer import TriggerEngine
from services.triggers.metrics import TriggersMetrics
from services.triggers.rules_config import PlaybookConfig
from services.triggers.runtime import TriggersRuntime
from services.triggers.webhooks.api import router as webhooks_router
from services.triggers.webhooks.metrics import WebhookMetrics
from services.triggers.webhooks.repository import retry_backlog
from services.triggers.webhooks.worker import DeliveryWorker
from shared.config_store import VersionedConfig
from shared.db import create_engine, create_sessionmaker, db_reachable, transaction
from shared.db_consumer import DbOffsetsConsumer, LoopOptions
from shared.http import install_error_handlers, probe_router, protected, serve
from shared.kafka import ensure_topics
from shared.logging import configure_logging, get_logger
from shared.metrics import new_registry
from shared.outbox import OutboxRelay, outbox_backlog
from shared.retry import finish_tasks, wait_or_stop

log = get_logger(__name__)
OUTBOX_LOCK_KEY = 0x56494712


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: TriggersSettings,
    *,
    run_loops: bool = True,
    now: Callable[[], datetime] = _utc_now,
) -> FastAPI:
    """``now`` is the wall clock the playbook horizon is measured against."""
    registry = new_registry("triggers")
    metrics = TriggersMetrics.create(registry)
    webhook_metrics = WebhookMetrics.create(registry)
    holder: dict[str, TriggersRuntime] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(follow_redirects=False) as client:
            runtime = await _build(settings, metrics, webhook_metrics, client, now)
            app.state.triggers = holder["runtime"] = runtime
            stop = asyncio.Event()
            tasks = _start(runtime, webhook_metrics, stop) if run_loops else []
            log.info("triggers started", group_id=settings.group_id)
            try:
                yield
            finally:
                stop.set()
                await finish_tasks(tasks, settings.shutdown_timeout_s - 2)
                await runtime.engine.dispose()
                log.info("triggers stopped")

    async def readiness() -> dict[str, bool]:
        runtime = holder.get("runtime")
        if runtime is None:
            return {"started": False}
        return {
            "postgres": await db_reachable(runtime.engine),
            "kafka": runtime.consumer.health.connected,
            "partitions": bool(runtime.consumer.health.assigned),
        }

    app = FastAPI(title="Vigil triggers", version="1", lifespan=lifespan)
    app.include_router(probe_router(registry, readiness))
    app.include_router(router, dependencies=protected(settings.api_token))
    app.include_router(webhooks_router, dependencies=protected(settings.api_token))
    install_error_handlers(app)
    return app


async def _build(
    settings: TriggersSettings,
    metrics: TriggersMetrics,
    webhook_metrics: WebhookMetrics,
    client: httpx.AsyncClient,
    now: Callable[[], datetime],
) -> TriggersRuntime:
    topics = settings.topics
    await ensure_topics(
        settings.kafka_bootstrap,
        [topics.health_changes, topics.playbook_events],
        partitions=settings.topic_partitions,
    )
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    sessions = create_sessionmaker(engine)
    rules = VersionedConfig("playbook_config", PlaybookConfig)
    async with transaction(sessions) as session:
        await rules.refresh(session)
    trigger_engine = TriggerEngine(rules, metrics, topic=topics.playbook_events, wall_clock=now)
    relay = OutboxRelay(
        sessions,
        settings.kafka_bootstrap,
        [topics.playbook_events],
        lock_key=OUTBOX_LOCK_KEY,
        poll_interval_s=settings.outbox_poll_interval_s,
        on_relayed=metrics.outbox_relayed.inc,
    )
    options = LoopOptions(
        bootstrap=settings.kafka_bootstrap,
        group_id=settings.group_id,
        topics=[topics.health_changes],
        client_id=f"vigil-triggers-{settings.instance_id}",
        batch_max_records=settings.batch_max_records,
        fetch_timeout_ms=settings.fetch_timeout_ms,
        stuck_after_s=settings.stuck_after_s,
    )
    worker = DeliveryWorker(sessions, client, settings.webhooks, webhook_metrics)

    def committed(count: int) -> None:
        # playbook events go to the outbox and to the webhook queue in one transaction
        relay.wake(count)
        worker.wake(count)

    consumer = DbOffsetsConsumer(
        options,
        sessions,
        trigger_engine.on_records,
        on_committed=committed,
        on_lag=metrics.record_lag,
    )
    clock = TriggersClock(
        engine,
        sessions,
        trigger_engine,
        metrics,
        chunk_size=settings.clock_chunk_size,
        on_committed=committed,
    )
    return TriggersRuntime(
        settings, metrics, engine, sessions, consumer, relay, clock, worker, rules
    )


def _start(
    runtime: TriggersRuntime, webhook_metrics: WebhookMetrics, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    s = runtime.settings
    tasks = [
        asyncio.create_task(runtime.consumer.run(stop), name="consumer"),
        asyncio.create_task(runtime.relay.run(stop), name="outbox-relay"),
        asyncio.create_task(runtime.worker.run(stop), name="webhooks"),
        asyncio.create_task(_gauges(runtime, webhook_metrics, stop), name="gauges"),
    ]
    if s.clock_enabled and s.clock_interval_s > 0:
        tasks.append(asyncio.create_task(runtime.clock.run(stop, s.clock_interval_s), name="clock"))
    return tasks


async def _gauges(runtime: TriggersRuntime, hooks: WebhookMetrics, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(Exception):
            async with transaction(runtime.sessions) as session:
                topic = runtime.settings.topics.playbook_events
                runtime.metrics.outbox_backlog.set(await outbox_backlog(session, [topic]))
                backlog, disabled = await retry_backlog(session)
                hooks.retry_backlog.set(backlog)
                hooks.disabled_endpoints.set(disabled)
        await wait_or_stop(stop, 5.0)


def run() -> None:
    settings = TriggersSettings()
    configure_logging(
        "triggers",
        level=settings.log_level,
        json=settings.log_json,
        secrets=[settings.api_token.get_secret_value()],
    )
    serve(create_app(settings), settings.http_host, settings.http_port)
