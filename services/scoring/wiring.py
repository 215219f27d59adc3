"""The scoring core as the service and a clock worker process both open it: the database,
the model and shadow in force, the scorer and the watermark step."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from services.scoring.config import ScoringSettings
from services.scoring.domain.caps import StateCaps
from services.scoring.domain.config_check import check_health_config
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.live_scorecard import LiveScorecard, check_live
from services.scoring.metrics import ScoringMetrics
from services.scoring.scorer import Scorer
from services.scoring.trust.shadow import ShadowStore, TrustStep
from services.scoring.watermark_step import WatermarkStep
from shared.clock.chunks import Sessions
from shared.clock.periodic import Now, utc_now
from shared.database.config_store import VersionedConfig
from shared.database.engine import transaction
from shared.service import stateful


@dataclass(frozen=True)
class ScoringCore:
    engine: AsyncEngine
    sessions: Sessions
    model_store: VersionedConfig[HealthModelConfig]
    scorecard_store: VersionedConfig[LiveScorecard]
    shadow: ShadowStore
    scorer: Scorer
    watermarks: WatermarkStep


async def open_core(
    stack: AsyncExitStack, settings: ScoringSettings, metrics: ScoringMetrics, now: Now = utc_now
) -> ScoringCore:
    """Everything closes with ``stack``; the model and shadow are read from the database."""
    engine, sessions = stateful.open_database(stack, settings)
    model_store = await stateful.load_config(
        sessions, "scoring_config", HealthModelConfig, check_health_config
    )
    scorecard_store = await stateful.load_config(
        sessions, "scorecard_config", LiveScorecard, check_live
    )
    shadow = ShadowStore(metrics)
    async with transaction(sessions) as session:
        await shadow.refresh(session)
    scorer = Scorer(
        model_store,
        metrics,
        topic=settings.topics.health_changes,
        step=settings.change_step,
        hooks=TrustStep(shadow, metrics),
        caps=StateCaps(
            features=settings.max_features_per_account,
            open_tickets=settings.max_open_tickets_per_account,
            overdue_invoices=settings.max_overdue_invoices_per_account,
        ),
        clock=now,
        scorecard_store=scorecard_store,
    )
    watermarks = WatermarkStep(
        scorer,
        metrics,
        fresh_s=settings.watermark_fresh_s,
        lateness_s=settings.allowed_lateness_s,
        held_back_chunk=settings.held_back_chunk,
        now=now,
    )
    return ScoringCore(engine, sessions, model_store, scorecard_store, shadow, scorer, watermarks)
