"""What the running triggers service holds, shared by its routes and loops."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.triggers.clock import TriggersClock
from services.triggers.config import TriggersSettings
from services.triggers.metrics import TriggersMetrics
from services.triggers.rules_config import PlaybookConfig
from services.triggers.webhooks.secrets import SecretBox
from services.triggers.webhooks.url_policy import Resolver
from services.triggers.webhooks.worker import DeliveryWorker
from shared.config_store import VersionedConfig
from shared.db_consumer import DbOffsetsConsumer
from shared.outbox import OutboxRelay


@dataclass
class TriggersRuntime:
    settings: TriggersSettings
    metrics: TriggersMetrics
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    consumer: DbOffsetsConsumer
    relay: OutboxRelay
    clock: TriggersClock
    worker: DeliveryWorker
    rules: VersionedConfig[PlaybookConfig]
    box: SecretBox  # webhook secrets at rest
    resolve: Resolver  # the URL policy's resolver, at subscription and at delivery
