"""The demo's score-trust part: outcomes in, accuracy out, a shadow candidate promoted.

Runs after the pipeline has drained, through the scoring API as a user
would: post the CRM's renewals, read the live model's accuracy, draw its
picture, put a candidate with the suggested weights in shadow, re-score,
read the band changes and both AUCs, promote, read the accuracy again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from bench.outcomes import PlannedOutcome, renewal_labels
from services.scoring.trust.accuracy.outcomes import MAX_OUTCOMES_PER_POST
from services.scoring.trust.cli import calibrate

HORIZONS = {"horizon": [30, 60, 90]}
MIN_AUC_30 = 0.8


@dataclass
class TrustSummary:
    accuracy: dict[str, Any] = field(default_factory=dict)
    shadow: dict[str, Any] = field(default_factory=dict)
    promoted: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    plot: Path | None = None


async def run_trust(
    client: httpx.AsyncClient,
    scoring_url: str,
    database_url: str,
    plan: list[PlannedOutcome],
    end: datetime,
    plot_path: Path,
) -> TrustSummary:
    summary = TrustSummary()
    labels = renewal_labels(plan)
    for start in range(0, len(labels), MAX_OUTCOMES_PER_POST):
        chunk = labels[start : start + MAX_OUTCOMES_PER_POST]
        posted = await client.post(f"{scoring_url}/v1/outcomes", json={"outcomes": chunk})
        posted.raise_for_status()
    summary.accuracy = await _get(client, f"{scoring_url}/v1/model/accuracy", HORIZONS)
    drawn = await asyncio.to_thread(
        calibrate, database_url, [30], plot_path, False, lambda _line: None
    )
    summary.plot = plot_path if any(h.overall for h in drawn.horizons) else None
    candidate = _candidate(await _get(client, f"{scoring_url}/v1/config/scoring"), summary)
    if candidate is None:
        return summary
    (await client.put(f"{scoring_url}/v1/model/shadow", json=candidate)).raise_for_status()
    rescore = await client.post(
        f"{scoring_url}/v1/clock/rescore", params={"as_of": end.isoformat()}
    )
    rescore.raise_for_status()
    summary.shadow = await _get(client, f"{scoring_url}/v1/model/shadow", {"horizon": [30, 60]})
    promoted = await client.post(f"{scoring_url}/v1/model/shadow/promote")
    promoted.raise_for_status()
    summary.promoted = promoted.json()
    summary.after = await _get(client, f"{scoring_url}/v1/model/accuracy", {"horizon": [30, 60]})
    return summary


async def _get(
    client: httpx.AsyncClient, url: str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await client.get(url, params=params)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def _candidate(live: dict[str, Any], summary: TrustSummary) -> dict[str, Any] | None:
    """The live config with the suggested weights of every segment that has them."""
    suggested = {
        s["segment"]: s["weights"] for s in summary.accuracy["suggested_weights"] if s["weights"]
    }
    if not suggested:
        return None
    config: dict[str, Any] = dict(live["config"])
    config["weights"] = {**config["weights"], **suggested}
    return config


def _auc(report: dict[str, Any], days: int) -> float | None:
    for h in report.get("horizons", []):
        if h["horizon_days"] == days and h["auc"]:
            return float(h["auc"]["auc"])
    return None


def _times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}x"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def print_trust(summary: TrustSummary, console: Console) -> list[tuple[str, bool]]:
    """Prints the accuracy and the shadow round; returns the checks."""
    report = summary.accuracy
    console.print(
        f"[bold]score trust[/] (model {report.get('model_version')}):"
        f" outcomes {report.get('outcomes')}"
    )
    for h in report.get("horizons", []):
        if h["auc"] is None:
            console.print(f"    {h['horizon_days']} days ahead: {h['message']}")
            continue
        a = h["auc"]
        rates = ", ".join(f"{b['band']} {100 * (b['churn_rate'] or 0):.0f}%" for b in h["bands"])
        console.print(
            f"    {h['horizon_days']} days ahead: AUC {a['auc']:.3f} [{a['ci_low']:.3f},"
            f" {a['ci_high']:.3f}] n={a['n']}; churn by band {rates}; lift red/green"
            f" {_times(h['lift_red_over_green'])}, yellow+red/green"
            f" {_times(h['lift_not_green_over_green'])}; red as a warning: precision"
            f" {_pct(h['red_precision'])}, recall {_pct(h['red_recall'])}"
        )
    if summary.plot:
        console.print(f"    accuracy plot: {summary.plot}")
    old, new = _auc(report, 30), _auc(summary.after, 30)
    if summary.shadow:
        changes = summary.shadow["band_changes"]
        console.print(
            f"    shadow (suggested weights): {changes['changed_band']} of {changes['scored']}"
            f" accounts would change band {changes['moves']}; promoted as version"
            f" {summary.promoted.get('version')}: AUC at 30 days {old} -> {new}"
        )
    return [
        (f"default model AUC at 30 days >= {MIN_AUC_30}", old is not None and old >= MIN_AUC_30),
        (
            "promoted candidate's AUC not lower on the same outcomes",
            old is not None and new is not None and new >= old,
        ),
    ]
