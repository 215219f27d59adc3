"""Stuck-consumer detection, with a fake clock."""

from __future__ import annotations

from aiokafka import TopicPartition

from shared.consumer_health import ConsumerHealth


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lagging_without_progress_is_stuck_after_the_limit() -> None:
    clock = FakeClock()
    health = ConsumerHealth(monotonic=clock)
    health.mark_up()
    health._lag = {TopicPartition("signals", 0): 10}
    clock.now = 59
    assert not health.stuck(60)
    clock.now = 61
    assert health.stuck(60)
    health.progressed()
    assert not health.stuck(60)


def test_no_lag_is_never_stuck() -> None:
    clock = FakeClock()
    health = ConsumerHealth(monotonic=clock)
    health.mark_up()
    clock.now = 1000
    assert not health.stuck(60)
    assert not health.ready  # connected but no partitions yet
