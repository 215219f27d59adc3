"""Deleting the rows of an account over its state caps (``services.scoring.domain.caps``)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.domain.caps import Evicted, keys_of
from shared.database.engine import unnest

# table, its row id column, the Evicted attribute
TABLES = (
    ("account_features", "feature", "features"),
    ("tickets", "ticket_id", "tickets"),
    ("invoices", "invoice_id", "invoices"),
)


async def evict(session: AsyncSession, evicted: Evicted) -> None:
    """One set-based DELETE per table with rows to evict; none when nothing is over a cap."""
    for table, column, attribute in TABLES:
        keys = getattr(evicted, attribute)
        if not keys:
            continue
        accounts, ids = keys_of(keys)
        rows, params = unnest(a=("text", accounts), k=("text", ids))
        await session.execute(
            text(
                f"DELETE FROM {table} t USING {rows}"
                f" AS e(account_id, k) WHERE t.account_id = e.account_id AND t.{column} = e.k"
            ),
            params,
        )
