"""What the running scoring service holds, shared by its routes and loops, and the typed
dependency alias its routes take (the skeleton stores it on ``app.state``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.scoring.config import ScoringSettings
from services.scoring.metrics import ScoringMetrics
from services.scoring.model_config import HealthModelConfig
from shared.config_store import VersionedConfig
from shared.deps import get_runtime
from shared.stateful import StatefulRuntime


@dataclass
class ScoringRuntime(StatefulRuntime):
    settings: ScoringSettings
    metrics: ScoringMetrics
    model_store: VersionedConfig[HealthModelConfig]


RuntimeDep = Annotated[ScoringRuntime, Depends(get_runtime)]
