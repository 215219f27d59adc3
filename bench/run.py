"""`make bench`: throughput ratios, latency, memory and scale-out, measured side by side.

Everything runs on one machine in one run, against a throwaway stack of its
own (``.vigil/bench``); each figure is the median of ``--runs`` runs (min and
max beside it). Writes ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench import (
    baseline,
    console_bench,
    curve,
    latency,
    scoring_soak,
    side_by_side,
    soak_report,
    throughput,
)
from bench.measure import Stat
from bench.scorecards import wide_scorecard
from bench.table import table
from services.ingest.domain.validation import to_signal, validate_object
from services.scoring.scorecard.document import Scorecard
from shared import stack
from shared.contracts import signal_to_json
from shared.database.engine import create_engine
from shared.kafka.clients import ensure_topics, key_bytes, make_producer, send_all, stop_bounded
from shared.settings.common import TopicNames
from tests.support.databases import create_database
from tests.support.evaluation.custom import store_live
from tests.support.workload import events, make_workload

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "latest.json"
CURVE_PNG = RESULTS.parent / "latency_curve.png"
SOAK_JSON, SOAK_PNG = RESULTS.parent / "soak.json", RESULTS.parent / "soak.png"
ROWS = ("throughput", "latency", "curve", "memory", "console", "scorecard")
# the naive baseline commits once per event (~25 ms each): a sample is enough for its rate
NAIVE_EVENTS = 1000


def say(text: str) -> None:
    print(text, flush=True)  # noqa: T201


class Bench:
    def __init__(self, info: stack.StackInfo, logs: Path, runs: int, peer_python: str) -> None:
        self.info = info
        self.peer_python = peer_python
        self.logs = logs
        self.runs = runs
        self.results: dict[str, Any] = {}

    async def database(self) -> str:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        return await create_database(self.info.database_url, name)

    async def repeat(self, name: str, run: Callable[[], Awaitable[float]]) -> Stat:
        return (await self.alternate({name: run}))[name]

    async def alternate(self, runs: dict[str, Callable[[], Awaitable[float]]]) -> dict[str, Stat]:
        """Each measurement once per round, in turn: figures compared as ratios then share
        the machine's slow and fast minutes (a shared machine's speed drifts by 2x)."""
        values: dict[str, list[float]] = {name: [] for name in runs}
        for i in range(self.runs):
            for name, run in runs.items():
                values[name].append(await run())
                say(f"    {name} run {i + 1}: {values[name][-1]:,.0f}")
        stats = {name: Stat.of(v) for name, v in values.items()}
        self.results.update({name: stat.as_dict() for name, stat in stats.items()})
        return stats


def topics(suffix: str) -> TopicNames:
    return TopicNames(**{k: f"bench.{v}.{suffix}" for k, v in TopicNames().model_dump().items()})


async def fill(bootstrap: str, messages: list[tuple[str, bytes, bytes]]) -> None:
    producer = make_producer(bootstrap, client_id="bench-fill", linger_ms=20)
    await producer.start()
    try:
        for start in range(0, len(messages), 20_000):
            await send_all(producer, messages[start : start + 20_000])
    finally:
        await stop_bounded(producer, 10)


async def prepare(bench: Bench, accounts: int, days: int) -> tuple[TopicNames, int, int]:
    """Raw events and their signals on pre-filled topics."""
    base = topics("data")
    await ensure_topics(bench.info.kafka_bootstrap, base.model_dump().values())
    end = datetime.now(UTC)
    workload = make_workload(accounts, days, seed=42, end=end)
    raw = sorted(events(workload, seed=42), key=lambda item: item[1]["occurred_at"])
    by_source = base.topic_of_source()
    await fill(
        bench.info.kafka_bootstrap,
        [(by_source[s], key_bytes(e["account_id"]), orjson.dumps(e)) for s, e in raw],
    )
    signals = [to_signal(validate_object(s, e, now=end), s, end) for s, e in raw]
    await fill(
        bench.info.kafka_bootstrap,
        [(base.signals, key_bytes(sig.account_id), signal_to_json(sig)) for sig in signals],
    )
    naive = topics("naive")
    await ensure_topics(bench.info.kafka_bootstrap, [naive.signals])
    await fill(
        bench.info.kafka_bootstrap,
        [
            (naive.signals, key_bytes(sig.account_id), signal_to_json(sig))
            for sig in signals[:NAIVE_EVENTS]
        ],
    )
    return base, len(raw), NAIVE_EVENTS


async def scoring_run(
    bench: Bench,
    base: TopicNames,
    total: int,
    *,
    instances: int = 1,
    topic: str | None = None,
    batch: int | None = None,
    scorecard: Scorecard | None = None,
) -> float:
    """Scoring alone over the prepared signals (or ``topic``'s first ``total``), events/s;
    ``scorecard``: live from the start, as the scorecard API stores it."""
    boot = bench.info.kafka_bootstrap
    own = topics(uuid.uuid4().hex[:6])
    await ensure_topics(boot, [own.health_changes])
    names = {"signals": topic or base.signals, "health_changes": own.health_changes}
    database = await bench.database()
    if scorecard is not None:
        engine = create_engine(database, pool_size=1)
        try:
            await store_live(engine, scorecard)
        finally:
            await engine.dispose()
    return await throughput.scoring(
        boot, database, names, total, bench.logs, instances=instances, batch_max_records=batch
    )


async def scorecard_row(bench: Bench, base: TopicNames, total: int) -> None:
    """Row 11 beside row 3, alternating: the default model, and a 30-measure scorecard."""
    say("3, 11. scoring: the default model and a 30-measure scorecard, in turn")
    wide = wide_scorecard()
    await bench.alternate(
        {
            "scoring_events_per_s": lambda: scoring_run(bench, base, total),
            "scoring_30_measures_events_per_s": lambda: scoring_run(
                bench, base, total, scorecard=wide
            ),
        }
    )


async def throughput_rows(bench: Bench, base: TopicNames, total: int, naive_total: int) -> None:
    boot = bench.info.kafka_bootstrap

    def scoring_once(
        instances: int = 1,
        topic: str | None = None,
        n: int = total,
        batch: int | None = None,
        scorecard: Scorecard | None = None,
    ) -> Awaitable[float]:
        return scoring_run(
            bench, base, n, instances=instances, topic=topic, batch=batch, scorecard=scorecard
        )

    say(
        "1, 3, 5, 11. ceiling (plain aiokafka consumer), scoring end to end with PostgreSQL,"
        " the same aggregation in Quix Streams, scoring with a 30-measure scorecard: in turn"
    )
    wide = wide_scorecard()
    await bench.alternate(
        {
            "ceiling_events_per_s": lambda: throughput.ceiling(boot, base.signals, total),
            "scoring_events_per_s": scoring_once,
            "scoring_30_measures_events_per_s": lambda: scoring_once(scorecard=wide),
            "quix_events_per_s": lambda: throughput.quix_peer(
                bench.peer_python, boot, base.signals, total
            ),
        }
    )

    async def ingest_once() -> float:
        out = topics(uuid.uuid4().hex[:6])
        await ensure_topics(boot, [out.signals, out.dlq])
        raw = {k: getattr(base, k) for k in ("usage", "ticket", "payment", "survey")}
        return await throughput.ingest(
            boot,
            bench.info.database_url,
            raw,
            {"signals": out.signals, "dlq": out.dlq},
            total,
            bench.logs,
        )

    say("2. ingest alone")
    await bench.repeat("ingest_events_per_s", ingest_once)
    say("4. naive baseline: one transaction per event")
    await bench.repeat(
        "naive_events_per_s",
        lambda: scoring_once(topic=topics("naive").signals, n=naive_total, batch=1),
    )
    say("8. two scoring instances on 4 partitions")
    await bench.repeat("scoring_2_instances_events_per_s", lambda: scoring_once(instances=2))


async def latency_row(bench: Bench) -> None:
    say("6. latency at 2,000 events/s")
    runs = []
    for i in range(bench.runs):
        own = topics(uuid.uuid4().hex[:6])
        await ensure_topics(bench.info.kafka_bootstrap, own.model_dump().values())
        result = await latency.measure(
            bench.info.kafka_bootstrap, await bench.database(), own.model_dump(), bench.logs
        )
        say(f"    run {i + 1}: {json.dumps(result)}")
        runs.append(result)
    bench.results["latency"] = {
        target: {q: Stat.of([r[target][q] for r in runs]).as_dict() for q in ("p50", "p95", "p99")}
        for target in ("health_changes", "webhooks")
    }
    bench.results["latency_stages"] = {
        stage: {q: Stat.of([r["stages"][stage][q] for r in runs]).as_dict() for q in ("p50", "p99")}
        for stage in ("event_to_signal", "signal_to_health_change")
    }


def stage(bench: Bench) -> side_by_side.Stage:
    """Where a baseline's rows and this tree's run alternately (bench/side_by_side.py)."""
    info = bench.info
    return side_by_side.Stage(info.kafka_bootstrap, info.database_url, bench.logs, bench.runs, say)


async def curve_row(bench: Bench, rates: list[float], seconds: float) -> None:
    say(f"9. latency against the offered rate ({seconds:g} s at each rate)")
    own = topics(uuid.uuid4().hex[:6])
    await ensure_topics(bench.info.kafka_bootstrap, own.model_dump().values())
    bench.results["curve"] = result = await curve.measure_curve(
        bench.info.kafka_bootstrap,
        await bench.database(),
        own.model_dump(),
        bench.logs,
        rates=rates,
        seconds=seconds,
        say=say,
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    say(f"    {curve.crossing_line(result)}; drawn in {curve.plot(result, CURVE_PNG)}")


async def soak(bench: Bench, options: scoring_soak.SoakOptions) -> None:
    """Not a row: a run of its own (``--soak``), written to soak.json and soak.png."""
    say(f"soak: {options.events:,} signals, {options.accounts:,} accounts, scoring alone")
    own = topics(uuid.uuid4().hex[:6])
    await ensure_topics(bench.info.kafka_bootstrap, own.model_dump().values())
    samples = await scoring_soak.soak(
        bench.info.kafka_bootstrap,
        await bench.database(),
        own.model_dump(),
        bench.logs,
        options,
        say,
    )
    for line in soak_report.write(options, samples, _machine(), SOAK_JSON, SOAK_PNG):
        say(line)


async def memory_rows(bench: Bench, sizes: list[int]) -> None:
    for size in sizes:
        say(f"7. clock re-score with {size:,} accounts of state")
        url = await bench.database()
        await asyncio.to_thread(_probe, url, ["--fill", str(size)])
        runs = [json.loads(await asyncio.to_thread(_probe, url, [])) for _ in range(bench.runs)]
        for run in runs:
            say(f"    {json.dumps(run)}")
        bench.results[f"clock_{size}"] = {
            "seconds": Stat.of([r["seconds"] for r in runs]).as_dict(),
            "peak_rss_mb": Stat.of([r["peak_rss_mb"] for r in runs]).as_dict(),
            "workers": runs[-1]["workers"],
            "coordinator_rss_mb": runs[-1]["coordinator_rss_mb"],
            "worker_rss_mb": runs[-1]["worker_rss_mb"],
        }


def _probe(url: str, extra: list[str]) -> str:
    """Run the clock probe in a process of its own; its last JSON line, if any."""
    return baseline.clock_probe(REPO, url, extra)


async def main_async(args: argparse.Namespace) -> None:
    base_config = stack.StackConfig.from_env(REPO)
    config = stack.StackConfig(
        REPO / ".vigil" / "bench",
        base_config.kafka_version,
        base_config.kafka_home,
        base_config.kafka_cache,
    )
    await asyncio.to_thread(stack.down, config)
    info = await asyncio.to_thread(stack.up, config, echo=say)
    logs = config.stack_dir / "logs"
    logs.mkdir(exist_ok=True)
    bench = Bench(info, logs, args.runs, args.peer_python)
    if args.soak:
        try:
            await soak(
                bench,
                scoring_soak.SoakOptions(args.soak_events, args.soak_accounts, args.sample_seconds),
            )
        finally:
            await asyncio.to_thread(stack.down, config)
        return
    try:
        say(f"preparing {args.accounts} accounts x {args.days} days of events")
        base, total, naive_total = await prepare(bench, args.accounts, args.days)
        say(f"    {total:,} events on the raw topics and as signals")
        bench.results["events"] = total
        if "throughput" in args.only and args.baseline:
            raw = {k: getattr(base, k) for k in ("usage", "ticket", "payment", "survey")}
            bench.results["throughput_baseline"] = await side_by_side.throughput(
                stage(bench), args.baseline, base.signals, raw, total
            )
        elif "throughput" in args.only:
            await throughput_rows(bench, base, total, naive_total)
        elif "scorecard" in args.only:
            await scorecard_row(bench, base, total)
        if "latency" in args.only and args.baseline:
            bench.results["latency_baseline"] = await side_by_side.latency(
                stage(bench), args.baseline
            )
        elif "latency" in args.only:
            await latency_row(bench)
        if "curve" in args.only:
            await curve_row(bench, args.curve_rates, args.curve_seconds)
        if "memory" in args.only and args.baseline:
            for size in args.sizes:
                bench.results[f"clock_baseline_{size}"] = await side_by_side.clock(
                    stage(bench), args.baseline, size
                )
        elif "memory" in args.only:
            await memory_rows(bench, args.sizes)
        if "console" in args.only:
            bench.results["console"] = await console_bench.row(
                bench.info.kafka_bootstrap,
                await bench.database(),
                bench.logs,
                args.console_accounts,
                say,
            )
    finally:
        await asyncio.to_thread(stack.down, config)
    rows = table(bench.results)
    machine = _machine()
    bench.results["machine"] = machine
    bench.results["when"] = datetime.now(UTC).isoformat()
    bench.results["table"] = rows
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(bench.results, indent=2))
    say(f"\nVigil benchmark ({machine}; median of {args.runs} runs)")
    for row in rows:
        say(row)
    say(f"written to {RESULTS}")


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count() or 0} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--peer-python", default=sys.executable, help="interpreter with quixstreams installed"
    )
    parser.add_argument("--accounts", type=int, default=200)
    # ~200k events: at 60 days (50k) a scoring run lasted 2 s and the ceiling's 0.6 s,
    # timed by 50 ms polls; 240 days gives runs of 3-7 s whose rate is flat past the first 25k
    parser.add_argument("--days", type=int, default=240)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--only",
        nargs="+",
        choices=ROWS,
        default=list(ROWS),
        help="run some of the rows (throughput: 1-5, 8 and 11, latency: 6, memory: 7, curve: 9,"
        " console: 10, scorecard: 3 and 11 alone)",
    )
    parser.add_argument(
        "--console-accounts", type=int, default=1_000_000, help="row 10: accounts seeded"
    )
    parser.add_argument(
        "--curve-rates", type=float, nargs="+", default=list(curve.RATES), help="row 9's rates"
    )
    parser.add_argument(
        "--curve-seconds", type=float, default=20, help="row 9: seconds of events at each rate"
    )
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="rows 2, 3 (with throughput), 6 (latency) and 7 (memory) of this git commit"
        " too, alternating with this tree's on one stack; the other rows are not run",
    )
    parser.add_argument(
        "--soak", action="store_true", help="only the soak: signals through scoring (not in CI)"
    )
    parser.add_argument("--soak-events", type=int, default=10_000_000)
    parser.add_argument("--soak-accounts", type=int, default=1000)
    parser.add_argument(
        "--sample-seconds", type=float, default=30, help="the soak's sampling interval"
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
