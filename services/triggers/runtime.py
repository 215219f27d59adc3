"""What the running triggers service holds, shared by its routes and loops, and the
typed dependency alias its routes take (the skeleton stores it on ``app.state``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends

from services.triggers.config import TriggersSettings
from services.triggers.domain.playbook_config import PlaybookConfig
from services.triggers.metrics import TriggersMetrics
from services.triggers.scorecard_playbooks import LivePlaybooks
from services.triggers.webhooks.dns import AsyncResolver
from services.triggers.webhooks.secrets import SecretBox
from services.triggers.webhooks.worker import DeliveryWorker
from shared.clock.periodic import Now
from shared.database.config_store import VersionedConfig
from shared.http.deps import get_runtime
from shared.report_cache import ReportCache
from shared.service.stateful import StatefulRuntime


@dataclass
class TriggersRuntime(StatefulRuntime):
    settings: TriggersSettings
    metrics: TriggersMetrics
    worker: DeliveryWorker
    rules: VersionedConfig[PlaybookConfig]
    playbooks: LivePlaybooks  # the live scorecard's custom playbooks
    now: Now
    box: SecretBox  # webhook secrets at rest
    lookup: AsyncResolver  # the URL policy's bounded resolver, at subscription and delivery
    reports: ReportCache = field(default_factory=ReportCache)  # the feedback report


RuntimeDep = Annotated[TriggersRuntime, Depends(get_runtime)]
