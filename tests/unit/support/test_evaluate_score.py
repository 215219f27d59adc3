"""Measuring a pipeline's conclusions against the ground truth, and the thresholds."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from tests.support.evaluation import segments
from tests.support.evaluation.orders import BACKFILLS, arrange
from tests.support.evaluation.report import as_json, markdown
from tests.support.evaluation.score import Emitted, Observed, evaluate, score
from tests.support.evaluation.truth import Truth, truth_of
from tests.support.workload import (
    CUSTOM_PLAYBOOK,
    REGIONAL,
    REGIONAL_PLAYBOOK,
    REGIONS,
    events,
    make_workload,
)

NOW = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)
COHORT = {"h1": "healthy", "h2": "healthy", "c1": "churning", "d1": "declining", "e1": "expanding"}
TRUTH = Truth(
    COHORT,
    {
        "at_risk": {"h1": False, "h2": False, "c1": True, "e1": False},  # d1: either
        "expansion": {"h1": False, "h2": False, "c1": False, "d1": False, "e1": True},
        "score_drop": {"h1": False, "h2": False, "e1": False},
    },
)
BANDS = {"h1": "green", "h2": "green", "c1": "red", "d1": "red", "e1": "green"}


def opened(account: str, playbook: str, n: int = 0, age: timedelta = timedelta(0)) -> Emitted:
    return Emitted(account, playbook, f"{account}-{playbook}-{n}", NOW - age, NOW)


def test_a_pipeline_that_matches_the_truth_passes() -> None:
    seen = Observed(
        BANDS,
        {"at_risk": {"c1", "d1"}, "expansion": {"e1"}},
        [opened("c1", "at_risk"), opened("d1", "at_risk"), opened("e1", "expansion")],
    )
    result = evaluate("live", TRUTH, seen, timedelta(hours=24))
    assert result.passed, [c for c in result.checks if not c.ok]
    assert result.ever["at_risk"].precision == 1.0  # d1 is not counted either way
    assert result.bands["healthy"]["green"] == 2


def test_a_false_alarm_along_the_way_fails_even_when_it_cleared() -> None:
    seen = Observed(
        BANDS,
        {"at_risk": {"c1"}, "expansion": {"e1"}},
        [opened("c1", "at_risk"), opened("h1", "at_risk"), opened("e1", "expansion")],
    )
    result = evaluate("backfill", TRUTH, seen, timedelta(hours=24))
    assert result.at_end["at_risk"].precision == 1.0
    assert result.ever["at_risk"].precision == 0.5
    assert result.ever["at_risk"].false_alarms == ("h1",)
    failed = [c.name for c in result.checks if not c.ok]
    assert failed == ["at_risk along the way P≥0.95 R≥1.0"]


def test_missing_playbooks_wrong_bands_stale_and_flapping_episodes_fail() -> None:
    seen = Observed(
        {**BANDS, "h2": "yellow"},
        {"at_risk": {"c1"}},
        [
            opened("c1", "at_risk", age=3 * DAY),
            opened("h1", "score_drop", 1),
            opened("h1", "score_drop", 2),
        ],
    )
    result = evaluate("kill", TRUTH, seen, timedelta(hours=24))
    failed = {c.name: c.detail for c in result.checks if not c.ok}
    assert failed["healthy 100% green"] == "1/2"
    assert "missed: e1" in failed["expansion at end P≥0.9 R≥1.0"]
    assert failed["no episode for a state older than 24 h"] == "1 episodes"
    assert failed["healthy: ≤ 1 expansion/score_drop episode per account"] == "max 2"
    assert result.per_account["healthy"]["score_drop"] == (1.0, 2)
    assert "FAIL" in markdown([result], "run")
    report = as_json(result)
    assert report["passed"] is False
    assert "e1" in report["suspects"]  # the missed expansion, with what was emitted for it


def test_score_counts_only_definite_labels() -> None:
    s = score({"a": True, "b": False, "c": True}, {"a", "b", "x"})
    assert (s.tp, s.fp, s.fn) == (1, 1, 1)
    assert s.precision == 0.5 and s.recall == 0.5
    assert score({}, set()).precision is None


def test_backfill_produces_each_source_whole_with_usage_last() -> None:
    workload = make_workload(6, 20, seed=2, end=NOW)
    items = list(events(workload, seed=2))
    for order, last in (("backfill", "usage"), ("backfill-payment-last", "payment")):
        backfill = arrange(order, items)
        sources = [source for source, _ in backfill]
        firsts = [sources.index(s) for s in BACKFILLS[order] if s in sources]
        assert firsts == sorted(firsts) and sources[-1] == last
        # each source in one run, nothing lost
        assert sum(1 for a, b in itertools.pairwise(sources) if a != b) == 3
        assert sorted(map(str, backfill)) == sorted(map(str, items))
    live = arrange("live", items)
    times = [body["occurred_at"] for _, body in live]
    assert times == sorted(times)
    assert truth_of(workload).cohort.keys() == {a.account_id for a in workload.accounts}


def test_a_custom_playbook_is_judged_only_where_its_scorecard_is_live() -> None:
    truth = Truth({"h1": "healthy"}, {CUSTOM_PLAYBOOK: {"h1": True}})
    seen = Observed({"h1": "green"}, {}, [])
    default = evaluate("live", truth, seen, timedelta(hours=24), scorecard="default")
    custom = evaluate(
        "live",
        truth,
        seen,
        timedelta(hours=24),
        scorecard="custom",
        custom_playbooks=[CUSTOM_PLAYBOOK],
    )
    assert default.passed and CUSTOM_PLAYBOOK not in default.at_end
    assert not custom.passed  # h1 never got it
    assert custom.at_end[CUSTOM_PLAYBOOK].missed == ("h1",)
    report = markdown([default, custom], "run")
    assert "### default scorecard live" in report and "### custom scorecard live" in report
    assert report.count(f"| {CUSTOM_PLAYBOOK} open at end |") == 1  # the custom table only
    assert "- live (custom scorecard): integration_broken at end" in report


def test_the_segment_of_each_last_change_is_compared_with_the_truth() -> None:
    changes = [
        {"account_id": "a", "segment": "smb"},
        {"account_id": "a", "segment": "apac_smb"},  # the last one counts
        {"account_id": "b", "segment": "enterprise"},
    ]
    result = segments.compare(
        segments.last_segments(changes), {"a": "apac_smb", "b": "mid_market", "c": "smb"}
    )
    assert (result.same, result.population, result.ok) == (1, 3, False)
    assert result.different == ["b: enterprise, expected mid_market", "c: no change, expected smb"]
    truth = Truth({"a": "healthy"})
    seen = Observed({"a": "green"}, {}, [])
    failed = evaluate("live", truth, seen, timedelta(hours=24), segments=result).checks
    assert [c.detail.split(";")[0] for c in failed if not c.ok] == ["1 of 3"]


def test_every_cohort_has_every_region_and_subscriptions_carry_it() -> None:
    workload = make_workload(120, 30, seed=7, end=NOW, integrations=True)
    groups: dict[tuple[str, bool], set[str]] = {}
    for a in workload.accounts:
        groups.setdefault((a.cohort, a.integration_broken), set()).add(a.region)
    assert ("healthy", True) in groups  # the integration cohort
    assert all(regions == set(REGIONS) for regions in groups.values())
    regions = {
        body["account_id"]: body["region"]
        for source, body in events(workload, seed=7)
        if source == "payment" and body["type"].startswith("subscription_")
    }
    truth = truth_of(workload)
    assert regions == truth.region == {a: g["region"] for a, g in workload.ground_truth().items()}
    regional = {a for a, label in truth.labels[REGIONAL_PLAYBOOK].items() if label}
    broken = {a.account_id for a in workload.accounts if a.integration_broken}
    assert regional == {a for a in broken if truth.region[a] == REGIONAL} != set()
