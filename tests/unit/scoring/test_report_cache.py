"""Reports computed once per key and one at a time; the AUC gauge's labels never come from a
request. Pure (fakes for the computation)."""

from __future__ import annotations

import asyncio

import pytest

from services.scoring import trust
from services.scoring.accuracy.report import AccuracyReport, HorizonReport
from services.scoring.accuracy.stats import AucEstimate
from services.scoring.metrics import ScoringMetrics
from services.scoring.report_cache import ReportCache


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
