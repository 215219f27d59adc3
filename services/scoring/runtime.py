"""What the running scoring service holds, shared by its routes and loops."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.scoring.clock import ClockRescorer
from services.scoring.config import ScoringSettings
from services.scoring.metrics import ScoringMetrics
from services.scoring.model_config import HealthModelConfig
from services.scoring.shadow import ShadowStore
from shared.config_store import VersionedConfig
from shared.db_consumer import DbOffsetsConsumer
from shared.outbox import OutboxRelay


@dataclass
class ScoringRuntime:
    settings: ScoringSettings
    metrics: ScoringMetrics
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    consumer: DbOffsetsConsumer
    relay: OutboxRelay
    clock: ClockRescorer
    model_store: VersionedConfig[HealthModelConfig]
    shadow: ShadowStore = field(default_factory=ShadowStore)
