"""Wiring of the ingest service: the one place that builds and closes everything."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI

from services.ingest.api import router
from services.ingest.config import IngestSettings
from services.ingest.consumer import IngestConsumer, utc_now
from services.ingest.metrics import IngestMetrics
from services.ingest.runtime import IngestRuntime
from shared.http import harden, probe_router, protected, serve
from shared.kafka import ensure_topics, make_producer, stop_bounded
from shared.logging import configure_logging, get_logger
from shared.metrics import new_registry
from shared.retry import finish_tasks

log = get_logger(__name__)


def create_app(
    settings: IngestSettings, *, clock: Callable[[], datetime] = utc_now, run_consumer: bool = True
) -> FastAPI:
    registry = new_registry("ingest")
    metrics = IngestMetrics.create(registry)
    consumer = IngestConsumer(settings, metrics, clock=clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        topics = settings.topics
        await ensure_topics(
            settings.kafka_bootstrap,
            [*topics.raw_topics(), topics.signals, topics.dlq],
            partitions=settings.topic_partitions,
        )
        producer = make_producer(settings.kafka_bootstrap, client_id="vigil-ingest-http")
        await producer.start()
        app.state.ingest = IngestRuntime(settings, metrics, producer, consumer, clock)
        stop = asyncio.Event()
        loop_task = asyncio.create_task(consumer.run(stop)) if run_consumer else None
        log.info("ingest started", topics=list(topics.raw_topics()))
        try:
            yield
        finally:
            stop.set()
            if loop_task is not None:
                await finish_tasks([loop_task], settings.shutdown_timeout_s - 2)
            await stop_bounded(producer, 2)
            log.info("ingest stopped")

    async def readiness() -> dict[str, bool]:
        return {"kafka": consumer.health.connected, "partitions": bool(consumer.health.assigned)}

    app = FastAPI(title="Vigil ingest", version="1", lifespan=lifespan)
    app.include_router(probe_router(registry, readiness))
    app.include_router(router, dependencies=protected(settings, "write"))
    harden(app, max_body_bytes=settings.http_max_body_bytes)
    return app


def run() -> None:
    settings = IngestSettings()
    configure_logging(
        "ingest",
        level=settings.log_level,
        json=settings.log_json,
        secrets=settings.secrets(),
    )
    serve(create_app(settings), settings.http_host, settings.http_port)
