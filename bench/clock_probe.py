"""One clock re-score of every account, in a process of its own: prints seconds and peak RSS."""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from pathlib import Path

from services.scoring.clock import rescore_plan
from services.scoring.config import ScoringSettings
from services.scoring.metrics import ScoringMetrics
from services.scoring.model_config import HealthModelConfig
from services.scoring.scorer import Scorer
from shared.clock import ChunkedClock, utc_now
from shared.config_store import VersionedConfig
from shared.db import create_engine, create_sessionmaker, transaction
from shared.metrics import new_registry

STATE_SQL = [
    "INSERT INTO accounts (account_id, first_seen_at, last_event_at, arr, seats, started_at,"
    " renewal_at) SELECT 'acct-' || g, now() - interval '300 days',"
    " now() - (g % 20) * interval '1 day', (g % 200000)::numeric, 5 + g % 50,"
    " now() - interval '300 days', (now() + (g % 365) * interval '1 day')::date"
    " FROM generate_series(1, :n) g",
    "INSERT INTO daily_activity SELECT 'acct-' || g, (now() - d * interval '1 day')::date,"
    " 5 + g % 7, 10 FROM generate_series(1, :n) g, generate_series(0, 27, 7) d",
    "INSERT INTO account_users SELECT 'acct-' || g, 'u' || u, now() - interval '60 days',"
    " now() - ((g + u) % 20) * interval '1 day' FROM generate_series(1, :n) g,"
    " generate_series(1, 2) u",
    "INSERT INTO account_features SELECT 'acct-' || g, 'f' || f, now() - interval '60 days',"
    " now() - ((g + f) % 40) * interval '1 day', 10 FROM generate_series(1, :n) g,"
    " generate_series(1, 3) f",
    "ANALYZE",
]


async def fill(database_url: str, accounts: int) -> None:
    """State for ``accounts`` accounts, made set-based by the database itself."""
    from sqlalchemy import text

    engine = create_engine(database_url, pool_size=1)
    try:
        for sql in STATE_SQL:
            async with engine.begin() as conn:
                await conn.execute(text(sql), {"n": accounts} if ":n" in sql else {})
    finally:
        await engine.dispose()


async def rescore(database_url: str, chunk: int) -> dict[str, float]:
    engine = create_engine(database_url, pool_size=2)
    sessions = create_sessionmaker(engine)
    metrics = ScoringMetrics.create(new_registry("scoring"))
    store = VersionedConfig("scoring_config", HealthModelConfig)
    async with transaction(sessions) as session:
        await store.refresh(session)
    scorer = Scorer(store, metrics, topic="health.changes", step=5)
    settings = ScoringSettings(database_url=database_url, clock_chunk_size=chunk)
    clock = ChunkedClock(engine, sessions, rescore_plan(scorer), settings, now=utc_now)
    started = time.perf_counter()
    try:
        count = await clock.run_pass(utc_now())
    finally:
        await engine.dispose()
    return {
        "accounts": count,
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> float:
    """This process's own peak resident memory.

    Not ``getrusage().ru_maxrss``: Linux carries the parent's RSS into it at
    exec, so a probe started from the big benchmark process reported that.
    ``VmHWM`` belongs to the address space exec created.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--fill", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=2000)
    args = parser.parse_args()
    if args.fill:
        asyncio.run(fill(args.database, args.fill))
        return
    print(json.dumps(asyncio.run(rescore(args.database, args.chunk))))  # noqa: T201


if __name__ == "__main__":
    main()
