"""The transactional outbox: rows written with the state, relayed to Kafka after commit.

One relay at a time per outbox (a PostgreSQL advisory lock), reading in ``id``
order, so an account's messages reach Kafka in the order they were written.
A crash between the Kafka acknowledgement and the delete re-sends a batch:
delivery is at-least-once and consumers dedupe on ``event_id``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.database.engine import transaction, unnest
from shared.kafka.clients import Brokers, make_producer, send_all, stop_bounded
from shared.logging import get_logger
from shared.retry import Backoff, retry_until_stopped, wait_any

log = get_logger(__name__)

OutboxRow = tuple[str, str, bytes]  # account_id, topic, payload


async def add_to_outbox(session: AsyncSession, rows: Sequence[OutboxRow]) -> None:
    """Queue messages in the caller's transaction."""
    if not rows:
        return
    table, params = unnest(
        a=("text", [r[0] for r in rows]),
        t=("text", [r[1] for r in rows]),
        p=("bytea", [r[2] for r in rows]),
    )
    await session.execute(
        text(f"INSERT INTO outbox (account_id, topic, payload) SELECT * FROM {table}"), params
    )


async def outbox_backlog(session: AsyncSession, topics: Sequence[str]) -> int:
    count = await session.scalar(
        text("SELECT count(*) FROM outbox WHERE topic = ANY(CAST(:t AS text[]))"),
        {"t": list(topics)},
    )
    return int(count or 0)


class OutboxRelay:
    """Moves outbox rows of ``topics`` to Kafka; wake it with :meth:`wake`."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bootstrap: Brokers,
        topics: Sequence[str],
        *,
        lock_key: int,
        batch_size: int = 1000,
        poll_interval_s: float = 0.5,
        on_relayed: Callable[[int], None] = lambda _n: None,
    ) -> None:
        self._sessions = sessions
        self._bootstrap = bootstrap
        self._topics = list(topics)
        self._lock_key = lock_key
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._on_relayed = on_relayed
        self._wake = asyncio.Event()

    def wake(self, _count: int = 0) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        await retry_until_stopped(stop, self._session, _relay_failed)

    async def _session(self, stop: asyncio.Event, backoff: Backoff) -> None:
        producer = make_producer(self._bootstrap, client_id="vigil-outbox")
        try:
            await producer.start()
            await self._relay_until_stopped(producer, stop, backoff)
        finally:
            await stop_bounded(producer, 5)

    async def _relay_until_stopped(
        self, producer: AIOKafkaProducer, stop: asyncio.Event, backoff: Backoff
    ) -> None:
        while True:
            self._wake.clear()  # before relaying: a wake during the relay is not lost
            moved = await self.relay_once(producer)
            backoff.reset()
            if moved >= self._batch_size:
                continue
            if stop.is_set():
                return  # drained what was committed before the stop
            await wait_any(self._wake, stop, self._poll_interval_s)

    async def relay_once(self, producer: AIOKafkaProducer) -> int:
        """Send one batch in id order and delete it; 0 when empty or another relay leads."""
        async with transaction(self._sessions) as session:
            leader = await session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": self._lock_key}
            )
            if not leader:
                return 0
            rows = (
                await session.execute(
                    text(
                        "SELECT id, account_id, topic, payload FROM outbox"
                        " WHERE topic = ANY(CAST(:t AS text[])) ORDER BY id LIMIT :n"
                    ),
                    {"t": self._topics, "n": self._batch_size},
                )
            ).all()
            if not rows:
                return 0
            await send_all(
                producer,
                ((r.topic, r.account_id.encode(), bytes(r.payload)) for r in rows),
            )
            await session.execute(
                text("DELETE FROM outbox WHERE id = ANY(CAST(:ids AS bigint[]))"),
                {"ids": [r.id for r in rows]},
            )
        self._on_relayed(len(rows))
        return len(rows)


def _relay_failed(error: BaseException, delay: float) -> None:
    log.warning("outbox relay failed; retrying", error=repr(error), delay_s=delay)
