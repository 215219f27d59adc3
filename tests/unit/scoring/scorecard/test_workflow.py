"""The pure parts of the scorecard workflow: the band diff's tally and the point-in-time
backtest (a measure added later is judged on the past from the state kept)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import yaml

from services.scoring.domain.account_state import AccountState
from services.scoring.scorecard.backtest import horizon, lines
from services.scoring.scorecard.candidate import is_scorecard, scorecard_candidate
from services.scoring.scorecard.default import DEFAULT_PATH
from services.scoring.scorecard.diff import BandDiff
from services.scoring.scorecard.diff import lines as diff_lines
from services.scoring.trust.accuracy.features import cutoff
from services.scoring.trust.accuracy.outcomes import Outcome
from tests.unit.scoring.states import NOW, active_account


def test_the_diff_counts_moves_by_segment_and_keeps_a_few_ids() -> None:
    diff = BandDiff(samples=2)
    for i in range(5):
        diff.add(f"a{i}", "smb", "green", "yellow", "smb")
    diff.add("b", "smb", "green", "green", "smb")
    diff.add("c", "enterprise", "red", "green", "mid_market")
    diff.fail("d")
    data = diff.as_data()
    assert (data["accounts"], data["changed_band"], data["failed"]) == (7, 6, 1)
    assert data["segments"]["smb"] == {
        "accounts": 6,
        "changed": 5,
        "moves": [{"from": "green", "to": "yellow", "accounts": 5, "sample": ["a0", "a1"]}],
    }
    assert data["segment_moves"] == [{"from": "enterprise", "to": "mid_market", "accounts": 1}]
    text = diff_lines(diff, "live", "cand")
    assert text[0] == "live live vs candidate cand: 6 of 7 accounts change band"
    assert "1 accounts could not be scored (isolated), e.g. d" in text[-1]


def document(**change: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_PATH.read_text())
    data.update(change)
    return data


def with_events_per_seat(data: dict[str, Any]) -> dict[str, Any]:
    data["measures"].append(
        {
            "name": "events_per_seat",
            "source": "usage",
            "aggregate": "count",
            "window_days": 14,
            "per_seat": 1,
            "points": [{"x": 0, "y": 0}, {"x": 1000, "y": 100}],
        }
    )
    return data


def account(name: str, *, daily_events: int, silent_days: int = 0) -> AccountState:
    base = active_account(daily_events=daily_events, silent_days=silent_days, seats=10)
    return replace(base, account_id=name)


def test_a_candidate_is_recognised_checked_and_refused_with_its_paths() -> None:
    assert is_scorecard(document()) and not is_scorecard({"weights": {}})
    try:
        scorecard_candidate(document(default_segment="nowhere"))
    except ValueError as error:
        assert "weights.nowhere: missing" in str(error)
    else:
        raise AssertionError("a scorecard with unresolved names is refused")


def test_a_new_measure_is_backtested_point_in_time_from_the_state_kept() -> None:
    live = scorecard_candidate(document())
    candidate = scorecard_candidate(with_events_per_seat(document(version="seats")))
    on = (NOW + timedelta(days=30)).date()
    # churners went quiet 20 days before the cut-off; renewers kept using the product
    outcomes, states = [], {}
    for i in range(12):
        for kind, events in (("churn", 2), ("renewal", 200)):
            name = f"{kind}-{i}"
            states[name] = account(name, daily_events=events + i)
            outcomes.append(Outcome(name, kind, on, "api"))  # type: ignore[arg-type]
    result = horizon(outcomes, states, live, candidate, 30)
    assert cutoff(outcomes[0], 30).date() == NOW.date()
    assert (result.n, result.churned, result.message) == (24, 12, None)
    measures = {m.name: m for m in result.measures}
    seat = measures["events_per_seat"]
    assert seat.n == 24 and seat.auc is not None and seat.auc.auc == 1.0
    assert result.candidate is not None and result.live is not None
    assert "events_per_seat" in "\n".join(lines(result))


def test_a_sample_needs_the_account_to_exist_at_the_cut_off_and_enough_outcomes() -> None:
    card = scorecard_candidate(document())
    late = AccountState(account_id="late", first_seen_at=NOW)
    outcomes = [Outcome("late", "churn", date(2026, 3, 5), "api")]
    result = horizon(outcomes, {"late": late}, card, card, 30)
    assert result.n == 0 and result.message is not None and "need at least" in result.message
