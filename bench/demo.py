"""`make demo`: the whole system on a realistic workload, end to end, then a summary.

Starts a throwaway Kafka + PostgreSQL stack (``.vigil/demo``), the three
services, and a webhook receiver that verifies every signature; simulates
accounts in five cohorts over 90 days; waits until everything has drained;
prints what the system concluded next to the ground truth; stops it all
(``--keep-running`` leaves it up).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.demo_feedback import feedback, print_feedback, work_the_queue
from bench.demo_report import Report, collect_report, print_report
from bench.demo_trust import TrustSummary, print_trust, run_trust
from bench.outcomes import cancellation_events, plan_outcomes
from bench.simulate import produce_invalid, produce_workload
from shared import stack
from shared.database.engine import create_engine, migrate
from shared.kafka.clients import ensure_topics
from shared.settings.common import TopicNames
from shared.stack.process import stop_process
from tests.support.drain import Backlog, kafka_group_lag, wait_drained
from tests.support.receiver import Receiver, serving
from tests.support.services import Service
from tests.support.workload import make_workload

REPO = Path(__file__).resolve().parent.parent
GROUPS = {"ingest": "vigil-ingest", "scoring": "vigil-scoring", "triggers": "vigil-triggers"}
console = Console()


@dataclass(frozen=True)
class Options:
    accounts: int
    days: int
    seed: int
    keep_running: bool
    stop: bool = False


def parse(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-running", action="store_true", help="leave everything running")
    parser.add_argument("--stop", action="store_true", help="stop what --keep-running left")
    args = parser.parse_args(argv)
    return Options(args.accounts, args.days, args.seed, args.keep_running, args.stop)


def step(n: int, text: str) -> None:
    console.print(f"[bold cyan]{n}/7[/] {text}")


async def run(options: Options) -> bool:
    config = demo_config()
    step(1, "starting Apache Kafka (KRaft) and PostgreSQL")
    await asyncio.to_thread(stack.down, config)
    info = await asyncio.to_thread(stack.up, config, echo=lambda line: console.print(f"    {line}"))
    await asyncio.to_thread(migrate, info.database_url)
    topics = TopicNames()
    await ensure_topics(info.kafka_bootstrap, topics.model_dump().values())
    token = secrets.token_urlsafe(32)
    logs = config.stack_dir / "logs"
    logs.mkdir(exist_ok=True)
    env = {
        "VIGIL_KAFKA_BOOTSTRAP": info.kafka_bootstrap,
        "VIGIL_DATABASE_URL": info.database_url,
        "VIGIL_API_TOKEN": token,
        "VIGIL_SECRETS_KEY": Fernet.generate_key().decode(),
        "VIGIL_CLOCK_ENABLED": "false",
        # the demo moves the clocks through 90 simulated days, far from the wall clock
        "VIGIL_CLOCK_ANY_TIME": "true",
        # and its present is the simulated day, not the wall clock: with the default lateness
        # every day reads as history, the sparsest source's partition holds the bound behind
        # each active account's latest event, and no account is judged (no score history to
        # measure accuracy on) until the very end
        "VIGIL_ALLOWED_LATENESS_S": str((options.days + 1) * 86_400),
        "VIGIL_WEBHOOKS__ALLOW_HTTP": "true",
        "VIGIL_WEBHOOKS__ALLOWLIST": '["127.0.0.1"]',
    }
    services = {
        name: Service(name, env, logs / f"{name}.log") for name in ("ingest", "scoring", "triggers")
    }
    console_ = _console(services, logs)
    receiver = Receiver()
    try:
        step(2, "starting ingest, scoring and triggers, the console, and a webhook receiver")
        for service in [*services.values(), console_]:
            service.start()
        everything = {**services, "console": console_}
        (config.stack_dir / "services.json").write_text(
            json.dumps({name: s.process.pid for name, s in everything.items() if s.process})
        )
        for service in everything.values():
            await asyncio.to_thread(service.wait_ready)
        async with serving(receiver):
            report, trust, worked = await _drive(
                options,
                info.kafka_bootstrap,
                info.database_url,
                topics,
                token,
                services,
                receiver,
                config,
            )
        step(7, "summary")
        passed = print_report(report, console)
        checks = print_trust(trust, console)
        print_feedback(worked[1], worked[0], console)  # beside the AUC: can we trust it?
        for text_, ok in checks:
            console.print(f"[{'green' if ok else 'red'}]{'PASS' if ok else 'FAIL'}[/] {text_}")
            passed = passed and ok
        return passed
    finally:
        if options.keep_running:
            _print_running(services, token, info)
            console.print(f"    console: {console_.url}  (sign in with the API token)")
        else:
            for service in [*services.values(), console_]:
                service.stop()
            await asyncio.to_thread(stack.down, config)
            console.print("stopped the services and the stack (use --keep-running to keep them)")


async def _drive(
    options: Options,
    bootstrap: str,
    database_url: str,
    topics: TopicNames,
    token: str,
    services: dict[str, Service],
    receiver: Receiver,
    config: stack.StackConfig,
) -> tuple[Report, TrustSummary, tuple[int, list[dict[str, Any]]]]:
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=auth, timeout=120) as client:
        response = await client.post(
            f"{services['triggers'].url}/v1/webhooks/subscriptions",
            json={
                "url": receiver.url,
                "event_types": ["playbook.triggered", "playbook.resolved", "health.changed"],
            },
        )
        response.raise_for_status()
        receiver.secrets.append(response.json()["secret"])
        step(3, f"simulating {options.accounts} accounts over {options.days} days")
        workload = make_workload(
            options.accounts, options.days, seed=options.seed, end=datetime.now(UTC)
        )
        truth = config.stack_dir / "ground-truth.json"
        truth.write_text(json.dumps(workload.ground_truth(), indent=1))
        plan = plan_outcomes(workload, seed=options.seed)
        produced = await produce_workload(
            workload,
            bootstrap,
            topics,
            seed=options.seed,
            after_each_day=lambda: _ingest_caught_up(bootstrap, topics),
            extra=cancellation_events(workload, plan),
        )
        invalid = await produce_invalid(bootstrap, topics, count=25)
        console.print(f"    produced {produced} events and {invalid} invalid ones")
        engine = create_engine(database_url, pool_size=2)
        try:
            step(4, "waiting for the pipeline to drain")
            await _drain(engine, bootstrap, topics)
            step(5, "the clock: re-scoring every account at the end of the simulated period")
            end = workload.end.isoformat()
            (
                await client.post(
                    f"{services['scoring'].url}/v1/clock/rescore", params={"as_of": end}
                )
            ).raise_for_status()
            await _drain(engine, bootstrap, topics)
            (
                await client.post(f"{services['triggers'].url}/v1/clock/tick", params={"now": end})
            ).raise_for_status()
            await _drain(engine, bootstrap, topics)
            step(6, "collecting the results; outcomes, accuracy, a shadow model, CSM feedback")
            canceled = frozenset(p.account_id for p in plan if p.kind == "churn")
            report = await collect_report(
                engine, bootstrap, topics, workload, receiver, services, canceled
            )
            trust = await run_trust(
                client,
                services["scoring"].url,
                database_url,
                plan,
                workload.end,
                REPO / ".vigil" / "demo-accuracy.png",  # outside the stack dir: kept
            )
            # a CSM team works the queue (after the accuracy, which the closes do not touch)
            triggers = services["triggers"].url
            cohorts = workload.ground_truth()
            closed = await work_the_queue(client, triggers, cohorts, options.seed)
            return report, trust, (closed, await feedback(client, triggers))
        finally:
            await engine.dispose()


def _console(services: dict[str, Service], logs: Path) -> Service:
    """The console, over the three services' HTTP APIs (it needs no database or token)."""
    env = {f"VIGIL_{name.upper()}_URL": s.url for name, s in services.items()}
    env["VIGIL_CONSOLE_SESSION_KEY"] = secrets.token_urlsafe(32)
    return Service("console", env, logs / "console.log")


async def _ingest_caught_up(bootstrap: str, topics: TopicNames, timeout_s: float = 60) -> None:
    raw = [topics.usage, topics.ticket, topics.payment, topics.survey]
    deadline = time.monotonic() + timeout_s
    while await kafka_group_lag(bootstrap, GROUPS["ingest"], raw) > 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"ingest did not catch up within {timeout_s:.0f}s")
        await asyncio.sleep(0.05)


async def _drain(engine: AsyncEngine, bootstrap: str, topics: TopicNames) -> None:
    with console.status("draining…") as status:

        def show(b: Backlog) -> None:
            status.update(
                f"backlog: ingest {b.ingest}, scoring {b.scoring}, triggers "
                f"{b.triggers}, outbox {b.outbox}, webhooks {b.webhooks}"
            )

        took = await wait_drained(engine, bootstrap, topics.model_dump(), GROUPS, report=show)
    console.print(f"    drained in {took:.1f}s")


def _print_running(services: dict[str, Service], token: str, info: stack.StackInfo) -> None:
    console.print("[bold]still running[/] (stop with `make demo-stop`):")
    console.print(f"    ground truth: {REPO / '.vigil' / 'demo' / 'ground-truth.json'}")
    for name, service in services.items():
        console.print(f"    {name}: {service.url}/docs  {service.url}/metrics")
    console.print(f"    API token: {token}")
    console.print(f"    Kafka {info.kafka_bootstrap}, PostgreSQL {info.database_url}")


def demo_config() -> stack.StackConfig:
    base = stack.StackConfig.from_env(REPO)
    return stack.StackConfig(
        REPO / ".vigil" / "demo", base.kafka_version, base.kafka_home, base.kafka_cache
    )


def stop_demo() -> None:
    """Stop the services and the stack a ``--keep-running`` demo left."""
    config = demo_config()
    pids = config.stack_dir / "services.json"
    if pids.exists():
        for name, pid in json.loads(pids.read_text()).items():
            stop_process(pid, timeout_s=15)
            console.print(f"stopped {name} (pid {pid})")
        pids.unlink()
    stack.down(config, echo=console.print)


def main(argv: list[str] | None = None) -> None:
    options = parse(argv)
    if options.stop:
        stop_demo()
        return
    sys.exit(0 if asyncio.run(run(options)) else 1)


if __name__ == "__main__":
    main()
