"""Every account list the console asks scoring for reads about a page of rows, not a table.

Each query is the one ``GET /v1/accounts`` runs (captured from
``scores.list_accounts``), explained with ANALYZE on 20,000 seeded accounts: the rows
its plan reads and throws away stay within a few pages. Before the (band, score)
index, "red by descending score" walked the score index through every green and
yellow account.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, cast

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.repository import scores
from shared.database.engine import create_engine
from tests.support.accounts_seed import seed_accounts

LIMIT = 50
# (band, segment, sort): the console's filters and sorts
LISTS = [
    (None, None, "account_id"),
    ("red", None, "account_id"),
    (None, "smb", "account_id"),
    ("yellow", "enterprise", "account_id"),
    (None, None, "score"),
    (None, None, "-score"),
    ("red", None, "-score"),
    ("green", None, "score"),
    ("red", None, "score"),
    (None, "smb", "-score"),
    ("red", "smb", "score"),
]


class Capture:
    """Stands in for the session: keeps the statement and parameters it is given."""

    def __init__(self) -> None:
        self.sql = ""
        self.params: dict[str, Any] = {}

    async def execute(self, statement: Any, params: dict[str, Any]) -> Any:
        self.sql, self.params = str(statement), params

        class Empty:
            def all(self) -> list[Any]:
                return []

        return Empty()


def _discarded(plan: dict[str, Any]) -> int:
    own = int(plan.get("Rows Removed by Filter", 0))
    return own + sum(_discarded(p) for p in plan.get("Plans", []))


def _nodes(plan: dict[str, Any]) -> list[str]:
    return [plan["Node Type"], *(n for p in plan.get("Plans", []) for n in _nodes(p))]


@pytest.fixture(scope="module")
def seeded(make_database) -> str:
    url: str = make_database()
    asyncio.run(seed_accounts(url, 20_000))
    return url


def _prepared(sql: str, params: dict[str, Any]) -> tuple[str, str]:
    """PREPARE and EXECUTE statements for ``sql`` (``:name`` parameters)."""
    names = list(dict.fromkeys(re.findall(r"(?<!:):(\w+)", sql)))
    for i, name in enumerate(names, 1):
        sql = re.sub(rf"(?<!:):{name}\b", f"${i}", sql)
    values = ", ".join(_literal(params[n]) for n in names)
    return f"PREPARE listed AS {sql}", f"EXECUTE listed({values})"


def _literal(value: Any) -> str:
    return str(value) if isinstance(value, int | float) else "'" + str(value) + "'"


@pytest.mark.parametrize("plan_mode", ["force_custom_plan", "force_generic_plan"])
@pytest.mark.parametrize(("band", "segment", "sort"), LISTS)
async def test_each_list_reads_about_a_page(
    seeded: str, band, segment, sort, plan_mode: str
) -> None:
    """Also with the plan a prepared statement switches to after five runs (generic):
    "(:band IS NULL OR band = :band)" had one that read every green and yellow account."""
    capture = Capture()
    await scores.list_accounts(
        cast(AsyncSession, capture),
        band=band,
        segment=segment,
        sort=sort,
        limit=LIMIT,
        cursor=None,
    )
    engine = create_engine(seeded, pool_size=1)
    try:
        async with engine.connect() as conn:
            prepare, execute = _prepared(capture.sql, capture.params)
            await conn.execute(text(f"SET plan_cache_mode = {plan_mode}"))
            await conn.execute(text(prepare))
            explained = await conn.scalar(text("EXPLAIN (ANALYZE, FORMAT JSON) " + execute))
    finally:
        await engine.dispose()
    plan = (orjson.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
    assert "Seq Scan" not in _nodes(plan) and "Sort" not in _nodes(plan), _nodes(plan)
    assert _discarded(plan) <= 20 * LIMIT, (band, segment, sort, _discarded(plan))
