"""Storing overrides, and reading the ones in force for a set of accounts."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.domain.overrides import Override, override_summary

COLUMNS = (
    "override_id, account_id, kind, band, delta, component, reason, expires_at, created_at,"
    " created_by, removed_at, removed_by"
)


def override_of(row: Any) -> Override:
    return Override(
        override_id=str(row.override_id),
        account_id=row.account_id,
        kind=row.kind,
        band=row.band,
        delta=row.delta,
        component=row.component,
        reason=row.reason,
        expires_at=row.expires_at,
        created_at=row.created_at,
        created_by=row.created_by,
    )


async def insert_override(session: AsyncSession, override: Override) -> None:
    await session.execute(
        text(
            "INSERT INTO score_overrides (account_id, override_id, kind, band, delta, component,"
            " reason, expires_at, created_at, created_by)"
            " VALUES (:account_id, CAST(:override_id AS uuid), :kind, :band, :delta, :component,"
            " :reason, :expires_at, :created_at, :created_by)"
        ),
        {"account_id": override.account_id, **override_summary(override)},
    )


async def remove_override(
    session: AsyncSession, account_id: str, override_id: uuid.UUID, *, by: str, at: datetime
) -> bool:
    """Mark the override removed (kept for the audit); False when there is none to remove."""
    result = await session.execute(
        text(
            "UPDATE score_overrides SET removed_at = :at, removed_by = :by"
            " WHERE account_id = :a AND override_id = :o AND removed_at IS NULL"
            " RETURNING override_id"
        ),
        {"a": account_id, "o": override_id, "at": at, "by": by[:200]},
    )
    return result.first() is not None


async def account_overrides(
    session: AsyncSession, account_id: str, *, now: datetime, include_expired: bool
) -> list[Any]:
    """The account's overrides in force at ``now`` (or all of them), oldest first."""
    result = await session.execute(
        text(
            f"SELECT {COLUMNS} FROM score_overrides WHERE account_id = :a"
            " AND (CAST(:all AS boolean)"
            "      OR (removed_at IS NULL AND created_at <= :now AND expires_at > :now))"
            " ORDER BY created_at, override_id"
        ),
        {"a": account_id, "now": now, "all": include_expired},
    )
    return list(result.all())


async def active_overrides(
    session: AsyncSession, account_ids: Sequence[str], now: datetime
) -> dict[str, list[Override]]:
    """Per account, the overrides in force at ``now`` (one query for the set)."""
    result = await session.execute(
        text(
            f"SELECT {COLUMNS} FROM score_overrides"
            " WHERE account_id = ANY(CAST(:ids AS text[])) AND removed_at IS NULL"
            " AND created_at <= :now AND expires_at > :now"
        ),
        {"ids": list(account_ids), "now": now},
    )
    grouped: dict[str, list[Override]] = defaultdict(list)
    for row in result:
        grouped[row.account_id].append(override_of(row))
    return grouped


async def account_exists(session: AsyncSession, account_id: str) -> bool:
    result = await session.execute(
        text("SELECT 1 FROM accounts WHERE account_id = :a AND score IS NOT NULL"),
        {"a": account_id},
    )
    return result.first() is not None
