"""Rows 2, 3, 6 and 7 of a baseline commit and of this tree, alternating on one stack.

Each round measures the baseline, then this tree (bench/baseline.py), so both
share the machine's fast and slow minutes; the ratio of the two is the figure
that counts on a shared machine, the absolute rates move with the load.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

from bench import baseline
from bench.measure import Stat

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Stage:
    """Where both trees run, and how many rounds."""

    bootstrap: str
    database_url: str
    logs: Path
    runs: int
    say: Callable[[str], None]


async def latency(stage: Stage, ref: str) -> dict[str, Any]:
    """Row 6: p50/p95/p99 to health changes and webhooks, each run of each tree."""
    stage.say(f"6. latency at 2,000 events/s: {ref} and this tree, side by side")
    mine: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    with baseline.checkout(REPO, ref) as tree:
        for i in range(stage.runs):
            for runs, where, label in ((theirs, tree, ref), (mine, REPO, "this")):
                runs.append(await baseline.measure(where, *_at(stage, label)))
                stage.say(f"    run {i + 1}: {label} {json.dumps(runs[-1])}")
    stage.say("    " + baseline.p99_line(ref, theirs))
    stage.say("    " + baseline.p99_line("this tree", mine))
    return {"ref": ref, "baseline": theirs, "this": mine}


async def throughput(
    stage: Stage, ref: str, signals: str, raw: dict[str, str], total: int
) -> dict[str, Any]:
    """Rows 3 and 2: scoring end to end from the filled ``signals`` topic, ingest alone
    from the filled ``raw`` topics; events per second of each run of each tree."""
    stage.say(f"2, 3. ingest alone, scoring end to end: {ref} and this tree, in turn")
    given = {
        "scoring": {"signals": signals, "total": total},
        "ingest": {"raw": raw, "total": total},
    }
    rates: dict[str, dict[str, list[float]]] = {
        label: {row: [] for row in given} for label in (ref, "this")
    }
    with baseline.checkout(REPO, ref) as tree:
        for i in range(stage.runs):
            for row, args in given.items():
                for where, label in ((tree, ref), (REPO, "this")):
                    result = await baseline.probe(where, row, *_at(stage, label), args)
                    rates[label][row].append(float(result["events_per_s"]))
                    stage.say(f"    {row} run {i + 1}: {label} {rates[label][row][-1]:,.0f}/s")
    summary = {
        label: {f"{row}_events_per_s": Stat.of(v).as_dict() for row, v in by_row.items()}
        for label, by_row in rates.items()
    }
    for row in given:
        stage.say("    " + rate_line(ref, row, rates[ref][row], rates["this"][row]))
    return {"ref": ref, "baseline": summary[ref], "this": summary["this"], "runs": rates}


async def clock(stage: Stage, ref: str, size: int) -> dict[str, Any]:
    """Row 7: one clock re-score of ``size`` accounts, on a database of each tree's own
    migrations filled with the same state; seconds and peak RSS of each run."""
    stage.say(f"7. clock re-score with {size:,} accounts: {ref} and this tree, in turn")
    runs: dict[str, list[dict[str, Any]]] = {ref: [], "this": []}
    with baseline.checkout(REPO, ref) as tree:
        trees = {ref: tree, "this": REPO}
        urls: dict[str, str] = {}
        for label, where in trees.items():
            made = await baseline.probe(where, "database", *_at(stage, label))
            urls[label] = made["url"]
            fill = ["--fill", str(size)]
            await asyncio.to_thread(baseline.clock_probe, where, urls[label], fill)
        for i in range(stage.runs):
            for label, where in trees.items():
                line = await asyncio.to_thread(baseline.clock_probe, where, urls[label], [])
                runs[label].append(json.loads(line))
                stage.say(f"    run {i + 1}: {label} {line}")
    for label, measured in runs.items():
        seconds = " / ".join(f"{r['seconds']:,.1f}" for r in measured)
        rss = " / ".join(f"{r['peak_rss_mb']:,.0f}" for r in measured)
        stage.say(f"    {label}: {seconds} s, peak RSS {rss} MB")
    return {"ref": ref, "size": size, "baseline": runs[ref], "this": runs["this"]}


def rate_line(ref: str, row: str, theirs: list[float], mine: list[float]) -> str:
    """Medians of both trees and the ratio of each round (this tree over the baseline)."""
    rounds = ", ".join(f"{m / t:.2f}" for t, m in zip(theirs, mine, strict=True))
    return (
        f"{row}: this tree {median(mine):,.0f}/s against {median(theirs):,.0f}/s of {ref}"
        f" ({median(mine) / median(theirs):.2f}x; per round {rounds})"
    )


def _at(stage: Stage, label: str) -> tuple[str, str, Path]:
    return (
        stage.bootstrap,
        stage.database_url,
        stage.logs / ("this" if label == "this" else "baseline"),
    )
