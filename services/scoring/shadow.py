"""The shadow model on the scoring path: scored beside the live one, stored, never published.

``ShadowStore`` caches the active candidate (or None: then the hot path pays
one attribute check). ``TrustHooks`` is what the scorer calls per batch: the
shadow scores and the outcomes the accounts' facts imply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.account_state import AccountState
from services.scoring.accuracy.outcomes import Outcome, derived_outcomes
from services.scoring.metrics import ScoringMetrics
from services.scoring.model import score
from services.scoring.model_config import HealthModelConfig
from services.scoring.repository.trust import (
    ShadowScore,
    active_shadow,
    insert_outcomes,
    store_shadow_scores,
)


class ShadowStore:
    def __init__(self) -> None:
        self.current: HealthModelConfig | None = None
        self.shadow_id: int | None = None

    async def refresh(self, session: AsyncSession) -> HealthModelConfig | None:
        row = await active_shadow(session)
        if row is None:
            self.current, self.shadow_id = None, None
        elif row.id != self.shadow_id:
            self.current = HealthModelConfig.model_validate(row.config)
            self.shadow_id = row.id
        return self.current

    def set(self, shadow_id: int | None, config: HealthModelConfig | None) -> None:
        self.shadow_id, self.current = shadow_id, config


class TrustHooks:
    def __init__(self, shadow: ShadowStore, metrics: ScoringMetrics) -> None:
        self.shadow = shadow
        self._metrics = metrics

    def shadow_score(
        self, account_id: str, state: AccountState, as_of: datetime
    ) -> ShadowScore | None:
        config = self.shadow.current
        if config is None:
            return None
        health = score(state, as_of, config)
        return ShadowScore(
            account_id, health.model_version, as_of, health.score, health.band, health.components
        )

    async def after_scoring(
        self,
        session: AsyncSession,
        accounts: Sequence[Any],
        times: Mapping[str, datetime],
        shadow_rows: Sequence[ShadowScore],
    ) -> None:
        """Store the shadow's scores and the outcomes the scored accounts' facts imply."""
        await store_shadow_scores(session, shadow_rows)
        found: list[Outcome] = []
        for account in accounts:
            found.extend(
                derived_outcomes(
                    account.account_id,
                    canceled_at=account.canceled_at,
                    renewal_at=account.renewal_at,
                    as_of=times[account.account_id],
                )
            )
        for outcome in await insert_outcomes(session, found):
            self._metrics.outcomes.labels(outcome.kind, outcome.source).inc()
