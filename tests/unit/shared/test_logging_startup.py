"""A fresh broker's "coordinator not available" is start-up noise, said at INFO, only
while the process starts."""

from __future__ import annotations

import logging

from aiokafka.errors import GroupCoordinatorNotAvailableError

from shared.logging import StartupNoise


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(
        "aiokafka.consumer.group_coordinator", logging.ERROR, __file__, 1, message, args, None
    )


def test_a_coordinator_not_yet_available_is_info_while_starting() -> None:
    now = [100.0]
    noise = StartupNoise(60.0, clock=lambda: now[0])
    record = _record("Group Coordinator Request failed: %s", GroupCoordinatorNotAvailableError())
    assert noise.filter(record)
    assert (record.levelno, record.levelname) == (logging.INFO, "INFO")


def test_after_the_start_it_is_an_error_again_and_other_errors_always_are() -> None:
    now = [100.0]
    noise = StartupNoise(60.0, clock=lambda: now[0])
    other = _record("Heartbeat failed: %r", RuntimeError("boom"))
    assert noise.filter(other) and other.levelno == logging.ERROR
    now[0] = 161.0
    late = _record("Group Coordinator Request failed: %s", GroupCoordinatorNotAvailableError())
    assert noise.filter(late) and late.levelno == logging.ERROR
