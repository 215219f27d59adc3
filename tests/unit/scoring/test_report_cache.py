"""Reports computed once per key and one at a time; the AUC gauge's labels never come from a
request. Pure (fakes for the computation)."""

from __future__ import annotations

import asyncio

import pytest

from services.scoring.metrics import ScoringMetrics
from services.scoring.trust import service as trust
from services.scoring.trust.accuracy.report import AccuracyReport, HorizonReport
from services.scoring.trust.accuracy.stats import AucEstimate
from shared.report_cache import ReportCache, ReportPending


@pytest.mark.asyncio
async def test_identical_requests_share_one_computation_and_keys_run_one_at_a_time() -> None:
    cache = ReportCache(size=2)
    release = asyncio.Event()
    runs: list[str] = []
    inside = most = 0

    def computing(key: str):
        async def compute() -> str:
            nonlocal inside, most
            inside += 1
            most = max(most, inside)
            runs.append(key)
            await release.wait()
            inside -= 1
            return key.upper()

        return compute

    asked = [asyncio.ensure_future(cache.get(k, computing(k))) for k in "aaab"]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*asked) == ["A", "A", "A", "B"]
    assert runs == ["a", "b"] and most == 1
    assert await cache.get("a", computing("again")) == "A"  # cached
    await cache.get("c", computing("c"))  # the oldest ("b": "a" was just used) is dropped
    assert await cache.get("b", computing("b2")) == "B2"


def test_the_auc_gauge_takes_configured_horizons_only() -> None:
    metrics = ScoringMetrics.new()
    auc = AucEstimate(0.8, 0.7, 0.9, 10, 5)
    horizons = [HorizonReport(days, 15, 5, overall=auc) for days in (7, 30, 3650)]
    trust.observe(metrics, AccuracyReport("m1", {}, horizons, []))
    labelled = {
        s.labels["horizon"]
        for m in metrics.registry.collect()
        for s in m.samples
        if s.name == "vigil_model_auc"
    }
    assert labelled == {"30"}


@pytest.mark.asyncio
async def test_a_recent_report_answers_at_once_while_the_newer_history_is_computed() -> None:
    now = [0.0]
    cache = ReportCache(clock=lambda: now[0])
    release = asyncio.Event()

    def computing(value: str, wait: bool = False):
        async def compute() -> str:
            if wait:
                await release.wait()
            return value

        return compute

    # nothing computed yet: the report of this history, computed now
    assert await cache.recent(("accuracy", "v1", 1), 600, computing("mark 1")) == "mark 1"
    # the history moved: the report of mark 1 answers, mark 2's is computed meanwhile
    now[0] = 100.0
    assert await cache.recent(("accuracy", "v1", 2), 600, computing("mark 2", True)) == "mark 1"
    assert await cache.recent(("accuracy", "v1", 2), 600, computing("again")) == "mark 1"
    release.set()
    assert await cache.get(("accuracy", "v1", 2), computing("unused")) == "mark 2"
    assert await cache.recent(("accuracy", "v1", 3), 600, computing("m3", True)) == "mark 2"
    # older than asked for: the current history's report, waited for
    now[0] = 1000.0
    assert await cache.recent(("accuracy", "v1", 4), 600, computing("mark 4")) == "mark 4"
    # another model's report is another family
    assert await cache.recent(("accuracy", "v2", 4), 600, computing("v2")) == "v2"


@pytest.mark.asyncio
async def test_a_report_that_takes_long_is_a_503_while_it_is_computed() -> None:
    cache = ReportCache()
    release = asyncio.Event()
    runs = 0

    async def slow() -> str:
        nonlocal runs
        runs += 1
        await release.wait()
        return "done"

    with pytest.raises(ReportPending):
        await cache.recent(("feedback", None, 1), 600, slow, wait_s=0.01)
    with pytest.raises(ReportPending):  # the same computation, not a second one
        await cache.recent(("feedback", None, 1), 600, slow, wait_s=0.01)
    release.set()
    assert await cache.recent(("feedback", None, 1), 600, slow) == "done"
    assert runs == 1
