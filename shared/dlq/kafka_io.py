"""Reading a dead-letter topic and sending originals back. Thin Kafka I/O.

Nothing here reads a whole topic into memory. A dead letter named by its id is one
seek; a scan streams one partition after another in offset order, from a position
(a page's cursor) or from the first record the topic's time index puts at or after
a time, and holds one fetch at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.dlq.attempts import redrive_headers
from shared.dlq.records import DeadLetter, parse
from shared.kafka.clients import make_consumer, make_producer, stop_bounded
from shared.kafka.connect import Brokers

STALL_S = 60.0  # no record for this long while the partition has more: give up
METADATA_WAIT_S = 3.0
FETCH_RECORDS = 500
# A dead letter is written after its original was received, by the host that received
# it: its Kafka timestamp is not before ``received_at``. The margin absorbs a producer
# whose clock stepped back in between.
TIME_INDEX_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class Position:
    """Scan from after this dead letter (``partition/offset``, partition-major order)."""

    partition: int
    offset: int

    @classmethod
    def of(cls, dead_letter_id: str) -> Position:
        partition, offset = (int(part) for part in dead_letter_id.split("/", 1))
        return cls(partition, offset)


async def read_ids(bootstrap: Brokers, topic: str, ids: Iterable[str]) -> list[DeadLetter]:
    """The dead letters named (``partition/offset``), each read by one seek; an id the
    topic does not hold (no such partition, past its end, or gone by retention) is
    simply not in the answer."""
    wanted = sorted({Position.of(i) for i in ids}, key=lambda p: (p.partition, p.offset))
    async with _reader(bootstrap) as consumer:
        tps = [TopicPartition(topic, p) for p in sorted(await _partitions(consumer, topic))]
        if not tps:
            return []
        firsts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        found: list[DeadLetter] = []
        for position in wanted:
            tp = TopicPartition(topic, position.partition)
            if tp not in ends or not firsts[tp] <= position.offset < ends[tp]:
                continue
            consumer.assign([tp])
            consumer.seek(tp, position.offset)
            async for dead in _stream(consumer, tp, ends[tp], limit=1):
                if dead.offset == position.offset:
                    found.append(dead)
        return found


async def scan(
    bootstrap: Brokers,
    topic: str,
    *,
    since: datetime | None = None,
    after: Position | None = None,
) -> AsyncGenerator[DeadLetter, None]:
    """The topic's records in partition/offset order, up to each partition's end when
    the scan starts (what arrives later, such as a redrive's own failures, is for the
    next call): after ``after``, and none the time index puts before ``since`` (the
    caller still filters on ``received_at``)."""
    async with _reader(bootstrap) as consumer:
        partitions = sorted(await _partitions(consumer, topic))
        if after is not None:
            partitions = [p for p in partitions if p >= after.partition]
        tps = [TopicPartition(topic, p) for p in partitions]
        if not tps:
            return
        starts = await _starts(consumer, tps, since)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            start = starts[tp]
            if after is not None and tp.partition == after.partition:
                start = max(start, after.offset + 1)
            if start >= ends[tp]:
                continue
            consumer.assign([tp])
            consumer.seek(tp, start)
            async for dead in _stream(consumer, tp, ends[tp]):
                yield dead


async def _starts(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], since: datetime | None
) -> dict[TopicPartition, int]:
    """Where each partition's scan starts: its first record, or the first the time index
    puts at ``since`` (less the margin); a partition with none that late, its end."""
    starts: dict[TopicPartition, int] = await consumer.beginning_offsets(tps)
    if since is None:
        return starts
    at = max(int((since - TIME_INDEX_MARGIN).timestamp() * 1000), 0)
    found = await consumer.offsets_for_times(dict.fromkeys(tps, at))
    ends = await consumer.end_offsets(tps)
    return {tp: ends[tp] if found[tp] is None else max(starts[tp], found[tp].offset) for tp in tps}


async def _stream(
    consumer: AIOKafkaConsumer, tp: TopicPartition, end: int, limit: int | None = None
) -> AsyncGenerator[DeadLetter, None]:
    """From the consumer's position in ``tp`` up to ``end`` (or ``limit`` records)."""
    loop = asyncio.get_running_loop()
    given = 0
    last_progress = loop.time()
    while await consumer.position(tp) < end:
        batch = await consumer.getmany(tp, timeout_ms=500, max_records=FETCH_RECORDS)
        records = batch.get(tp, [])
        if not records:
            if loop.time() - last_progress > STALL_S:
                raise TimeoutError(f"{tp.topic}/{tp.partition}: no record for {STALL_S}s")
            continue
        last_progress = loop.time()
        for r in records:
            if r.offset >= end:
                return
            yield parse(r.partition, r.offset, r.key, r.value)
            given += 1
            if limit is not None and given >= limit:
                return


class _reader:
    """A consumer of no group, assigned partitions by hand, always stopped."""

    def __init__(self, bootstrap: Brokers) -> None:
        self._consumer = make_consumer(bootstrap, group_id=None, client_id="vigil-dlq-reader")

    async def __aenter__(self) -> AIOKafkaConsumer:
        await self._consumer.start()
        return self._consumer

    async def __aexit__(self, *_: object) -> None:
        await stop_bounded(self._consumer, 5)


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    """The topic's partitions; none when the broker does not know it (nothing was ever
    dead-lettered there, and the stage that creates it has not started)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + METADATA_WAIT_S
    while not (partitions := consumer.partitions_for_topic(topic)):
        if loop.time() > deadline:
            return set()
        await consumer._client.force_metadata_update()
    return set(partitions)


class Sender:
    """Sends dead letters' original bytes back to the topics they came from, each as
    its next attempt; one producer for a whole redrive."""

    def __init__(self, bootstrap: Brokers, redrive_id: str) -> None:
        self._producer: AIOKafkaProducer = make_producer(bootstrap, client_id="vigil-dlq-redrive")
        self._redrive_id = redrive_id

    async def __aenter__(self) -> Sender:
        await self._producer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await stop_bounded(self._producer, 10)

    async def send(self, dead: Sequence[DeadLetter]) -> None:
        """Returns once the broker has every one of them."""
        sends = []
        for d in dead:
            assert d.record is not None
            headers = redrive_headers(d.record.attempt + 1, self._redrive_id)
            sends.append(
                await self._producer.send(
                    d.record.source_topic, d.original_bytes(), key=d.key, headers=headers
                )
            )
        await asyncio.gather(*sends)
