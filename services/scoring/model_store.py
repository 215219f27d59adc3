"""The versioned health-model config: stored in PostgreSQL, cached in memory."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.model_config import HealthModelConfig
from services.scoring.repository.scores import insert_config, latest_config
from shared.errors import Conflict


class ModelConfigStore:
    """Holds the current config; :meth:`refresh` picks up versions written elsewhere."""

    def __init__(self) -> None:
        self.version = 0
        self.current = HealthModelConfig()

    async def refresh(self, session: AsyncSession) -> HealthModelConfig:
        stored = await latest_config(session)
        if stored is None:
            await insert_config(session, 1, self.current.model_dump(mode="json"))
            self.version = 1
        elif stored[0] != self.version:
            self.version, self.current = stored[0], HealthModelConfig.model_validate(stored[1])
        return self.current

    async def update(self, session: AsyncSession, config: HealthModelConfig) -> int:
        """Store ``config`` as the next version; the caller's transaction commits it."""
        await self.refresh(session)
        version = self.version + 1
        if not await insert_config(session, version, config.model_dump(mode="json")):
            raise Conflict("the scoring config was updated concurrently; read it and retry")
        self.version, self.current = version, config
        return version
