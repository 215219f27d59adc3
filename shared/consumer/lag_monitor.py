"""Consumer lag measured apart from the consumer loop, so it stays true while the loop fails.

A loop that retries a failing batch has already fetched past it: its
consumer's position says "no lag" while nothing is applied. This monitor
instead compares the broker's end offsets with the *stored* position (the
offsets in PostgreSQL for database consumers, the group's committed offsets
for ingest) every few seconds, with its own clients. Every partition of the
topics is reported (the group's lag, whoever holds the partition); with
several instances, aggregate with ``max``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError

from shared.consumer.health import ConsumerHealth
from shared.kafka.clients import make_consumer, stop_bounded
from shared.kafka.connect import Brokers, client_options
from shared.logging import get_logger
from shared.metrics import ConsumerMetricSet
from shared.retry import Backoff, retry_until_stopped, wait_or_stop

log = get_logger(__name__)

StoredPositions = Callable[[], Awaitable[dict[TopicPartition, int]]]
LagSink = Callable[[dict[TopicPartition, int]], None]


class LagMonitor:
    """Reports ``end offset - stored position`` for every partition of ``topics``."""

    def __init__(
        self,
        bootstrap: Brokers,
        topics: Sequence[str],
        stored: StoredPositions,
        on_lag: LagSink,
        *,
        interval_s: float = 5.0,
    ) -> None:
        self._bootstrap = bootstrap
        self._topics = list(topics)
        self._stored = stored
        self._on_lag = on_lag
        self._interval_s = interval_s
        self.last: dict[TopicPartition, int] = {}
        self._partitions_cache: list[TopicPartition] = []
        self._measures = 0

    async def run(self, stop: asyncio.Event) -> None:
        await retry_until_stopped(
            stop, self._session, _measure_failed, Backoff(initial_s=1.0, max_s=30.0)
        )

    async def _session(self, stop: asyncio.Event, backoff: Backoff) -> None:
        consumer = make_consumer(self._bootstrap, group_id=None, client_id="vigil-lag")
        try:
            await consumer.start()
            while not stop.is_set():
                self.last = await self.measure(consumer)
                self._on_lag(dict(self.last))
                backoff.reset()
                await wait_or_stop(stop, self._interval_s)
        finally:
            await stop_bounded(consumer, 5)

    async def measure(self, consumer: AIOKafkaConsumer) -> dict[TopicPartition, int]:
        if not self._partitions_cache or self._measures % 12 == 0:  # new partitions, ~1/min
            self._partitions_cache = await self._partitions()
        self._measures += 1
        partitions = self._partitions_cache
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        starts: dict[TopicPartition, int] = await consumer.beginning_offsets(partitions)
        stored = await self._stored()
        # a partition with no stored position is read from its beginning
        return {
            tp: max(0, ends[tp] - max(stored.get(tp, starts[tp]), starts[tp])) for tp in partitions
        }

    async def _partitions(self) -> list[TopicPartition]:
        admin = AIOKafkaAdminClient(**client_options(self._bootstrap), client_id="vigil-lag")
        await admin.start()
        try:
            described = await admin.describe_topics(self._topics)
        finally:
            await admin.close()
        return [
            TopicPartition(topic["topic"], part["partition"])
            for topic in described
            if topic["error_code"] == 0
            for part in topic["partitions"]
        ]


def lag_reporter(metrics: ConsumerMetricSet, health: ConsumerHealth) -> LagSink:
    """The monitor's callback: per-partition lag gauge, stored lag and stall time."""

    def report(lags: dict[TopicPartition, int]) -> None:
        metrics.record_lag(lags)
        health.stored_lag_is(sum(lags.values()))
        metrics.stalled_seconds.set(health.stalled_s())

    return report


async def kafka_committed(bootstrap: Brokers, group_id: str) -> dict[TopicPartition, int]:
    """The group's committed offsets on the broker (the stored position of ingest)."""
    admin = AIOKafkaAdminClient(**client_options(bootstrap), client_id="vigil-lag")
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group_id)
    except GroupCoordinatorNotAvailableError:
        return {}  # the group has not committed yet: it reads from the beginning
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


def _measure_failed(error: BaseException, _delay: float) -> None:
    log.info("lag measurement failed; retrying", error=repr(error))
