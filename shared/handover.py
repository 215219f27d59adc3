"""Partition hand-over for a consume-transform-produce loop whose offsets commit with a
Kafka transaction.

aiokafka commits transactional offsets without the consumer group's generation
(no KIP-447), so the broker cannot fence an instance that lost a partition in a
rebalance: if it commits the batch it had in hand after the new owner read the
committed offset, both produce that batch. Two rules close the gap:

- revocation waits for the batch in flight (the rebalance listener takes the
  lock the batch holds), so the new owner starts after that commit;
- a batch fetched before a revocation is dropped, not committed: every new
  assignment starts at the committed offsets, so its records are read again
  by whoever owns them now.

aiokafka stops handing out records when a rebalance begins, before it calls
the listener, so a batch fetched after the revocation belongs to the new
assignment.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka import TopicPartition


class Handover:
    """Ordering between the batch in flight and partition revocations."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._revocations = 0

    def token(self) -> int:
        """Taken before each fetch; :meth:`batch` tells whether it is still current."""
        return self._revocations

    async def on_revoked(self, _revoked: set[TopicPartition]) -> None:
        """The rebalance listener's half: wait for the batch in flight, then invalidate."""
        async with self._lock:
            self._revocations += 1

    @asynccontextmanager
    async def batch(self, token: int) -> AsyncIterator[bool]:
        """Hold off revocations while the batch is processed; yields False if a
        revocation happened since ``token`` was taken (drop the batch)."""
        async with self._lock:
            yield token == self._revocations
