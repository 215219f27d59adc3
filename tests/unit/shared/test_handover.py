"""A partition hand-over waits for the batch in flight; a batch older than a hand-over is
dropped (its records are read again by the new owner)."""

from __future__ import annotations

import asyncio

from aiokafka import TopicPartition

from shared.handover import Handover

TP = {TopicPartition("usage.events", 0)}


async def test_revocation_waits_until_the_batch_in_flight_is_committed() -> None:
    handover = Handover()
    events: list[str] = []
    async with handover.batch(handover.token()) as current:
        assert current
        revoking = asyncio.create_task(handover.on_revoked(TP))
        await asyncio.sleep(0)  # the rebalance listener runs now, and must wait
        assert not revoking.done()
        events.append("committed")
    await revoking
    events.append("revoked")
    assert events == ["committed", "revoked"]


async def test_a_batch_fetched_before_a_revocation_is_not_current() -> None:
    handover = Handover()
    before = handover.token()
    await handover.on_revoked(TP)
    async with handover.batch(before) as current:
        assert not current
    async with handover.batch(handover.token()) as current:
        assert current
