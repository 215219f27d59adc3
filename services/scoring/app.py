"""Wiring of the scoring service: the one place that builds and closes everything."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from services.scoring.api import router
from services.scoring.clock import ClockRescorer
from services.scoring.config import ScoringSettings
from services.scoring.consumer import SignalBatchHandler
from services.scoring.metrics import ScoringMetrics
from services.scoring.model_config import HealthModelConfig
from services.scoring.repository.scores import band_counts
from services.scoring.runtime import ScoringRuntime
from services.scoring.scorer import Scorer
from services.scoring.watermark_step import WatermarkStep
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
OUTBOX_LOCK_KEY = 0x56494702


def create_app(settings: ScoringSettings, *, run_loops: bool = True) -> FastAPI:
    registry = new_registry("scoring")
    metrics = ScoringMetrics.create(registry)
    holder: dict[str, ScoringRuntime] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            runtime = await _build_runtime(settings, metrics)
            stack.push_async_callback(runtime.engine.dispose)
            app.state.scoring = holder["runtime"] = runtime
            stop = asyncio.Event()
            tasks = _start_loops(runtime, stop) if run_loops else []
            log.info("scoring started", group_id=settings.group_id)
            try:
                yield
            finally:
                stop.set()
                await finish_tasks(tasks, settings.shutdown_timeout_s - 2)
                log.info("scoring stopped")

    async def readiness() -> dict[str, bool]:
        runtime = holder.get("runtime")
        if runtime is None:
            return {"started": False}
        return {
            "postgres": await db_reachable(runtime.engine),
            "kafka": runtime.consumer.health.connected,
            "partitions": bool(runtime.consumer.health.assigned),
        }

    app = FastAPI(title="Vigil scoring", version="1", lifespan=lifespan)
    app.include_router(probe_router(registry, readiness))
    app.include_router(router, dependencies=protected(settings.api_token))
    install_error_handlers(app)
    return app


async def _build_runtime(settings: ScoringSettings, metrics: ScoringMetrics) -> ScoringRuntime:
    topics = settings.topics
    await ensure_topics(
        settings.kafka_bootstrap,
        [topics.signals, topics.health_changes],
        partitions=settings.topic_partitions,
    )
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    sessions = create_sessionmaker(engine)
    model_store = VersionedConfig("scoring_config", HealthModelConfig)
    async with transaction(sessions) as session:
        await model_store.refresh(session)
    scorer = Scorer(model_store, metrics, topic=topics.health_changes, step=settings.change_step)
    watermarks = WatermarkStep(
        scorer,
        metrics,
        fresh_s=settings.watermark_fresh_s,
        held_back_chunk=settings.held_back_chunk,
    )
    relay = OutboxRelay(
        sessions,
        settings.kafka_bootstrap,
        [topics.health_changes],
        lock_key=OUTBOX_LOCK_KEY,
        poll_interval_s=settings.outbox_poll_interval_s,
        on_relayed=metrics.outbox_relayed.inc,
    )
    options = LoopOptions(
        bootstrap=settings.kafka_bootstrap,
        group_id=settings.group_id,
        topics=[topics.signals],
        client_id=f"vigil-scoring-{settings.instance_id}",
        batch_max_records=settings.batch_max_records,
        fetch_timeout_ms=settings.fetch_timeout_ms,
        stuck_after_s=settings.stuck_after_s,
    )
    consumer = DbOffsetsConsumer(
        options,
        sessions,
        SignalBatchHandler(scorer, metrics, watermarks=watermarks),
        on_committed=relay.wake,
        on_lag=metrics.record_lag,
    )
    clock = ClockRescorer(
        engine,
        sessions,
        scorer,
        metrics,
        chunk_size=settings.clock_chunk_size,
        on_committed=relay.wake,
        watermarks=watermarks,
    )
    return ScoringRuntime(settings, metrics, engine, sessions, consumer, relay, clock, model_store)


def _start_loops(runtime: ScoringRuntime, stop: asyncio.Event) -> list[asyncio.Task[None]]:
    s = runtime.settings
    tasks = [
        asyncio.create_task(runtime.consumer.run(stop), name="consumer"),
        asyncio.create_task(runtime.relay.run(stop), name="outbox-relay"),
        asyncio.create_task(_gauges(runtime, stop), name="gauges"),
    ]
    if s.clock_enabled and s.clock_interval_s > 0:
        tasks.append(asyncio.create_task(runtime.clock.run(stop, s.clock_interval_s), name="clock"))
    return tasks


async def _gauges(runtime: ScoringRuntime, stop: asyncio.Event) -> None:
    """Refresh the gauges that need a query (band counts, outbox backlog)."""
    metrics = runtime.metrics
    while not stop.is_set():
        with contextlib.suppress(Exception):
            async with transaction(runtime.sessions) as session:
                backlog = await outbox_backlog(session, [runtime.settings.topics.health_changes])
                metrics.outbox_backlog.set(backlog)
                metrics.accounts_by_band.clear()
                for row in await band_counts(session):
                    metrics.accounts_by_band.labels(row.band, row.segment or "unknown").set(row.n)
        await wait_or_stop(stop, 5.0)


def run() -> None:
    settings = ScoringSettings()
    configure_logging(
        "scoring",
        level=settings.log_level,
        json=settings.log_json,
        secrets=[settings.api_token.get_secret_value()],
    )
    serve(create_app(settings), settings.http_host, settings.http_port)
