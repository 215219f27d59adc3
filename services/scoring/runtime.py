"""What the running scoring service holds, shared by its routes and loops, and the typed
dependency alias its routes take (the skeleton stores it on ``app.state``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends

from services.scoring.config import ScoringSettings
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.live_scorecard import LiveScorecard
from services.scoring.metrics import ScoringMetrics
from services.scoring.scorer import Scorer
from services.scoring.trust.report_cache import ReportCache, StoredVersions
from services.scoring.trust.shadow import ShadowStore
from shared.clock.periodic import Now, utc_now
from shared.database.config_store import VersionedConfig
from shared.http.deps import get_runtime
from shared.service.stateful import Sessions, StatefulRuntime


@dataclass
class ScoringRuntime(StatefulRuntime):
    settings: ScoringSettings
    metrics: ScoringMetrics
    model_store: VersionedConfig[HealthModelConfig]
    scorecard_store: VersionedConfig[LiveScorecard]
    shadow: ShadowStore = field(default_factory=ShadowStore)
    # the routes' own small pool: requests never take the consumers' connections
    api_sessions: Sessions | None = None
    reports: ReportCache = field(default_factory=ReportCache)
    versions: StoredVersions = field(default_factory=StoredVersions)
    scorer: Scorer | None = None  # re-scores an account at once when an override changes
    now: Now = utc_now  # the service's clock, injected in tests (``NowDep``)


RuntimeDep = Annotated[ScoringRuntime, Depends(get_runtime)]
