"""Partition hand-over for a consume-transform-produce loop whose offsets commit with a
Kafka transaction.

aiokafka commits transactional offsets without the consumer group's generation
(no KIP-447), so the broker cannot fence an instance that lost a partition in a
rebalance: if it commits the batch it had in hand after the new owner read the
committed offset, both produce that batch. Two rules close the gap:

- revocation waits for the batch in flight (the rebalance listener takes the
  lock the batch holds), so the new owner starts after that commit;
- a batch fetched across a revocation is dropped, not committed, and the
  partitions of it still assigned are rewound to its first record: if it came
  from the old assignment, its records are read again by whoever owns them
  now (a new assignment starts at the committed offsets); if one ``getmany``
  spanned the whole rebalance, it came from the new assignment, which
  started at that very offset.

aiokafka stops handing out records when a rebalance begins, before it calls
the listener, so nothing fetched after the revocation belongs to the old
assignment.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition


class Handover:
    """Ordering between the batch in flight and partition revocations."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._revocations = 0

    def token(self) -> int:
        """Taken before each fetch; :meth:`batch` tells whether it is still current."""
        return self._revocations

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        """The rebalance listener's half: wait for the batch in flight, then invalidate."""
        if not revoked:  # a first join revokes nothing, and invalidates nothing
            return
        async with self._lock:
            self._revocations += 1

    @asynccontextmanager
    async def batch(self, token: int) -> AsyncIterator[bool]:
        """Hold off revocations while the batch is processed; yields False if a
        revocation happened since ``token`` was taken (drop the batch and :func:`rewind`)."""
        async with self._lock:
            yield token == self._revocations


def rewind(
    consumer: AIOKafkaConsumer, batch: Mapping[TopicPartition, list[ConsumerRecord]]
) -> None:
    """Read a dropped batch's partitions again from its first record, where still assigned."""
    assigned = consumer.assignment()
    for tp, records in batch.items():
        if tp in assigned and records:
            consumer.seek(tp, records[0].offset)
