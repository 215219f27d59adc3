"""The scoring clock split across worker processes, on the real database: every account
scored exactly once, the same as a pass in one process; a failed worker fails the pass."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from services.scoring.clock import standalone_plan
from services.scoring.config import ScoringSettings
from shared.clock.periodic import ChunkedClock, ClockObservers
from shared.clock.workers import ClockWorkerFailed, RangeResult
from shared.database.engine import create_engine

pytestmark = pytest.mark.asyncio(loop_scope="session")

ACCOUNTS = 240
AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
AT = "timestamptz '2026-11-20 12:00+00'"  # AS_OF
ID = "'acct-' || lpad(g::text, 4, '0')"
STATE_SQL = [
    "INSERT INTO accounts (account_id, first_seen_at, last_event_at, arr, seats, started_at,"
    f" renewal_at) SELECT {ID}, {AT} - interval '300 days', {AT} - (g % 20) * interval '1 day',"
    f" (g * 997 % 200000)::numeric, 5 + g % 50, {AT} - interval '300 days',"
    f" ({AT} + (g % 365) * interval '1 day')::date FROM generate_series(1, :n) g",
    f"INSERT INTO daily_activity SELECT {ID}, ({AT} - d * interval '1 day')::date, g % 7, 10"
    " FROM generate_series(1, :n) g, generate_series(0, 27, 3 + g % 5) d",
    f"INSERT INTO account_users SELECT {ID}, 'u' || u, {AT} - interval '60 days',"
    f" {AT} - ((g + u) % 20) * interval '1 day'"
    " FROM generate_series(1, :n) g, generate_series(1, 1 + g % 4) u",
]
SCORED = (
    "SELECT account_id, score, band, segment, components, reasons, coverage, scored_as_of,"
    " health_revision, published_facts FROM accounts ORDER BY account_id"
)
CHANGES = (
    "SELECT h.account_id, h.event_id, h.score, count(*) OVER (PARTITION BY h.account_id) AS n"
    " FROM score_history h ORDER BY h.account_id"
)
OUTBOX = "SELECT account_id, payload FROM outbox ORDER BY account_id"


def settings_for(database_url: str, workers: int) -> ScoringSettings:
    return ScoringSettings(
        database_url=database_url,
        api_token="test-token-clock-split-0123456789abcdef0123456789",
        clock_chunk_size=10,  # 240 accounts: 3 workers of 8 chunks each
        clock_workers=workers,
        clock_enabled=False,
        db_pool_size=2,
    )


async def fill(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            for sql in STATE_SQL:
                await conn.execute(text(sql), {"n": ACCOUNTS})
    finally:
        await engine.dispose()


async def one_pass(database_url: str, workers: int) -> tuple[int, list[RangeResult]]:
    settings = settings_for(database_url, workers)
    split: list[RangeResult] = []
    hooks = ClockObservers(on_split=split.extend)
    async with standalone_plan(settings) as (engine, sessions, plan):
        clock = ChunkedClock(engine, sessions, plan, settings, now=lambda: AS_OF, hooks=hooks)
        return await clock.run_pass(AS_OF), split


async def rows(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(text(sql))]
    finally:
        await engine.dispose()


async def test_a_split_pass_scores_every_account_once_as_one_process_does(
    make_database,
) -> None:
    alone = await asyncio.to_thread(make_database)
    split = await asyncio.to_thread(make_database)
    await fill(alone)
    await fill(split)

    scored_alone, parts_alone = await one_pass(alone, workers=1)
    scored_split, parts = await one_pass(split, workers=3)

    assert parts_alone == []  # one process: no split
    assert scored_alone == scored_split == ACCOUNTS
    assert len(parts) == 3 and all(part.accounts > 0 for part in parts)
    assert sum(part.accounts for part in parts) == ACCOUNTS
    assert all(part.peak_rss_mb > 0 for part in parts)
    for sql in (SCORED, CHANGES, OUTBOX):
        assert await rows(split, sql) == await rows(alone, sql)
    changes = await rows(split, CHANGES)
    assert len(changes) == ACCOUNTS and {n for *_, n in changes} == {1}  # each exactly once


@asynccontextmanager
async def failing_worker(_settings: ScoringSettings) -> AsyncIterator[Any]:
    raise RuntimeError("this worker cannot start")
    yield  # an async generator, as a plan's worker is


async def test_a_failed_worker_fails_the_pass_and_skips_its_end(make_database) -> None:
    database = await asyncio.to_thread(make_database)
    await fill(database)
    settings = settings_for(database, workers=3)
    ended: list[datetime] = []

    async def at_end(_session: Any, as_of: datetime) -> None:
        ended.append(as_of)

    async with standalone_plan(settings) as (engine, sessions, plan):
        broken = dataclasses.replace(plan, worker=failing_worker, at_end=at_end)
        clock = ChunkedClock(engine, sessions, broken, settings, now=lambda: AS_OF)
        with pytest.raises(ClockWorkerFailed, match="cannot start"):
            await clock.run_pass(AS_OF)
        assert ended == []
        # the lock went with the failed pass: the next pass (in one process) takes it
        whole = dataclasses.replace(broken, bounds=None)
        again = ChunkedClock(engine, sessions, whole, settings, now=lambda: AS_OF)
        assert await again.run_pass(AS_OF) == ACCOUNTS
        assert ended == [AS_OF]
