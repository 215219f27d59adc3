"""Kafka side of ingest's watermarks: positions in, watermark records out.

Records go out inside the caller's Kafka transaction (after the batch's
signals, so on each ``signals`` partition a watermark never overtakes the
signals it covers), or in a small transaction of their own when ingest is idle.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from services.ingest.domain.routing import Routed
from services.ingest.domain.watermarks import WatermarkTracker
from services.ingest.metrics import IngestMetrics
from shared.contracts.watermarks import (
    KIND_HEADER,
    WATERMARK_KIND,
    WatermarkRecord,
    watermark_to_json,
)

HEADERS = [(KIND_HEADER, WATERMARK_KIND)]


class WatermarkEmitter:
    def __init__(
        self,
        sources: Mapping[str, str],
        signals_topic: str,
        metrics: IngestMetrics,
        clock: Callable[[], datetime],
        *,
        lateness_s: float,
        interval_ms: int,
        idle_s: float = 0.0,
        expected: Iterable[str] = (),
    ) -> None:
        self._sources = dict(sources)
        self._signals_topic = signals_topic
        self._metrics = metrics
        self._clock = clock
        self._lateness = timedelta(seconds=lateness_s)
        self._interval_s = interval_ms / 1000
        self._idle_s = idle_s
        self._signals_partitions = 0
        self._expected = {t for t, source in self._sources.items() if source in set(expected)}
        self._produced_to: set[str] = set()  # expected topics known to hold events
        self.tracker = self._new_tracker()

    def _new_tracker(self) -> WatermarkTracker:
        return WatermarkTracker(
            self._sources,
            lateness=self._lateness,
            interval_s=self._interval_s,
            idle_s=self._idle_s,
            monotonic=time.monotonic(),
        )

    async def start_session(self, producer: AIOKafkaProducer) -> None:
        """Forget what an aborted session read: it is read (and reported) again."""
        self.tracker = self._new_tracker()
        partitions = await producer.partitions_for(self._signals_topic)
        self._signals_partitions = len(partitions)

    def reopened(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> list[WatermarkRecord]:
        """Records for partitions reported idle that ``batch`` reads again: sent before
        its signals (``WatermarkTracker.reopened``); call before :meth:`observe`."""
        marks = self.tracker.reopened(((tp.topic, tp.partition) for tp in batch), time.monotonic())
        if not marks or self._signals_partitions == 0:
            return []
        return self.tracker.records(marks, self._signals_partitions, self._clock())

    def observe(
        self, batch: dict[TopicPartition, list[ConsumerRecord]], routed: list[Routed]
    ) -> None:
        records = (r for records in batch.values() for r in records)
        tick = time.monotonic()
        for record, result in zip(records, routed, strict=True):
            if result.occurred_at is not None:
                self.tracker.observe(record.topic, record.partition, result.occurred_at, tick)

    async def refresh(self, consumer: AIOKafkaConsumer) -> None:
        """Read the assignment and whether each partition is read to its end."""
        lags: dict[tuple[str, int], int] = {}
        for tp in consumer.assignment():
            end = consumer.last_stable_offset(tp) or consumer.highwater(tp)
            position = await consumer.position(tp)
            lags[(tp.topic, tp.partition)] = 1 if end is None else max(0, end - position)
        counts = {t: len(consumer.partitions_for_topic(t) or ()) for t in self._sources}
        empty = await self._empty_topics(consumer, counts)
        self.tracker.positions(lags, counts, empty, time.monotonic())
        for source, lag in self.tracker.lag_seconds(self._clock()).items():
            self._metrics.watermark_lag.labels(source).set(max(0.0, lag))

    def due(self) -> list[WatermarkRecord]:
        """The records to send now (each due partition once per ``signals`` partition)."""
        now = self._clock()
        marks = self.tracker.due(now, time.monotonic())
        if not marks or self._signals_partitions == 0:
            return []
        return self.tracker.records(marks, self._signals_partitions, now)

    async def _empty_topics(
        self, consumer: AIOKafkaConsumer, counts: Mapping[str, int]
    ) -> set[str]:
        """Expected sources' topics nothing was produced to yet (all partitions, not
        just ours: another instance may own the ones with events)."""
        for topic in self._expected - self._produced_to:
            tps = [TopicPartition(topic, p) for p in range(counts.get(topic, 0))]
            ends = await consumer.end_offsets(tps) if tps else {}
            if any(offset > 0 for offset in ends.values()):
                self._produced_to.add(topic)
        return self._expected - self._produced_to

    async def send(
        self, producer: AIOKafkaProducer, records: list[WatermarkRecord]
    ) -> list[asyncio.Future[object]]:
        """Enqueue ``records`` in the open transaction; returns their futures."""
        return [
            await producer.send(
                self._signals_topic,
                watermark_to_json(record),
                partition=record.signals_partition,
                headers=HEADERS,
            )
            for record in records
        ]

    async def send_idle(self, producer: AIOKafkaProducer) -> None:
        """With no batch to ride on: a transaction of watermark records only, when due."""
        records = self.due()
        if not records:
            return
        async with producer.transaction():
            sends = await self.send(producer, records)
        await asyncio.gather(*sends)
