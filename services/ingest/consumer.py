"""The ingest loop: raw topics -> validate -> ``signals`` / ``ingest.dlq``.

Consume-transform-produce in one Kafka transaction per batch: the outputs
and the consumed offsets commit together, so a crash or restart re-produces
nothing and loses nothing. Any broker error drops the clients and starts a
fresh session from the committed offsets after a bounded backoff.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition

from services.ingest.config import IngestSettings
from services.ingest.domain.routing import Limits, Routed, route_message
from services.ingest.handover import Handover, rewind
from services.ingest.metrics import IngestMetrics
from services.ingest.watermark_emitter import WatermarkEmitter
from shared.clock.periodic import Now
from shared.consumer.dead_letter import Origin
from shared.consumer.failures import classify, describe
from shared.consumer.health import ConsumerHealth
from shared.kafka.clients import Pacer, make_consumer, make_producer, stop_bounded
from shared.logging import get_logger
from shared.retry import Backoff, retry_until_stopped

log = get_logger(__name__)


class IngestConsumer:
    """Runs until ``stop`` is set; survives poison messages and broker restarts."""

    def __init__(self, settings: IngestSettings, metrics: IngestMetrics, *, now: Now) -> None:
        # records are routed one by one (a bad one becomes a bounded dead letter), so a
        # batch failure here is an outage (retried) or a bug: counted by kind, retried
        self._settings = settings
        self._metrics = metrics
        self._now = now
        self._sources = settings.topics.raw_topics()
        self._limits = Limits(settings.max_event_bytes, settings.max_json_depth)
        self.health = ConsumerHealth()
        self._handover = Handover()  # no batch committed after its partition moved on
        self.watermarks = WatermarkEmitter(
            self._sources,
            settings.topics.signals,
            metrics,
            now,
            lateness_s=settings.allowed_lateness_s,
            interval_ms=settings.watermark_interval_ms,
            idle_s=settings.watermark_idle_s,
            expected=settings.expected_sources,
        )

    async def run(self, stop: asyncio.Event) -> None:
        await retry_until_stopped(stop, self._session, self._failed)

    def _failed(self, error: BaseException, delay: float) -> None:
        kind = classify(error)
        self._metrics.failed(kind)
        self.health.mark_down(f"{kind}: {describe(error, 300)}")
        log.warning("ingest session failed; retrying", error=repr(error), delay_s=delay)
        self._metrics.retries.inc()

    async def _session(self, stop: asyncio.Event, backoff: Backoff) -> None:
        s = self._settings
        consumer = make_consumer(s.kafka, group_id=s.group_id, client_id="vigil-ingest")
        producer = make_producer(
            s.kafka, client_id="vigil-ingest", transactional_id=s.transactional_id
        )
        try:
            await producer.start()
            await consumer.start()
            await self.watermarks.start_session(producer)
            listener = self.health.listener(on_revoked=self._handover.on_revoked)
            consumer.subscribe(list(self._sources), listener=listener)
            self.health.mark_up()
            pacer = Pacer(s.transaction_interval_ms / 1000)
            while not stop.is_set():
                token = self._handover.token()
                batch = await pacer.fetch(
                    consumer, timeout_ms=s.fetch_timeout_ms, max_records=s.batch_max_records
                )
                await self.watermarks.refresh(consumer)
                if batch:
                    async with self._handover.batch(token) as current:
                        if current:
                            await self._process(producer, batch)
                        # fetched across a rebalance: read again, see services/ingest/handover
                        else:
                            rewind(consumer, batch)
                            log.info(
                                "batch fetched across a rebalance; read again", size=len(batch)
                            )
                    backoff.reset()
                else:
                    await self.watermarks.send_idle(producer)
                # the lag gauge comes from shared.consumer.lag_monitor (committed offsets)
                await self.health.polled(consumer)
                if self.health.stuck(s.stuck_after_s):
                    raise RuntimeError("consumer made no progress while lagging; restarting it")
        finally:
            self.health.mark_down("session closed")
            await stop_bounded(consumer, 5)
            await stop_bounded(producer, 5)

    async def _process(
        self, producer: AIOKafkaProducer, batch: dict[TopicPartition, list[ConsumerRecord]]
    ) -> None:
        started = time.perf_counter()
        now = self._now()
        routed = [self._route(record, now) for records in batch.values() for record in records]
        offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
        reopened = self.watermarks.reopened(batch)
        self.watermarks.observe(batch, routed)
        marks = self.watermarks.due()
        async with producer.transaction():
            sends = await self.watermarks.send(producer, reopened)  # before what they hold
            sends += [await producer.send(r.topic, r.value, key=r.key) for r in routed]
            sends += await self.watermarks.send(producer, marks)  # after the signals they cover
            await producer.send_offsets_to_transaction(offsets, self._settings.group_id)
        await asyncio.gather(*sends)
        self.health.progressed(offsets)
        self._count(batch, routed, time.perf_counter() - started)

    def _route(self, record: ConsumerRecord, now: datetime) -> Routed:
        message = Origin(
            record.topic, record.partition, record.offset, record.key, record.value, record.headers
        )
        return route_message(
            message,
            self._sources,
            signals_topic=self._settings.topics.signals,
            dlq_topic=self._settings.topics.dlq,
            now=now,
            limits=self._limits,
        )

    def _count(
        self, batch: dict[TopicPartition, list[ConsumerRecord]], routed: list[Routed], took: float
    ) -> None:
        m = self._metrics
        for tp, records in batch.items():
            m.consumed.labels(tp.topic).inc(len(records))
        for r in routed:
            if r.reason_code is None:
                m.produced.labels(r.topic, "signal").inc()
            else:
                m.produced.labels(r.topic, "dead_letter").inc()
                m.dead_lettered.labels(r.reason_code).inc()
        m.batch_size.observe(len(routed))
        m.batch_seconds.observe(took)
