"""Row 6's split at the signal matches each change to the event that moved it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.latency_stages import split_at_signal

T = datetime(2026, 6, 1, 12, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


def test_each_change_is_split_at_its_own_events_signal() -> None:
    signals = [("a", at(1), at(1.1).timestamp()), ("b", at(1), at(1.3).timestamp())]
    changes = [("a", at(1), at(1.5).timestamp()), ("b", at(1), at(2.0).timestamp())]
    to_signal, to_change = split_at_signal(signals, changes, T, at(10))
    assert to_signal == pytest.approx([0.1, 0.3])
    assert to_change == pytest.approx([0.4, 0.7])


def test_changes_outside_the_window_or_without_a_signal_are_left_out() -> None:
    signals = [("a", at(-1), at(-0.9).timestamp()), ("a", at(11), at(11.1).timestamp())]
    changes = [
        ("a", at(-1), at(0.5).timestamp()),  # its event came before the window
        ("a", at(11), at(11.5).timestamp()),  # after it
        ("a", at(5), at(5.5).timestamp()),  # the clock's: no event at that time
    ]
    assert split_at_signal(signals, changes, T, at(10)) == ([], [])
