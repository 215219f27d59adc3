"""fetch_fresh and Pacer: the buffered records, topped up with a second, short poll."""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition

from shared.kafka.clients import Pacer, catch_up, fetch_fresh

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


class FakeTime:
    """A clock that moves when slept on, or when a test sets ``now``."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


async def test_a_batch_early_after_the_last_waits_out_the_interval_and_takes_what_came() -> None:
    time = FakeTime()
    pacer = Pacer(0.05, clock=time.clock, sleep=time.sleep)
    polls = Polls({A: [1]}, {A: [2]}, {A: [3], B: [7]})
    assert await pacer.fetch(polls, timeout_ms=200, max_records=10) == {A: [1]}
    time.now += 0.01  # the first batch took 10 ms to apply
    assert await pacer.fetch(polls, timeout_ms=200, max_records=10) == {A: [2, 3], B: [7]}
    assert time.slept == [0.04]  # the first batch never waits; the second the rest of 50 ms
    assert polls.calls == [(200, 10), (200, 10), (0, 9)]  # the top-up asks for the room left


async def test_no_wait_when_late_or_the_poll_was_empty_or_full_or_pacing_is_off() -> None:
    time = FakeTime()
    late = Pacer(0.05, clock=time.clock, sleep=time.sleep)
    polls = Polls({A: [1]}, {A: [2]})
    await late.fetch(polls, timeout_ms=200, max_records=10)
    time.now += 0.06
    assert await late.fetch(polls, timeout_ms=200, max_records=10) == {A: [2]}
    empty = Pacer(0.05, clock=time.clock, sleep=time.sleep)
    await empty.fetch(Polls({A: [1]}), timeout_ms=200, max_records=10)
    assert await empty.fetch(Polls({}), timeout_ms=200, max_records=10) == {}
    full = Pacer(0.05, clock=time.clock, sleep=time.sleep)
    await full.fetch(Polls({A: [1]}), timeout_ms=200, max_records=2)
    assert await full.fetch(Polls({A: [2, 3]}), timeout_ms=200, max_records=2) == {A: [2, 3]}
    off = Pacer(0.0, clock=time.clock, sleep=time.sleep)
    await off.fetch(Polls({A: [1]}), timeout_ms=200, max_records=10)
    assert await off.fetch(Polls({A: [2]}), timeout_ms=200, max_records=10) == {A: [2]}
    assert time.slept == []


async def test_catch_up_tops_up_a_small_batch_and_leaves_a_backlogs_alone() -> None:
    small = Polls({A: [4]}, {B: [8]})
    batch: dict[TopicPartition, Any] = {A: [1, 2, 3]}
    await catch_up(small, batch, top_up_ms=20, max_records=10)
    assert batch == {A: [1, 2, 3, 4], B: [8]}
    assert small.calls == [(0, 7), (20, 6)]  # the buffer first, then the broker's answer
    backlog = Polls({A: [6]})
    half_full: dict[TopicPartition, Any] = {A: [1, 2, 3], B: [7, 8]}
    await catch_up(backlog, half_full, top_up_ms=20, max_records=10)
    assert half_full == {A: [1, 2, 3], B: [7, 8]}  # the batch prepared is the batch applied
    assert backlog.calls == []
