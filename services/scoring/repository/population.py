"""Read-only pages of account states, for tools that look at every account (no locks).

Each page is read in its own short transaction by the caller: a million accounts
never hold one snapshot (or one connection's worth of rows) at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.repository.reads import LOCKED_COLUMNS

COLUMNS = f"{LOCKED_COLUMNS}, segment, model_band"


async def accounts_page(session: AsyncSession, after: str | None, limit: int) -> list[Row[Any]]:
    """The next ``limit`` accounts in id order, as re-scoring reads them, without locking."""
    result = await session.execute(
        text(
            f"SELECT {COLUMNS} FROM accounts WHERE account_id > :after"
            " ORDER BY account_id LIMIT :limit"
        ),
        {"after": after or "", "limit": limit},
    )
    return list(result.all())


async def accounts_by_id(session: AsyncSession, account_ids: Sequence[str]) -> list[Row[Any]]:
    result = await session.execute(
        text(
            f"SELECT {COLUMNS} FROM accounts WHERE account_id = ANY(CAST(:ids AS text[]))"
            " ORDER BY account_id"
        ),
        {"ids": list(account_ids)},
    )
    return list(result.all())


async def account_count(session: AsyncSession) -> int:
    return int((await session.execute(text("SELECT count(*) FROM accounts"))).scalar_one())


async def latest_scoring_config(session: AsyncSession) -> dict[str, Any] | None:
    """The live model config as stored (None before the service first stored its defaults)."""
    row = (
        await session.execute(
            text("SELECT config FROM scoring_config ORDER BY version DESC LIMIT 1")
        )
    ).first()
    return None if row is None else dict(row[0])


async def latest_scorecard(session: AsyncSession) -> dict[str, Any] | None:
    """The live scorecard document as stored (None: none stored, or the built-in model)."""
    row = (
        await session.execute(
            text("SELECT config FROM scorecard_config ORDER BY version DESC LIMIT 1")
        )
    ).first()
    document = None if row is None else dict(row[0]).get("scorecard")
    return None if document is None else dict(document)


def scored_at(account: Any) -> datetime | None:
    """When the account's live score is from (its latest event when never scored)."""
    when: datetime | None = account.scored_as_of or account.last_event_at
    return when
