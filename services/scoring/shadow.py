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
from services.scoring.accuracy.outcomes import (
    Outcome,
    RenewalUpdate,
    derived_outcomes,
    renewals_from_updates,
)
from services.scoring.metrics import ScoringMetrics
from services.scoring.model import score
from services.scoring.model_config import HealthModelConfig
from services.scoring.repository.trust import (
    ShadowScore,
    active_shadow,
    insert_outcomes,
    renewal_facts,
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

    async def before_fold(self, session: AsyncSession, signals: Sequence[Any]) -> None:
        """Renewals recorded by a subscription update, judged against the date it replaces.

        Runs before the batch is applied (the update overwrites the old date); one
        query, and only for batches that carry a renewal date.
        """
        updates = [
            RenewalUpdate(s.account_id, s.occurred_at, s.renewal_at)
            for s in signals
            if getattr(s, "source", None) == "payment"
            and s.type in ("subscription_started", "subscription_updated")
            and s.renewal_at is not None
        ]
        if not updates:
            return
        previous = await renewal_facts(session, sorted({u.account_id for u in updates}))
        await self._record(session, renewals_from_updates(previous, updates))

    async def _record(self, session: AsyncSession, outcomes: Sequence[Outcome]) -> None:
        for outcome in await insert_outcomes(session, outcomes):
            self._metrics.outcomes.labels(outcome.kind, outcome.source).inc()

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
        await self._record(session, found)
