"""Showing evaluations: a terminal table, the README markdown, and JSON."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from tests.support.evaluation.score import (
    BANDS,
    Emitted,
    Evaluation,
    by_live,
    ratio,
    suspects,
)
from tests.support.workload import COHORTS

PER_ACCOUNT = (("expansion", "exp"), ("score_drop", "drop"), ("at_risk", "risk"))


def table_rows(results: list[Evaluation]) -> list[list[str]]:
    """One row per measure, one column per arrival order."""
    rows: list[list[str]] = []
    for cohort in COHORTS:
        cells = []
        for r in results:
            counts = r.bands.get(cohort, Counter())
            cells.append("/".join(str(counts[b]) for b in BANDS) + f" of {sum(counts.values())}")
        rows.append([f"{cohort}: green/yellow/red", *cells])
    for playbook in shown(results):
        for view, attr in (("open at end", "at_end"), ("opened along the way", "ever")):
            cells = []
            for r in results:
                s = getattr(r, attr).get(playbook)
                cells.append(
                    "n/a"
                    if s is None
                    else f"P {ratio(s.precision)} R {ratio(s.recall)} (fp {s.fp}, fn {s.fn})"
                )
            rows.append([f"{playbook} {view}", *cells])
    for cohort in COHORTS:
        rows.append(
            [f"episodes per {cohort} account (mean/max)", *(_per(r, cohort) for r in results)]
        )
    rows.append(
        [
            "episodes opened for a state older than the horizon",
            *(str(len(r.stale)) for r in results),
        ]
    )
    rows.append(
        [
            "point-in-time truth (published changes true at their as_of)",
            *(_truth(r) for r in results),
        ]
    )
    rows.append(
        [
            "stored scores made by the live scorecard (model version)",
            *(by_live(r) for r in results),
        ]
    )
    rows.append(
        [
            "default scorecard = model (score and band on each stored state)",
            *("n/a" if r.equivalence is None else r.equivalence.detail() for r in results),
        ]
    )
    rows.append(
        [
            "segment of each account's last change as expected (custom: region and ARR)",
            *("n/a" if r.segments is None else r.segments.detail() for r in results),
        ]
    )
    rows.append(["late events (scoring metric)", *(_late(r.late_events) for r in results)])
    rows.append(
        [
            "episodes held back as historical (triggers metric)",
            *(_late(r.held_back) for r in results),
        ]
    )
    rows.append(
        ["webhooks received/verified", *(f"{r.webhooks[0]}/{r.webhooks[1]}" for r in results)]
    )
    if any(r.seconds for r in results):
        rows.append(["run time", *(f"{r.seconds:.0f} s" for r in results)])
    rows.append(["thresholds", *("PASS" if r.passed else "FAIL" for r in results)])
    return rows


def shown(results: list[Evaluation]) -> list[str]:
    """The playbooks judged in any of ``results``: the built-in ones, then custom ones."""
    return list(dict.fromkeys(p for r in results for p in r.at_end))


def _per(r: Evaluation, cohort: str) -> str:
    counts = r.per_account.get(cohort, {})
    return " · ".join(
        "{} {:.2f}/{}".format(short, *counts.get(playbook, (0.0, 0)))
        for playbook, short in PER_ACCOUNT
    )


def _truth(r: Evaluation) -> str:
    t = r.point_in_time
    return "n/a" if t is None else f"{t.true} of {t.total}"


def _late(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def by_scorecard(results: list[Evaluation]) -> dict[str, list[Evaluation]]:
    """The results grouped by the scorecard live in them, in the order they ran."""
    groups: dict[str, list[Evaluation]] = {}
    for r in results:
        groups.setdefault(r.scorecard, []).append(r)
    return groups


def markdown(
    results: list[Evaluation], heading: str, titles: Mapping[str, str] | None = None
) -> str:
    """One table per live scorecard (``titles``: scorecard -> the heading of its table)."""
    lines = [heading]
    for scorecard, group in by_scorecard(results).items():
        title = (titles or {}).get(scorecard, f"{scorecard} scorecard live" if scorecard else "")
        lines += ["", f"### {title}"] if title else []
        head = ["measure", *(r.order for r in group)]
        lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in table_rows(group)]
    failed = [(r, c) for r in results for c in r.checks if not c.ok]
    if failed:
        lines += ["", "Thresholds failed:", ""]
        lines += [f"- {_name(r)}: {c.name}: {c.detail}" for r, c in failed]
    return "\n".join(lines) + "\n"


def _name(r: Evaluation) -> str:
    return f"{r.order} ({r.scorecard} scorecard)" if r.scorecard else r.order


def print_results(results: list[Evaluation], console: Console, title: str) -> None:
    for scorecard, group in by_scorecard(results).items():
        table = Table(title=f"{title}: {scorecard} scorecard live" if scorecard else title)
        table.add_column("measure")
        for r in group:
            table.add_column(r.order)
        for row in table_rows(group):
            table.add_row(*row)
        console.print(table)
    for r in results:
        for c in r.checks:
            mark = "[green]PASS[/]" if c.ok else "[red]FAIL[/]"
            console.print(f"{mark} {_name(r)}: {c.name} ({c.detail})", highlight=False)


def as_json(r: Evaluation) -> dict[str, Any]:
    def scores(view: dict[str, Any]) -> dict[str, Any]:
        return {
            p: {
                "precision": s.precision,
                "recall": s.recall,
                "tp": s.tp,
                "fp": s.fp,
                "fn": s.fn,
                "false_alarms": list(s.false_alarms),
                "missed": list(s.missed),
            }
            for p, s in view.items()
        }

    return {
        "order": r.order,
        "scorecard": r.scorecard,
        "passed": r.passed,
        "seconds": r.seconds,
        "bands": {cohort: dict(counts) for cohort, counts in r.bands.items()},
        "open_at_end": scores(r.at_end),
        "opened_along_the_way": scores(r.ever),
        "episodes_per_account": {
            cohort: {p: {"mean": m, "max": x} for p, (m, x) in by.items()}
            for cohort, by in r.per_account.items()
        },
        "stale_episodes": [_emitted(e) for e in r.stale],
        # what the pipeline emitted for each account behind a failed threshold
        "suspects": {
            a: {
                "band": r.final_bands.get(a),
                "emitted": [
                    _emitted(e) for e in sorted(r.emitted, key=lambda e: e.at) if e.account_id == a
                ],
            }
            for a in suspects(r)
        },
        "point_in_time": None
        if r.point_in_time is None
        else {
            "true": r.point_in_time.true,
            "total": r.point_in_time.total,
            "false": r.point_in_time.false,
        },
        "default_scorecard_equals_model": None
        if r.equivalence is None
        else r.equivalence.as_json(),
        "segments": None if r.segments is None else r.segments.as_json(),
        "live_version": r.live_version,
        "scored_by": r.scored_by,
        "late_events": r.late_events,
        "held_back": r.held_back,
        "webhooks": {"received": r.webhooks[0], "verified": r.webhooks[1]},
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in r.checks],
    }


def _emitted(e: Emitted) -> dict[str, str]:
    return {
        "account_id": e.account_id,
        "playbook": e.playbook,
        "at": e.at.isoformat(),
        "received_at": e.received_at.isoformat(),
        "reason": e.reason,
    }
