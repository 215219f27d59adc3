"""The soak's verdict, its picture (``soak.png``) and its record (``soak.json``)."""

from __future__ import annotations

import dataclasses
import json
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a display

import matplotlib.pyplot as plt

from bench.scoring_soak import Sample, SoakOptions
from tests.support.soak_trend import Trend, trend

# growth allowed from the first quarter to the last: runs on this shared machine vary by ~10%
TOLERANCE = 0.15


def write(
    options: SoakOptions, samples: Sequence[Sample], machine: str, json_path: Path, png_path: Path
) -> list[str]:
    """The verdict's lines, after writing the record and the picture."""
    trends = verdict(samples)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    body = record(options, samples, trends) | {
        "machine": machine,
        "when": datetime.now(UTC).isoformat(),
    }
    json_path.write_text(json.dumps(body, indent=2))
    plot(samples, png_path)
    return [*lines(samples, trends), f"written to {json_path} and {png_path}"]


def verdict(samples: Sequence[Sample], tolerance: float = TOLERANCE) -> list[Trend]:
    return [
        trend("scoring RSS (MB)", [s.rss_mb for s in samples], tolerance),
        trend("time per batch (ms)", [s.batch_ms for s in samples], tolerance),
    ]


def lines(samples: Sequence[Sample], trends: Sequence[Trend]) -> list[str]:
    rates = [s.per_s for s in samples]
    quarter = max(1, len(rates) // 4)
    return [
        f"soak: {len(samples)} samples, {samples[-1].consumed:,} signals in"
        f" {samples[-1].t_s:,.0f} s; throughput first quarter"
        f" {statistics.median(rates[:quarter]):,.0f}/s, last quarter"
        f" {statistics.median(rates[-quarter:]):,.0f}/s",
        *(t.describe() for t in trends),
        "soak: PASS (no growth)" if all(t.ok for t in trends) else "soak: FAIL (growth)",
    ]


def record(
    options: SoakOptions, samples: Sequence[Sample], trends: Sequence[Trend]
) -> dict[str, Any]:
    return {
        "options": dataclasses.asdict(options),
        "samples": [dataclasses.asdict(s) for s in samples],
        "verdict": [
            {"name": t.name, "first": t.first, "last": t.last, "growth": t.growth, "ok": t.ok}
            for t in trends
        ],
        "passed": all(t.ok for t in trends),
    }


def plot(samples: Sequence[Sample], path: Path) -> Path:
    """Top: throughput and time per batch; bottom: RSS; both against time."""
    minutes = [s.t_s / 60 for s in samples]
    figure, (rate, memory) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    rate.plot(minutes, [s.per_s for s in samples], marker=".", color="tab:blue")
    rate.set(ylabel="signals/s consumed (blue)", ylim=(0, None))
    rate.set_title(f"Vigil scoring soak: {samples[-1].consumed:,} signals")
    per_batch = rate.twinx()
    per_batch.plot(minutes, [s.batch_ms for s in samples], marker=".", color="tab:orange")
    per_batch.set(ylabel="ms per batch (orange)", ylim=(0, None))
    memory.plot(minutes, [s.rss_mb for s in samples], marker=".", color="tab:green")
    memory.set(xlabel="minutes", ylabel="scoring RSS (MB)", ylim=(0, None))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
