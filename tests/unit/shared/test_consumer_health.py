"""Stuck-consumer detection, with a fake clock."""

from __future__ import annotations

from aiokafka import TopicPartition

from shared.consumer.health import ConsumerHealth


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


def test_stall_counts_from_the_stored_lag_and_survives_session_restarts() -> None:
    clock = FakeClock()
    health = ConsumerHealth(monotonic=clock)
    health.mark_up()
    health.assigned = {TopicPartition("signals", 0)}
    health.stored_lag_is(0)
    clock.now = 100
    assert health.stalled_s() == 0 and health.not_ready_because(60) == {}
    health.stored_lag_is(50)  # lag appears: the stall clock starts now, not at the last commit
    clock.now = 130
    health.mark_down("session closed")
    health.mark_down("permanent: DataError: value out of int32 range")
    health.mark_up()  # a retry: the stall goes on
    clock.now = 170
    assert health.stalled_s() == 70
    reasons = health.not_ready_because(60)
    assert reasons == {
        "partitions": "no partition assigned (rebalance in progress?)",
        "progress": "no batch committed for 70 s with 50 messages of lag;"
        " last failure: permanent: DataError: value out of int32 range",
    }
    health.progressed()
    assert health.stalled_s() == 0 and "progress" not in health.not_ready_because(60)
