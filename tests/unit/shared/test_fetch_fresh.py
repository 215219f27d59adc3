"""fetch_fresh: the buffered records, topped up with a second, short poll."""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition

from shared.kafka import fetch_fresh

A, B = TopicPartition("t", 0), TopicPartition("t", 1)


class Polls:
    """A consumer whose successive getmany calls return the given batches."""

    def __init__(self, *batches: dict[TopicPartition, list[int]]) -> None:
        self._batches = list(batches)
        self.calls: list[tuple[int, int]] = []

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[TopicPartition, Any]:
        self.calls.append((timeout_ms, max_records))
        batch = self._batches.pop(0) if self._batches else {}
        return {tp: records[:max_records] for tp, records in batch.items()}


async def test_the_second_poll_extends_the_first_in_offset_order() -> None:
    polls = Polls({A: [1, 2], B: [7]}, {A: [3], B: [8, 9]})
    batch = await fetch_fresh(polls, timeout_ms=200, max_records=10, top_up_ms=20)
    assert batch == {A: [1, 2, 3], B: [7, 8, 9]}
    assert polls.calls == [(200, 10), (20, 7)]  # the top-up asks for the room left only


async def test_no_top_up_after_an_empty_or_full_poll_or_when_off() -> None:
    empty = Polls({}, {A: [1]})
    assert await fetch_fresh(empty, timeout_ms=200, max_records=10, top_up_ms=20) == {}
    full = Polls({A: [1, 2]}, {A: [3]})
    assert await fetch_fresh(full, timeout_ms=200, max_records=2, top_up_ms=20) == {A: [1, 2]}
    off = Polls({A: [1]}, {A: [2]})
    assert await fetch_fresh(off, timeout_ms=200, max_records=9, top_up_ms=0) == {A: [1]}
    assert [len(p.calls) for p in (empty, full, off)] == [1, 1, 1]
