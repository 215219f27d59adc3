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
from shared.http import install_error_handlers, probe_router, protected, serve
from shared.instance import with_instance_id
from shared.kafka import make_producer, stop_bounded
from shared.logging import configure_logging, get_logger
from shared.metrics import new_registry
from shared.retry import finish_tasks
from shared.topics import prepare_topics

log = get_logger(__name__)


def create_app(
    settings: IngestSettings, *, clock: Callable[[], datetime] = utc_now, run_consumer: bool = True
) -> FastAPI:
    registry = new_registry("ingest")
    metrics = IngestMetrics.create(registry)
    # unique transactional id per live process, the same one after a restart
    settings, instance = with_instance_id(settings, settings.transactional_id_prefix)
    consumer = IngestConsumer(settings, metrics, clock=clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        topics = settings.topics
        await prepare_topics(
            settings.kafka_bootstrap,
            [*topics.raw_topics(), topics.signals, topics.dlq],
            settings.topic_spec,
            registry,
        )
        producer = make_producer(settings.kafka_bootstrap, client_id="vigil-ingest-http")
        await producer.start()
        app.state.ingest = IngestRuntime(settings, metrics, producer, consumer, clock)
        stop = asyncio.Event()
        loop_task = (
            asyncio.create_task(consumer.run(stop), name="consumer") if run_consumer else None
        )
        log.info(
            "ingest started",
            topics=list(topics.raw_topics()),
            transactional_id=settings.transactional_id,
        )
        try:
            yield
        finally:
            stop.set()
            if loop_task is not None:
                await finish_tasks([loop_task], settings.shutdown_timeout_s - 3)
            await stop_bounded(producer, 1)
            instance.release()
            log.info("ingest stopped")

    async def readiness() -> dict[str, bool]:
        return {"kafka": consumer.health.connected, "partitions": bool(consumer.health.assigned)}

    app = FastAPI(title="Vigil ingest", version="1", lifespan=lifespan)
    app.include_router(probe_router(registry, readiness))
    app.include_router(router, dependencies=protected(settings.api_token))
    install_error_handlers(app)
    return app


def run() -> None:
    settings = IngestSettings()
    configure_logging(
        "ingest",
        level=settings.log_level,
        json=settings.log_json,
        secrets=[settings.api_token.get_secret_value()],
    )
    serve(create_app(settings), settings.http_host, settings.http_port, settings.shutdown_timeout_s)
