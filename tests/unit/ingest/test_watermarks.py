"""Ingest's per-partition watermark tracker (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.ingest.domain.watermarks import WatermarkTracker

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
SOURCES = {"usage.events": "usage", "ticket.events": "ticket"}
LATENESS = timedelta(minutes=1)


def tracker(idle_s: float = 0.0) -> WatermarkTracker:
    return WatermarkTracker(SOURCES, lateness=LATENESS, interval_s=1.0, idle_s=idle_s)


def test_behind_partition_holds_at_the_latest_event_read_and_nothing_read_holds_time() -> None:
    t = tracker()
    t.positions({("usage.events", 0): 500, ("ticket.events", 0): 10}, {"usage.events": 1})
    t.observe("usage.events", 0, NOW - timedelta(days=3))
    t.observe("usage.events", 0, NOW - timedelta(days=5))  # older: does not move it back
    assert t.watermark(("usage.events", 0), NOW) == NOW - timedelta(days=3)
    assert t.watermark(("ticket.events", 0), NOW) is None


def test_caught_up_partition_follows_the_wall_clock_less_the_lateness() -> None:
    t = tracker()
    t.positions({("ticket.events", 0): 0}, {"ticket.events": 4}, monotonic=1.0)
    assert t.watermark(("ticket.events", 0), NOW) == NOW - LATENESS
    t.observe("ticket.events", 0, NOW + timedelta(minutes=5))  # a producer clock ahead
    assert t.watermark(("ticket.events", 0), NOW) == NOW + timedelta(minutes=5)
    assert t.lag_seconds(NOW) == {"ticket": 0.0}


def test_due_reports_moves_while_behind_and_caught_up_only_once_per_interval() -> None:
    t = tracker()
    t.positions({("usage.events", 0): 5, ("ticket.events", 0): 0}, {"usage.events": 2})
    first = t.due(NOW, monotonic=100.0)
    assert {(m.topic, m.partitions, m.caught_up) for m in first} == {
        ("usage.events", 2, False),
        ("ticket.events", 1, True),
    }
    t.observe("usage.events", 0, NOW - timedelta(hours=1))
    later = NOW + timedelta(seconds=0.3)
    assert [m.topic for m in t.due(later, monotonic=100.3)] == ["usage.events"]
    assert t.due(later, monotonic=100.5) == []
    assert {m.topic for m in t.due(later, monotonic=101.4)} == {"usage.events", "ticket.events"}


def test_records_go_to_every_signals_partition_and_revoked_partitions_are_forgotten() -> None:
    t = tracker()
    t.positions({("usage.events", 0): 0, ("usage.events", 1): 3}, {"usage.events": 2})
    records = t.records(t.due(NOW, monotonic=1.0), signals_partitions=3, now=NOW)
    assert sorted((r.raw_partition, r.signals_partition) for r in records) == [
        (p, s) for p in range(2) for s in range(3)
    ]
    assert all(r.source == "usage" and r.raw_partitions == 2 for r in records)
    t.positions({("usage.events", 1): 0}, {"usage.events": 2})
    assert [m.partition for m in t.due(NOW, monotonic=5.0)] == [1]


def test_an_expected_source_with_nothing_produced_holds_time_back_even_caught_up() -> None:
    t = tracker()
    lags = {("usage.events", 0): 0, ("ticket.events", 0): 0}
    t.positions(lags, {}, empty=["ticket.events"], monotonic=1.0)
    assert t.watermark(("ticket.events", 0), NOW) is None
    assert t.watermark(("usage.events", 0), NOW) == NOW - LATENESS
    marks = {m.topic: (m.watermark, m.caught_up) for m in t.due(NOW, monotonic=1.0)}
    assert marks == {"ticket.events": (None, False), "usage.events": (NOW - LATENESS, True)}
    t.positions(lags, {}, empty=[], monotonic=2.0)  # its history arrived
    assert t.watermark(("ticket.events", 0), NOW) == NOW - LATENESS


def test_a_partition_is_idle_only_once_read_to_its_end_and_quiet_for_idle_s() -> None:
    """A replay keeps a partition's end moving: at its end for a moment is not idle."""
    t = tracker(idle_s=5.0)
    key = ("usage.events", 0)
    t.observe(*key, NOW - timedelta(days=40), monotonic=10.0)
    t.positions({key: 0}, {}, monotonic=10.1)  # at its end: the producer may still write
    assert t.watermark(key, NOW) == NOW - timedelta(days=40)
    assert [(m.watermark, m.caught_up) for m in t.due(NOW, monotonic=12.0)] == [
        (NOW - timedelta(days=40), False)
    ]
    t.positions({key: 0}, {}, monotonic=15.0)  # quiet for idle_s: idle, the wall clock
    assert t.watermark(key, NOW) == NOW - LATENESS
    assert [(m.caught_up, m.seen) for m in t.due(NOW, monotonic=15.0)] == [
        (True, NOW - timedelta(days=40))
    ]


def test_an_idle_partition_that_reads_history_reports_it_behind_before_the_history() -> None:
    t = tracker(idle_s=5.0)
    key = ("usage.events", 0)
    t.positions({key: 0}, {}, monotonic=10.0)
    assert [m.caught_up for m in t.due(NOW, monotonic=10.0)] == [True]
    # history is produced: the batch that reads it is announced first, with nothing read
    reopened = t.reopened([key], monotonic=11.0)
    assert [(m.watermark, m.caught_up) for m in reopened] == [(None, False)]
    t.observe(*key, NOW - timedelta(days=60), monotonic=11.0)
    t.positions({key: 0}, {}, monotonic=11.0)
    # after the batch: what was read of the backlog, older than the wall clock it stood for
    assert [(m.watermark, m.caught_up) for m in t.due(NOW, monotonic=11.0)] == [
        (NOW - timedelta(days=60), False)
    ]
    assert t.reopened([key], monotonic=11.5) == []  # announced once per backlog


def test_idle_partitions_are_re_sent_in_one_round_whenever_they_were_last_sent() -> None:
    t = tracker()
    keys = [("ticket.events", 0), ("ticket.events", 1), ("usage.events", 0)]
    t.positions(dict.fromkeys(keys, 0), {"ticket.events": 2, "usage.events": 1}, monotonic=0.0)
    assert len(t.due(NOW, monotonic=0.0)) == 3
    behind = dict.fromkeys(keys, 0) | {keys[0]: 5}  # one partition falls behind...
    t.positions(behind, {}, monotonic=0.3)
    assert len(t.due(NOW, monotonic=0.3)) == 1
    t.positions(dict.fromkeys(keys, 0), {}, monotonic=0.4)  # ...and is idle again
    assert len(t.due(NOW, monotonic=0.4)) == 1
    assert len(t.due(NOW, monotonic=1.0)) == 3, "one round re-sends every partition"
    quiet = [t.due(NOW, monotonic=1.0 + 0.1 * step) for step in range(1, 10)]
    assert quiet == [[]] * 9, "nothing between rounds: the topic has quiet moments"
    assert len(t.due(NOW, monotonic=2.0)) == 3
