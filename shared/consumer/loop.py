"""A Kafka consumer loop whose offsets live in PostgreSQL (exactly-once effect).

On assignment the consumer seeks to the offsets stored in PostgreSQL (to the
beginning where none is stored; Kafka's committed offsets are a mirror). For
each ``getmany`` batch, in one database transaction: lock the stored offsets
of the batch's partitions, drop records already applied (two instances can
hold a partition for a moment during a rebalance), hand the rest to the
handler, store the new offsets, commit. Offsets may jump (transaction markers
of a transactional producer take offsets too). Only then are side effects
signalled (outbox relay) and the offsets mirrored to Kafka for lag tooling.
Broker or database failures
drop the clients and start a fresh session after a bounded backoff.

The next batch is fetched, and handed to ``prepare`` (a handler's pure work
done ahead, such as decoding), while the current one's transaction runs: the
loop used to leave the CPU idle for every statement's round trip. Batches
still commit one at a time, in order; the next one's transaction starts after
the current one's commit, and takes what arrived meanwhile too.

A record that fails for good (``shared.consumer.failures.classify``) is isolated by
splitting the batch under savepoints (``shared.consumer._poison_bisect``) and dead-lettered
through the outbox in the same transaction; the rest is applied exactly once.
Lag is measured apart from this loop (``shared.consumer.lag_monitor``), so it stays true
while the loop fails.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock.periodic import Now, utc_now
from shared.consumer._poison_bisect import apply_isolating
from shared.consumer.dead_letter import (
    Origin,
    Stage,
    dead_letter_bytes,
    dead_letter_record,
    key_text,
)
from shared.consumer.failures import FailureKind, classify, describe, reason_code
from shared.consumer.health import ConsumerHealth
from shared.consumer.offsets import advance_offsets, load_offsets, lock_offsets, store_offsets
from shared.consumer.outbox import add_to_outbox
from shared.database.engine import transaction
from shared.dlq.attempts import attempt_of
from shared.errors import DatabaseUnavailable
from shared.kafka.clients import Brokers, catch_up, fetch_fresh, make_consumer, stop_bounded
from shared.logging import get_logger
from shared.retry import Backoff, retry_until_stopped

log = get_logger(__name__)

Records = Sequence[ConsumerRecord]
BatchHandler = Callable[[AsyncSession, Records], Awaitable[None]]
# work on a batch's records that needs no transaction, done while the previous
# batch's runs; must not raise (the handler does the work again if it did not)
Prepare = Callable[[Records], Awaitable[None]]
Batch = dict[TopicPartition, list[ConsumerRecord]]


@dataclass(frozen=True)
class LoopOptions:
    bootstrap: Brokers
    group_id: str
    topics: Sequence[str]
    client_id: str
    batch_max_records: int = 5000
    fetch_timeout_ms: int = 200
    # after taking the buffered records, wait this long for the broker's newer ones
    # (shared.kafka.clients.fetch_fresh): at most this much latency added to a batch
    top_up_ms: int = 20
    stuck_after_s: float = 60.0
    # where records that fail for good go (through the outbox); None: retry them forever
    dead_letter_topic: str | None = None
    stage: Stage = "scoring"


class DbOffsetsConsumer:
    """Runs ``handle`` on batches until ``stop`` is set; offsets stored with the state."""

    def __init__(
        self,
        options: LoopOptions,
        sessions: async_sessionmaker[AsyncSession],
        handle: BatchHandler,
        *,
        on_committed: Callable[[int], None] = lambda _n: None,
        on_lag: Callable[[dict[TopicPartition, int]], None] = lambda _lags: None,
        on_failure: Callable[[FailureKind], None] = lambda _kind: None,
        on_dead_letter: Callable[[str], None] = lambda _code: None,
        on_batch_seconds: Callable[[float], None] = lambda _s: None,
        prepare: Prepare | None = None,
        now: Now = utc_now,
    ) -> None:
        self._options = options
        self._now = now  # a dead letter's received_at
        self._prepare = prepare
        self._sessions = sessions
        self._handle = handle
        self._on_committed = on_committed
        self._on_lag = on_lag
        self._on_failure = on_failure
        self._on_dead_letter = on_dead_letter
        self._on_batch_seconds = on_batch_seconds
        self.health = ConsumerHealth()
        self._known: dict[TopicPartition, int] = {}
        self._offsets_unknown = False

    @property
    def topics(self) -> list[str]:
        return list(self._options.topics)

    async def run(self, stop: asyncio.Event) -> None:
        await retry_until_stopped(stop, self._session, self._failed)

    def _failed(self, error: BaseException, delay: float) -> None:
        kind = classify(error)
        self._on_failure(kind)
        self.health.mark_down(f"{kind}: {describe(error, 300)}")
        log.warning(
            "consumer session failed; retrying",
            group_id=self._options.group_id,
            kind=str(kind),
            error=describe(error),
            delay_s=round(delay, 2),
        )

    async def _session(self, stop: asyncio.Event, backoff: Backoff) -> None:
        o = self._options
        self._offsets_unknown = False  # this session's assignment seeks afresh
        consumer = make_consumer(o.bootstrap, group_id=o.group_id, client_id=o.client_id)
        applying: asyncio.Future[dict[TopicPartition, int]] | None = None
        preparing: asyncio.Future[None] | None = None
        try:
            await consumer.start()
            consumer.subscribe(
                list(o.topics),
                listener=self.health.listener(on_assigned=lambda tps: self._seek(consumer, tps)),
            )
            self.health.mark_up()
            while not stop.is_set():
                if self._offsets_unknown:
                    raise DatabaseUnavailable("stored offsets unreadable at assignment; restarting")
                batch = await fetch_fresh(
                    consumer,
                    timeout_ms=o.fetch_timeout_ms,
                    max_records=o.batch_max_records,
                    top_up_ms=o.top_up_ms,
                )
                preparing = self._start_preparing(batch)
                waited = applying is not None
                if applying is not None:
                    await self._committed(consumer, applying)
                    applying = None
                    backoff.reset()
                if batch:
                    if waited:  # what arrived while the previous batch applied joins this one
                        await catch_up(
                            consumer, batch, top_up_ms=o.top_up_ms, max_records=o.batch_max_records
                        )
                    applying = asyncio.ensure_future(self._apply(batch, preparing))
                else:
                    await self._advance_when_idle(consumer)
                self._on_lag(await self.health.polled(consumer))
                if self.health.stuck(o.stuck_after_s):
                    raise RuntimeError("consumer made no progress while lagging; restarting it")
            if applying is not None:  # a graceful stop lets the batch in flight commit
                await self._committed(consumer, applying)
                applying = None
        finally:
            await _settle(applying, preparing)
            self.health.mark_down("session closed")
            await stop_bounded(consumer, 5)

    def _start_preparing(self, batch: Batch) -> asyncio.Future[None] | None:
        if self._prepare is None or not batch:
            return None
        return asyncio.ensure_future(self._prepare([r for rs in batch.values() for r in rs]))

    async def _committed(
        self, consumer: AIOKafkaConsumer, applying: asyncio.Future[dict[TopicPartition, int]]
    ) -> None:
        """Wait for the batch in flight; mirror its offsets to Kafka (after the commit, and
        not while a fetch is out: the loop is the consumer's only user)."""
        ends = await applying
        try:
            await consumer.commit(ends)  # a mirror for lag tooling; PostgreSQL is the truth
        except KafkaError as error:
            log.info("kafka offset mirror failed", error=repr(error))

    async def _seek(self, consumer: AIOKafkaConsumer, assigned: set[TopicPartition]) -> None:
        """Start newly assigned partitions at the offsets stored with the state, and a
        partition with none stored at its beginning: nothing of it is applied.

        Kafka's committed offsets are only a mirror and never a starting point: a
        database that lost its last commits (a crash with ``synchronous_commit=off``,
        a failover to a replica behind, a restore) is behind the mirror, and a
        partition whose every commit was lost started from the mirror and skipped
        what the lost commits had applied (PostgreSQL stopped mid-stream, 1 run in 7).
        If the database cannot be read now, nothing is consumed: the session
        restarts (with backoff) and seeks again once it can be read.
        """
        try:
            async with self._sessions() as session:
                stored = await load_offsets(session, self._options.group_id)
        except Exception as error:  # noqa: BLE001 - any failure: do not consume blind
            log.warning("could not load stored offsets; restarting the session", error=repr(error))
            self._offsets_unknown = True
            return
        self._offsets_unknown = False
        for tp in assigned:
            if tp in stored:
                consumer.seek(tp, stored[tp])
        unapplied = [tp for tp in assigned if tp not in stored]
        if unapplied:
            await consumer.seek_to_beginning(*unapplied)

    async def _advance_when_idle(self, consumer: AIOKafkaConsumer) -> None:
        """After an empty poll every record before the position is applied; store it.

        The position can be past the last record: transaction markers take
        offsets. Storing it keeps the stored offsets (and so the lag) exact.
        """
        positions = {tp: await consumer.position(tp) for tp in consumer.assignment()}
        moved = {tp: p for tp, p in positions.items() if self._known.get(tp) != p}
        if not moved:
            return
        async with transaction(self._sessions) as session:
            await advance_offsets(session, self._options.group_id, moved)
        self._known.update(moved)

    async def _apply(
        self, batch: Batch, preparing: asyncio.Future[None] | None
    ) -> dict[TopicPartition, int]:
        """One batch in one transaction; the offsets it stored."""
        if preparing is not None:
            await asyncio.gather(preparing, return_exceptions=True)  # the handler redoes a failure
        starts = {tp: records[0].offset for tp, records in batch.items()}
        ends = {tp: records[-1].offset + 1 for tp, records in batch.items()}
        started = time.perf_counter()
        async with transaction(self._sessions) as session:
            stored = await lock_offsets(session, self._options.group_id, starts)
            fresh = [r for tp, records in batch.items() for r in records if r.offset >= stored[tp]]
            if fresh and self._options.dead_letter_topic is None:
                await self._handle(session, fresh)
            elif fresh:
                await apply_isolating(session, fresh, self._handle, self._dead_letter)
            await store_offsets(
                session, self._options.group_id, {tp: max(ends[tp], stored[tp]) for tp in ends}
            )
        self._on_batch_seconds(time.perf_counter() - started)
        self.health.progressed()
        self._known.update(ends)
        self._on_committed(len(fresh))
        return ends

    async def _dead_letter(
        self, session: AsyncSession, record: ConsumerRecord, error: BaseException
    ) -> None:
        """Queue a bounded dead letter for ``record`` in the batch's transaction."""
        topic = self._options.dead_letter_topic
        assert topic is not None  # only called when dead-lettering is configured
        code = reason_code(error)
        origin = Origin(record.topic, record.partition, record.offset, record.key, record.value)
        dead = dead_letter_record(
            origin,
            stage=self._options.stage,
            code=code,
            message=describe(error),
            received_at=self._now(),
            attempt=attempt_of(record.headers),
        )
        await add_to_outbox(session, [(key_text(record.key), topic, dead_letter_bytes(dead))])
        log.warning(
            "record dead-lettered",
            stage=self._options.stage,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=code,
            error=describe(error, 300),
        )
        self._on_failure(FailureKind.permanent)
        self._on_dead_letter(code)


async def _settle(*tasks: asyncio.Future[Any] | None) -> None:
    """Let what a failed or stopped session left running end: a transaction in flight
    commits or rolls back by itself (cancelling it mid-statement would leave its
    connection to the pool's cleanup); its outcome was already reported, or is moot."""
    running = [task for task in tasks if task is not None]
    await asyncio.gather(*running, return_exceptions=True)
