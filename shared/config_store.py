"""Versioned configuration kept in PostgreSQL (scoring model, playbook rules).

Each update is a new row ``(version, config)``; the highest version is in
force. Instances cache it and pick up versions written by others on refresh.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Conflict

M = TypeVar("M", bound=BaseModel)
TABLES = frozenset({"scoring_config", "playbook_config"})


class VersionedConfig(Generic[M]):
    def __init__(self, table: str, model: type[M]) -> None:
        if table not in TABLES:
            raise ValueError(f"not a config table: {table}")
        self._table = table
        self._model = model
        self.version = 0
        self.current: M = model()

    async def refresh(self, session: AsyncSession) -> M:
        """Load the version in force (storing the defaults as version 1 on first use)."""
        stored = await self._latest(session)
        if stored is None:
            await self._insert(session, 1, self.current.model_dump(mode="json"))
            self.version = 1
        elif stored[0] != self.version:
            self.version, self.current = stored[0], self._model.model_validate(stored[1])
        return self.current

    async def update(self, session: AsyncSession, config: M) -> int:
        """Store ``config`` as the next version; the caller's transaction commits it."""
        await self.refresh(session)
        version = self.version + 1
        if not await self._insert(session, version, config.model_dump(mode="json")):
            raise Conflict("the configuration was updated concurrently; read it and retry")
        self.version, self.current = version, config
        return version

    async def _latest(self, session: AsyncSession) -> tuple[int, dict[str, Any]] | None:
        row = (
            await session.execute(
                text(f"SELECT version, config FROM {self._table} ORDER BY version DESC LIMIT 1")
            )
        ).first()
        return (int(row[0]), dict(row[1])) if row else None

    async def _insert(self, session: AsyncSession, version: int, config: dict[str, Any]) -> bool:
        result = await session.execute(
            text(
                f"INSERT INTO {self._table} (version, config) VALUES (:v, CAST(:c AS jsonb))"
                " ON CONFLICT DO NOTHING RETURNING version"
            ),
            {"v": version, "c": orjson.dumps(config).decode()},
        )
        return result.first() is not None
