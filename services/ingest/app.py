"""Wiring of the ingest service: the one place that builds its parts.

The skeleton (start, stop, probes, auth, errors, ``run``) is :mod:`shared.service`.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import FastAPI

from services.ingest.api import router
from services.ingest.config import IngestSettings
from services.ingest.consumer import IngestConsumer
from services.ingest.metrics import IngestMetrics
from services.ingest.runtime import IngestRuntime
from shared.clock import Now, utc_now
from shared.kafka import make_producer, stop_bounded
from shared.service import Parts, ServiceSpec, create_service_app, create_topics, run_service

# The HTTP producer's share of the shutdown timeout, after the consumer loop finished.
PRODUCER_STOP_S = 2.0


def create_app(settings: IngestSettings, *, now: Now = utc_now, run_loops: bool = True) -> FastAPI:
    metrics = IngestMetrics.new()

    async def build(stack: AsyncExitStack) -> Parts[IngestRuntime]:
        topics = settings.topics
        await create_topics(settings, *topics.raw_topics(), topics.signals, topics.dlq)
        producer = make_producer(settings.kafka_bootstrap, client_id="vigil-ingest-http")
        await producer.start()
        stack.push_async_callback(stop_bounded, producer, PRODUCER_STOP_S)
        consumer = IngestConsumer(settings, metrics, now=now)

        async def readiness() -> dict[str, bool]:
            return {
                "kafka": consumer.health.connected,
                "partitions": bool(consumer.health.assigned),
            }

        runtime = IngestRuntime(settings, metrics, producer, consumer, now)
        return Parts(runtime, readiness, {"consumer": consumer})

    return create_service_app(
        ServiceSpec("ingest", settings, metrics.registry, build, [router], run_loops)
    )


def run() -> None:
    run_service("ingest", IngestSettings(), create_app)
