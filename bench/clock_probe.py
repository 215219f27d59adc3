"""One clock re-score of every account, in a process of its own (and the worker processes
it splits into): prints seconds, the workers used and peak RSS, per process and in all."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time

from services.scoring.clock import standalone_plan
from services.scoring.config import ScoringSettings
from shared.clock.periodic import ChunkedClock, ClockObservers, utc_now
from shared.clock.workers import RangeResult, peak_rss_mb
from shared.database.engine import create_engine

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


async def rescore(database_url: str, chunk: int, workers: int) -> dict[str, object]:
    settings = ScoringSettings(
        database_url=database_url,
        clock_chunk_size=chunk,
        clock_workers=workers,
        db_pool_size=2,
        api_token="clock-probe-token-not-served-0123456789",  # required; no route is served
    )
    split: list[RangeResult] = []
    hooks = ClockObservers(on_split=split.extend)
    async with standalone_plan(settings) as (engine, sessions, plan):
        clock = ChunkedClock(engine, sessions, plan, settings, now=utc_now, hooks=hooks)
        started = time.perf_counter()
        count = await clock.run_pass(utc_now())
        seconds = time.perf_counter() - started
    own = peak_rss_mb()  # this process scored the first range of a split pass itself
    others = [part.peak_rss_mb for part in split[1:]]
    return {
        "accounts": count,
        "seconds": seconds,
        "workers": len(split) or 1,
        "peak_rss_mb": own + sum(others),
        "coordinator_rss_mb": own,
        "worker_rss_mb": others,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--fill", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if args.fill:
        asyncio.run(fill(args.database, args.fill))
        return
    print(json.dumps(asyncio.run(rescore(args.database, args.chunk, args.workers))))  # noqa: T201


if __name__ == "__main__":
    main()
