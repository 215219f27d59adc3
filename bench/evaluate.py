"""`make evaluate`: the project measures itself against a labelled population.

Replays the demo's cohorts (``tests.support.workload``, with their ground truth) through
the real pipeline in several arrival orders (``tests.support.evaluation.orders``), each
order on topics, a database and consumer groups of its own, and prints per order: band
accuracy per cohort, precision and recall of each playbook, episodes per account, late
events, episodes opened for a state older than the horizon, and point-in-time truth
(every published health change against the live scorecard on the account's events up
to its time), and whether the default scorecard and the built-in model give the same
score and band on every account's stored state.

Every order runs twice, once per live scorecard (``tests.support.evaluation.custom``;
``--scorecards`` picks): the ``default`` scorecard stored as the live one (scored by the
scorecard engine, not the built-in model it equals), and a ``custom`` one: the default
plus API calls in 14 days (a usage type the default does not tell apart) and the
playbook ``integration_broken`` on it, which must open for exactly the accounts whose
API calls stopped three weeks before the end while their other use went on; and the
subscriptions' extra field ``region`` declared, segments ``apac_*`` on it and the
playbook ``integration_broken_apac`` for those segments only. Each account's last
published segment is checked against its region and ARR.
``scorecard-later`` (the built-in model, then the custom scorecard) runs once, with the
custom one. Writes ``bench/results/evaluate.json`` and ``bench/results/evaluate.md``
(a table per scorecard); exits 1 when a threshold fails (``--no-fail`` only reports).

Kafka and PostgreSQL: those of ``VIGIL_KAFKA_BOOTSTRAP`` and ``VIGIL_DATABASE_URL``
when both are set, else a stack of its own under ``.vigil/evaluate``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from sqlalchemy.engine import make_url

from shared import stack
from shared.settings.common import TopicNames
from tests.support.databases import create_database, drop_database
from tests.support.evaluation.custom import CUSTOM, SCORECARDS, TITLES, scorecard_named
from tests.support.evaluation.orders import LATER, ORDERS
from tests.support.evaluation.point_in_time import signals_of
from tests.support.evaluation.report import as_json, markdown, print_results
from tests.support.evaluation.run import Run, Target, run_order
from tests.support.evaluation.score import Evaluation
from tests.support.evaluation.truth import truth_of
from tests.support.workload import events, make_workload

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
console = Console()


@dataclass(frozen=True)
class Options:
    accounts: int
    days: int
    seed: int
    orders: tuple[str, ...]
    scorecards: tuple[str, ...]
    rate: float
    horizon_hours: float
    no_fail: bool
    keep_databases: bool


def parse(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="make evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=120)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--orders", nargs="+", choices=ORDERS, default=list(ORDERS))
    parser.add_argument(
        "--scorecards",
        nargs="+",
        choices=SCORECARDS,
        default=list(SCORECARDS),
        help="which scorecards to store as live, each order once per scorecard",
    )
    parser.add_argument("--rate", type=float, default=1000, help="live orders: events/s")
    parser.add_argument("--horizon-hours", type=float, default=24)
    parser.add_argument("--no-fail", action="store_true", help="report only, exit 0")
    parser.add_argument("--keep-databases", action="store_true")
    a = parser.parse_args(argv)
    return Options(
        a.accounts,
        a.days,
        a.seed,
        tuple(a.orders),
        tuple(a.scorecards),
        a.rate,
        a.horizon_hours,
        a.no_fail,
        a.keep_databases,
    )


def runs_of(options: Options) -> list[tuple[str, str]]:
    """(scorecard, order) in the order they run: every order once per scorecard, but
    ``scorecard-later``, which is the built-in model then the custom scorecard."""
    return [
        (card, order)
        for card in options.scorecards
        for order in options.orders
        if order != LATER or card == CUSTOM
    ]


async def evaluate_orders(
    options: Options, bootstrap: str, base_url: str, logs: Path
) -> list[Evaluation]:
    workload = make_workload(
        options.accounts, options.days, seed=options.seed, end=datetime.now(UTC), integrations=True
    )
    truth = truth_of(workload)
    items = list(events(workload, seed=options.seed))
    signals = signals_of(items)  # decoded once for every order's point-in-time check
    runs = runs_of(options)
    console.print(
        f"{options.accounts} accounts, {options.days} days, {len(items)} events; "
        f"runs: {', '.join(f'{order} ({card})' for card, order in runs)}"
    )
    results = []
    for name, order in runs:
        card = scorecard_named(name)  # live from the start (scorecard-later: applied after)
        horizon = timedelta(hours=options.horizon_hours)
        run = Run(order, workload, truth, items, options.rate, horizon, signals, card, name)
        async with fresh_database(base_url, keep=options.keep_databases) as database_url:
            suffix = f"{name[:3]}-{order}-{uuid.uuid4().hex[:6]}"
            topics = TopicNames(
                **{k: f"{v}.eval-{suffix}" for k, v in TopicNames().model_dump().items()}
            )
            target = Target(bootstrap, database_url, topics, logs, suffix)
            console.print(
                f"[bold cyan]{order}[/] ({name} scorecard): "
                f"database {make_url(database_url).database}"
            )
            results.append(await run_order(run, target, console.print))
        print_results(results[-1:], console, f"{order}")
    return results


@asynccontextmanager
async def fresh_database(base_url: str, *, keep: bool) -> AsyncIterator[str]:
    """A new, migrated database on the server of ``base_url``; dropped after unless ``keep``."""
    name = f"vigil_eval_{uuid.uuid4().hex[:10]}"
    url = await create_database(base_url, name)
    try:
        yield url
    finally:
        if not keep:
            await drop_database(base_url, name)


def write_results(results: list[Evaluation], options: Options, seconds: float) -> None:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    checks = sum(len(r.checks) for r in results)
    passed = sum(c.ok for r in results for c in r.checks)
    heading = (
        f"`make evaluate`, {options.accounts} accounts over {options.days} days "
        f"(seed {options.seed}, live at {options.rate:g} events/s), run {when}: "
        f"{len(results)} runs, {passed} of {checks} checks pass, {seconds / 60:.1f} min in all."
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "evaluate.md").write_text(markdown(results, heading, TITLES))
    (RESULTS / "evaluate.json").write_text(
        json.dumps(
            {
                "run": when,
                "seconds": seconds,
                "options": options.__dict__,
                "orders": [as_json(r) for r in results],
            },
            indent=1,
        )
    )
    console.print(f"results: {RESULTS / 'evaluate.md'} and evaluate.json")


async def main_async(options: Options) -> bool:
    bootstrap = os.environ.get("VIGIL_KAFKA_BOOTSTRAP")
    database_url = os.environ.get("VIGIL_DATABASE_URL")
    config = None
    if not (bootstrap and database_url):
        base = stack.StackConfig.from_env(REPO)
        config = stack.StackConfig(
            REPO / ".vigil" / "evaluate", base.kafka_version, base.kafka_home, base.kafka_cache
        )
        info = await asyncio.to_thread(stack.up, config, echo=lambda s: console.print(f"    {s}"))
        bootstrap, database_url = info.kafka_bootstrap, info.database_url
    started = time.monotonic()
    try:
        logs = REPO / ".vigil" / "evaluate-logs"
        results = await evaluate_orders(options, bootstrap, database_url, logs)
    finally:
        if config is not None:
            await asyncio.to_thread(stack.down, config)
    print_results(results, console, "make evaluate")
    write_results(results, options, time.monotonic() - started)
    return all(r.passed for r in results)


def main(argv: list[str] | None = None) -> None:
    options = parse(argv)
    passed = asyncio.run(main_async(options))
    sys.exit(0 if passed or options.no_fail else 1)


if __name__ == "__main__":
    main()
