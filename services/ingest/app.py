"""Wiring of the ingest service: the one place that builds its parts.

The skeleton (start, stop, probes, auth, errors, ``run``) is :mod:`shared.service.skeleton`.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import FastAPI

from services.ingest.api import router
from services.ingest.config import IngestSettings
from services.ingest.consumer import IngestConsumer
from services.ingest.instance import with_instance_id
from services.ingest.metrics import IngestMetrics
from services.ingest.runtime import IngestRuntime
from shared.clock.periodic import Now, utc_now
from shared.consumer.lag_monitor import LagMonitor, kafka_committed, lag_reporter
from shared.kafka.clients import make_producer, stop_bounded
from shared.logging import get_logger
from shared.service.skeleton import (
    Parts,
    ServiceSpec,
    create_service_app,
    create_topics,
    run_service,
)

log = get_logger(__name__)
# The HTTP producer's share of the shutdown timeout, after the consumer loop finished.
PRODUCER_STOP_S = 1.0


def create_app(settings: IngestSettings, *, now: Now = utc_now, run_loops: bool = True) -> FastAPI:
    metrics = IngestMetrics.new()

    async def build(stack: AsyncExitStack) -> Parts[IngestRuntime]:
        topics = settings.topics
        await create_topics(
            settings, *topics.raw_topics(), topics.signals, topics.dlq, registry=metrics.registry
        )
        # a transactional id unique per live process, the same one after a restart
        own, instance = with_instance_id(settings, settings.transactional_id_prefix)
        stack.callback(instance.release)
        log.info("ingest instance", transactional_id=own.transactional_id)
        producer = make_producer(settings.kafka, client_id="vigil-ingest-http")
        await producer.start()
        stack.push_async_callback(stop_bounded, producer, PRODUCER_STOP_S)
        consumer = IngestConsumer(own, metrics, now=now)

        async def readiness() -> dict[str, bool]:
            return {
                "kafka": consumer.health.connected,
                "partitions": bool(consumer.health.assigned),
            }

        lag = LagMonitor(
            settings.kafka,
            list(topics.raw_topics()),
            lambda: kafka_committed(settings.kafka, settings.group_id),
            lag_reporter(metrics, consumer.health),
            interval_s=settings.lag_interval_s,
        )
        runtime = IngestRuntime(own, metrics, producer, consumer, now)
        return Parts(
            runtime,
            readiness,
            {"consumer": consumer, "lag": lag},
            lambda: consumer.health.not_ready_because(settings.stuck_after_s),
        )

    return create_service_app(
        ServiceSpec("ingest", settings, metrics.registry, build, [(router, "write")], run_loops)
    )


def run() -> None:
    run_service("ingest", IngestSettings(), create_app)
