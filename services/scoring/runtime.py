"""What the running scoring service holds, shared by its routes and loops, and the typed
dependency alias its routes take (the skeleton stores it on ``app.state``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.scoring.config import ScoringSettings
from services.scoring.metrics import ScoringMetrics
from services.scoring.model_config import HealthModelConfig
from shared.clock import ChunkedClock
from shared.config_store import VersionedConfig
from shared.db_consumer import DbOffsetsConsumer
from shared.deps import get_runtime
from shared.outbox import OutboxRelay


@dataclass
class ScoringRuntime:
    settings: ScoringSettings
    metrics: ScoringMetrics
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    consumer: DbOffsetsConsumer
    relay: OutboxRelay
    clock: ChunkedClock
    model_store: VersionedConfig[HealthModelConfig]


RuntimeDep = Annotated[ScoringRuntime, Depends(get_runtime)]
