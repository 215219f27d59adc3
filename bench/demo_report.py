"""What the demo shows at the end: results next to the ground truth, and checks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.settings.common import TopicNames
from tests.support.drain import count_records
from tests.support.evaluation.collect import observe
from tests.support.evaluation.equivalence import Equivalence, default_equals_model
from tests.support.evaluation.report import print_results
from tests.support.evaluation.score import Evaluation, evaluate
from tests.support.evaluation.truth import truth_of
from tests.support.receiver import Receiver
from tests.support.services import Service
from tests.support.workload import COHORTS, Workload

BANDS = ("green", "yellow", "red")


@dataclass
class Report:
    by_segment: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_cohort: Counter[tuple[str, str]] = field(default_factory=Counter)
    playbooks: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    delivered: int = 0
    received: int = 0
    verified: int = 0
    dead_letters: int = 0
    urls: dict[str, str] = field(default_factory=dict)
    evaluation: Evaluation | None = None  # the `make evaluate` table for this run
    # the default scorecard against the built-in model on each account's stored state
    equivalence: Equivalence | None = None


async def collect_report(
    engine: AsyncEngine,
    bootstrap: str,
    topics: TopicNames,
    workload: Workload,
    receiver: Receiver,
    services: dict[str, Service],
    canceled: frozenset[str] = frozenset(),
) -> Report:
    report = Report()
    cohort = {a.account_id: a.cohort for a in workload.accounts}
    async with engine.connect() as conn:
        bands = {
            r.account_id: (r.band, r.segment)
            for r in await conn.execute(
                text("SELECT account_id, band, segment FROM accounts WHERE band IS NOT NULL")
            )
        }
        opened = await conn.execute(
            # held-back episodes were never announced: not "fired"
            text(
                "SELECT account_id, playbook, closed_at IS NULL AS open FROM playbook_episodes"
                " WHERE status <> 'held_back'"
            )
        )
        episodes = [(r.account_id, r.playbook, r.open) for r in opened]
        report.delivered = int(
            await conn.scalar(
                text("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'")
            )
            or 0
        )
    for account_id, (band, segment) in bands.items():
        report.by_segment[(segment, band)] += 1
        report.by_cohort[(cohort.get(account_id, "?"), band)] += 1
    for _account, playbook, is_open in episodes:
        report.playbooks[(playbook, "open" if is_open else "resolved")] += 1
    at_risk = {a for a, p, _ in episodes if p == "at_risk"}
    for account_id, kind in cohort.items():
        band = bands.get(account_id, ("missing", ""))[0]
        if kind == "churning" and (band != "red" or account_id not in at_risk):
            report.failures.append(
                f"churning {account_id} is {band}, at_risk={account_id in at_risk}"
            )
        if kind == "healthy" and (band != "green" or account_id in at_risk):
            report.failures.append(
                f"healthy {account_id} is {band}, at_risk={account_id in at_risk}"
            )
    ids = {r.webhook_id: r.verified for r in receiver.accepted}
    report.received, report.verified = len(ids), sum(ids.values())
    report.dead_letters = await count_records(bootstrap, topics.dlq)
    report.urls = {name: s.url for name, s in services.items()}
    urls = {name: s.url for name, s in services.items()}
    seen = await observe(engine, bootstrap, topics.playbook_events, receiver, urls)
    truth = truth_of(workload)
    # the demo cancels some accounts (score trust's outcomes): a canceled subscription has no
    # renewal or onboarding to run, whatever its cohort says, so those labels are left open
    for playbook in ("renewal", "onboarding", "onboarding_stalled"):
        labels = truth.labels.get(playbook, {})
        for account_id in canceled:
            labels.pop(account_id, None)
    report.equivalence = await default_equals_model(engine, len(cohort))
    report.evaluation = evaluate(
        "demo", truth, seen, timedelta(hours=24), equivalence=report.equivalence
    )
    return report


def print_report(report: Report, console: Console) -> bool:
    console.print(
        _bands_table(
            "accounts by segment and band",
            report.by_segment,
            ("enterprise", "mid_market", "smb", "self_serve"),
        )
    )
    console.print(
        _bands_table("accounts by cohort (ground truth) and band", report.by_cohort, COHORTS)
    )
    playbooks = Table(title="playbooks fired (episodes)")
    for column in ("playbook", "still open", "resolved"):
        playbooks.add_column(column)
    for name in sorted({p for p, _ in report.playbooks}):
        playbooks.add_row(
            name, str(report.playbooks[(name, "open")]), str(report.playbooks[(name, "resolved")])
        )
    console.print(playbooks)
    console.print(
        f"webhooks: {report.delivered} deliveries delivered, {report.received} distinct "
        f"ids received, {report.verified} verified with standardwebhooks"
    )
    console.print(f"dead-letter topic: {report.dead_letters} rejected events (ingest.dlq)")
    if report.evaluation is not None:
        print_results([report.evaluation], console, "against the ground truth (as `make evaluate`)")
    for name, url in report.urls.items():
        console.print(f"{name}: API {url}/v1  OpenAPI {url}/docs  metrics {url}/metrics")
    checks = [
        (
            "every churning account is red and got an at_risk playbook",
            not any(f.startswith("churning") for f in report.failures),
        ),
        (
            "every healthy account is green with no at_risk playbook",
            not any(f.startswith("healthy") for f in report.failures),
        ),
        ("every webhook verified", report.received > 0 and report.verified == report.received),
    ]
    same = report.equivalence
    if same is not None:
        checks.append(
            (
                f"default scorecard equals the model on {same.same} of {same.population} accounts",
                same.ok,
            )
        )
    for text_, ok in checks:
        console.print(f"[{'green' if ok else 'red'}]{'PASS' if ok else 'FAIL'}[/] {text_}")
    for failure in report.failures[:20]:
        console.print(f"    {failure}")
    for different in same.different if same is not None else []:
        console.print(f"    {different}")
    return all(ok for _, ok in checks)


def _bands_table(title: str, counts: Counter[tuple[str, str]], rows: tuple[str, ...]) -> Table:
    table = Table(title=title)
    table.add_column("")
    for band in BANDS:
        table.add_column(band, justify="right")
    for row in rows:
        table.add_row(row, *(str(counts[(row, band)]) for band in BANDS))
    return table
