"""A partition hand-over waits for the batch in flight; a batch older than a hand-over is
dropped (its records are read again by the new owner)."""

from __future__ import annotations

import asyncio

from aiokafka import TopicPartition

from services.ingest.handover import Handover, rewind

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


async def test_a_first_join_revokes_nothing_and_invalidates_nothing() -> None:
    handover = Handover()
    before = handover.token()
    await handover.on_revoked(set())
    async with handover.batch(before) as current:
        assert current


class FakeConsumer:
    def __init__(self, assigned: set[TopicPartition]) -> None:
        self._assigned = assigned
        self.seeks: dict[TopicPartition, int] = {}

    def assignment(self) -> set[TopicPartition]:
        return set(self._assigned)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks[tp] = offset


def test_rewind_reads_a_dropped_batch_again_where_its_partitions_are_still_ours() -> None:
    kept, gone = TopicPartition("usage.events", 0), TopicPartition("usage.events", 1)
    consumer = FakeConsumer({kept})
    batch = {kept: [Record(40), Record(41)], gone: [Record(7)]}
    rewind(consumer, batch)
    assert consumer.seeks == {kept: 40}


class Record:
    def __init__(self, offset: int) -> None:
        self.offset = offset
