"""Scoring's event time: the judgement bound from watermark reports, facts changes (pure)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, get_args

from services.scoring.domain.components import UsageFacts
from services.scoring.domain.event_time import (
    HELD,
    WatermarkRow,
    judgement_bound,
    judgement_time,
    merge,
    read_up_to,
)
from services.scoring.domain.health_change import (
    FACT_NAMES,
    account_facts,
    facts_change_id,
    facts_changed,
)
from shared.contracts.outputs import Fact

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
FRESH = timedelta(seconds=10)
HOUR = timedelta(hours=1)


def row(
    source: str,
    raw: int = 0,
    signals: int = 0,
    *,
    mark: datetime | None = None,
    caught_up: bool = False,
    emitted: datetime = NOW,
    raw_partitions: int = 1,
    signals_partitions: int = 1,
    seen: datetime | None = None,
) -> WatermarkRow:
    return WatermarkRow(
        signals, source, raw, raw_partitions, signals_partitions, mark, caught_up, emitted, seen
    )


def rows(*items: WatermarkRow) -> dict[tuple[int, str, int], WatermarkRow]:
    return {r.key: r for r in items}


def test_no_report_means_watermarks_are_not_in_effect() -> None:
    assert judgement_bound({}, NOW, FRESH) is None


def test_bound_is_the_slowest_source_and_all_sources_read_to_the_present_bound_nothing() -> None:
    reports = rows(
        row("usage", mark=NOW - 2 * HOUR),
        row("ticket", mark=NOW - timedelta(minutes=1), caught_up=True, seen=NOW - HOUR),
    )
    assert judgement_bound(reports, NOW, FRESH) == NOW - 2 * HOUR
    live = rows(
        row("usage", mark=NOW - HOUR, caught_up=True),
        row("ticket", mark=NOW - 2 * HOUR, caught_up=True),
    )
    # every source caught up and fresh: no bound, so a future-dated event is judged at its own
    # time whenever it is computed (the stored state does not depend on the wall clock)
    assert judgement_bound(live, NOW + timedelta(seconds=5), FRESH) is None
    mixed = rows(
        row("usage", mark=NOW - HOUR, caught_up=True, seen=NOW - 2 * HOUR),
        row("ticket", mark=NOW - 3 * HOUR),
    )
    # a fresh caught-up source beside one behind: the one behind bounds
    assert judgement_bound(mixed, NOW + timedelta(seconds=5), FRESH) == NOW - 3 * HOUR
    # a caught-up report gone stale stands for when it was made
    assert judgement_bound(live, NOW + timedelta(minutes=5), FRESH) == NOW


def test_a_partition_with_nothing_read_or_not_reported_holds_time_back() -> None:
    caught_up = row("ticket", mark=NOW, caught_up=True)
    assert judgement_bound(rows(row("usage"), caught_up), NOW, FRESH) == HELD
    # caught up with nothing ever produced to an expected source: still held
    assert judgement_bound(rows(row("usage", caught_up=True), caught_up), NOW, FRESH) == HELD
    two = rows(row("usage", 0, mark=NOW, raw_partitions=2), caught_up)
    assert judgement_bound(two, NOW, FRESH) == HELD
    other_signals = rows(row("usage", 0, 0, mark=NOW, signals_partitions=2))
    assert judgement_bound(other_signals, NOW, FRESH) == HELD


def test_merge_never_moves_a_watermark_back_and_the_latest_report_says_caught_up() -> None:
    stored = rows(row("usage", mark=NOW, emitted=NOW))
    restarted = row("usage", mark=None, caught_up=False, emitted=NOW + HOUR)
    merged = merge(stored, [restarted])
    only = next(iter(merged.values()))
    assert (only.watermark, only.caught_up, only.emitted_at) == (NOW, False, NOW + HOUR)
    older = row("usage", mark=NOW + 2 * HOUR, caught_up=True, emitted=NOW - HOUR)
    again = next(iter(merge(merged, [older]).values()))
    assert (again.watermark, again.caught_up) == (NOW + 2 * HOUR, False)
    assert read_up_to(merged) == {"usage": NOW}


def test_a_caught_up_partition_that_falls_behind_starts_from_its_new_backlog() -> None:
    """Idle, it stood for the wall clock; history produced to it is read as history."""
    idle = rows(row("usage", mark=NOW - timedelta(minutes=1), caught_up=True, seen=None))
    behind = row("usage", mark=None, emitted=NOW + timedelta(seconds=1))
    merged = merge(idle, [behind])
    assert judgement_bound(merged, NOW, FRESH) == HELD
    read = row("usage", mark=NOW - 60 * 24 * HOUR, emitted=NOW + timedelta(seconds=2))
    merged = merge(merged, [read])
    assert next(iter(merged.values())).watermark == NOW - 60 * 24 * HOUR
    assert judgement_bound(merged, NOW, FRESH) == NOW - 60 * 24 * HOUR  # no lateness added


def test_while_a_partition_reads_history_a_caught_up_one_stands_for_what_it_read() -> None:
    """The replay may not have written its share to the idle partition yet."""
    history = row("usage", mark=NOW - 30 * 24 * HOUR)
    read = row("ticket", mark=NOW - timedelta(minutes=1), caught_up=True, seen=NOW - 40 * 24 * HOUR)
    assert judgement_bound(rows(history, read), NOW, FRESH) == NOW - 40 * 24 * HOUR
    nothing = row("ticket", mark=NOW - timedelta(minutes=1), caught_up=True)
    assert judgement_bound(rows(history, nothing), NOW, FRESH) == HELD
    # reading the present (within the lateness): the idle one stands for the wall clock
    live = row("usage", mark=NOW - timedelta(seconds=20))
    bound = judgement_bound(rows(live, nothing), NOW, FRESH, timedelta(minutes=1))
    assert bound == NOW + timedelta(seconds=40)


@dataclass
class Account:
    last_event_at: datetime
    scored_as_of: datetime | None
    first_seen_at: datetime = NOW - 100 * HOUR


def test_judgement_time_is_clamped_never_goes_back_and_waits_before_the_first_event() -> None:
    account = Account(last_event_at=NOW, scored_as_of=NOW - 10 * HOUR)
    assert judgement_time(account, None, None) == NOW
    assert judgement_time(account, None, NOW + HOUR) == NOW
    # the state holds an event past the bound: it cannot be judged as of the bound, it waits
    assert judgement_time(account, None, NOW - 5 * HOUR) is None
    assert judgement_time(account, None, NOW - 20 * HOUR) is None
    late = Account(last_event_at=NOW - 12 * HOUR, scored_as_of=NOW - 10 * HOUR)
    assert judgement_time(late, None, NOW - 20 * HOUR) == NOW - 10 * HOUR  # same time again
    assert judgement_time(account, NOW + HOUR, NOW + 2 * HOUR) == NOW + HOUR  # clock
    new = Account(last_event_at=NOW, scored_as_of=None, first_seen_at=NOW - HOUR)
    assert judgement_time(new, None, HELD) is None
    assert judgement_time(new, None, NOW - 2 * HOUR) is None


@dataclass
class Facts:
    arr: Decimal | None = Decimal("50000")
    seats: int | None = 30
    renewal_at: date | None = date(2026, 5, 1)
    started_at: datetime | None = NOW - 400 * HOUR
    canceled_at: datetime | None = None
    first_value_at: datetime | None = None


def test_only_facts_that_changed_are_listed_and_the_first_lists_all_set() -> None:
    before = account_facts(Facts(), "mid_market")
    assert facts_changed(None, before) == [
        "segment",
        "arr",
        "seats",
        "renewal_at",
        "subscription_started_at",
    ]
    assert facts_changed(before, before) == []
    after = account_facts(Facts(renewal_at=date(2026, 6, 1)), "mid_market")
    assert facts_changed(before, after) == ["renewal_at"]
    assert facts_change_id("x", before) != facts_change_id("x", after)
    assert facts_change_id("x", after) == facts_change_id("x", dict(after))


def test_the_bound_allows_the_lateness_past_the_slowest_watermark_but_not_past_held() -> None:
    behind = rows(row("usage", mark=NOW - timedelta(seconds=0.3)), row("ticket", mark=NOW))
    lateness = timedelta(minutes=1)
    assert judgement_bound(behind, NOW, FRESH, lateness) == NOW + timedelta(seconds=59.7)
    assert (
        judgement_bound(rows(row("usage"), row("ticket", mark=NOW)), NOW, FRESH, lateness) == HELD
    )


def test_every_fact_scoring_publishes_is_one_the_contract_names() -> None:
    """A fact name outside ``health.changes``' contract makes triggers dead-letter the change."""
    assert set(FACT_NAMES) == set(get_args(Fact))


def usage_at(ratio_7d: float, ratio_14d: float) -> UsageFacts:
    """Usage whose 7- and 14-day ratios to baseline are the given ones (baseline 100/week)."""
    return UsageFacts(
        events_7d=round(100 * ratio_7d),
        baseline_week=100.0,
        active_users_7d=12,
        days_silent=0,
        events_14d=round(200 * ratio_14d),
        baseline_week_before_14d=100.0,
    )


def test_usage_trend_changes_when_either_expansion_threshold_is_crossed() -> None:
    def trend(r7: float, r14: float) -> Any:
        return account_facts(Facts(), "smb", usage_at(r7, r14))["usage_trend"]

    # entering needs both ratios over 1.3: the lower one crossing it is a change
    assert trend(1.2, 1.4) != trend(1.35, 1.4)
    # holding needs the 14 days over 1.15: their fall is a change while the week stays low
    assert trend(0.9, 1.2) != trend(0.9, 1.1)
    # noise inside one step is not
    assert trend(0.9, 1.18) == trend(0.95, 1.2)
    # with no 14-day baseline yet, the rule reads the week alone, and so does the fact
    young = [replace(usage_at(r7, 1.0), baseline_week_before_14d=0.0) for r7 in (1.2, 1.35)]
    facts = [account_facts(Facts(), "smb", u)["usage_trend"] for u in young]
    assert facts[0] is not None and facts[0] != facts[1]
