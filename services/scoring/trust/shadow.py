"""The shadow model on the scoring path: scored beside the live one, stored, never published.

``ShadowStore`` caches the active candidate (or None: then the hot path pays
one attribute check). ``TrustStep`` is what the scorer calls per batch: the
shadow scores and the outcomes the accounts' facts imply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.domain.account_state import AccountState
from services.scoring.domain.model import score
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.metrics import ScoringMetrics
from services.scoring.scorecard.candidate import (
    ScorecardCandidate,
    is_scorecard,
    scorecard_candidate,
)
from services.scoring.scorecard.evaluate import evaluate
from services.scoring.trust.accuracy.outcomes import (
    Outcome,
    RenewalUpdate,
    derived_outcomes,
    renewals_from_updates,
)
from services.scoring.trust.report_cache import StoredVersions
from services.scoring.trust.repository import (
    ShadowScore,
    active_shadow,
    insert_outcomes,
    renewal_facts,
    store_shadow_scores,
)
from shared.consumer.failures import FailureKind, classify, describe
from shared.logging import get_logger

log = get_logger(__name__)
# a shadow candidate: a model config, or a scorecard document
Candidate = HealthModelConfig | ScorecardCandidate


def count(metrics: ScoringMetrics | None, where: str) -> None:
    """One shadow failure skipped (``where``: stored, scoring or accuracy)."""
    if metrics is not None:
        metrics.shadow_errors.labels(where).inc()


class ShadowStore:
    """The active candidate (a model config or a scorecard). A stored row that does not
    validate (written by hand, or by an older version) is skipped with an error logged and
    counted once, never raised: the shadow is optional, and scoring starts and runs without it."""

    def __init__(self, metrics: ScoringMetrics | None = None) -> None:
        self.current: Candidate | None = None
        self.shadow_id: int | None = None
        self._metrics = metrics
        # a shadow row is stored version minus its id; one refused is not validated again
        self._versions = StoredVersions(metrics, where="stored")
        self._refused: int | None = None  # the stored scorecard row refused, logged once

    async def refresh(self, session: AsyncSession) -> Candidate | None:
        row = await active_shadow(session)
        if row is None:
            self.current, self.shadow_id = None, None
        elif row.id != self.shadow_id:
            self.current = self._stored(row.id, row.config)
            self.shadow_id = None if self.current is None else row.id
        return self.current

    def _stored(self, shadow_id: int, data: dict[str, Any]) -> Candidate | None:
        if not is_scorecard(data):
            return self._versions.config(-shadow_id, data)
        if shadow_id == self._refused:
            return None
        try:
            return scorecard_candidate(data)
        except Exception as error:  # noqa: BLE001 - whatever a stored row holds, skip it
            self._refused = shadow_id
            count(self._metrics, "stored")
            log.error("stored shadow scorecard is invalid; skipped", error=str(error)[:500])
            return None

    def set(self, shadow_id: int | None, config: Candidate | None) -> None:
        self.shadow_id, self.current = shadow_id, config


class TrustStep:
    def __init__(self, shadow: ShadowStore, metrics: ScoringMetrics) -> None:
        self.shadow = shadow
        self._metrics = metrics
        self._failed = False  # the candidate raised in this batch: skip it until the next
        self._logged = False  # a failure of the candidate was logged in this batch

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

    async def _store_shadow(self, session: AsyncSession, rows: Sequence[ShadowScore]) -> None:
        """Under a savepoint: scores the database refuses (a candidate's odd values) are
        dropped and counted; the live batch goes on."""
        try:
            async with session.begin_nested():
                await store_shadow_scores(session, rows)
        except Exception as error:
            if classify(error) is FailureKind.transient:
                raise
            count(self._metrics, "scoring")
            log.error("shadow scores refused; skipped for this batch", error=describe(error, 300))

    async def _record(self, session: AsyncSession, outcomes: Sequence[Outcome]) -> None:
        for outcome in await insert_outcomes(session, outcomes):
            self._metrics.outcomes.labels(outcome.kind, outcome.source).inc()

    def shadow_score(
        self, account_id: str, state: AccountState, as_of: datetime
    ) -> ShadowScore | None:
        """The candidate's score, or None. The candidate runs inline with the live model:
        an exception in it is counted, never failing the live batch. A model config that
        raises is skipped for the rest of the batch (``after_scoring`` resets that); a
        scorecard only for the account whose data it failed on (logged once a batch)."""
        config = self.shadow.current
        if config is None or self._failed:
            return None
        try:
            if isinstance(config, ScorecardCandidate):
                health = evaluate(config.compiled, state, as_of)
            else:
                health = score(state, as_of, config)
        except Exception as error:  # noqa: BLE001 - the candidate is never the live path
            count(self._metrics, "scoring")
            scorecard = isinstance(config, ScorecardCandidate)
            if not self._logged:
                log.error(
                    "shadow scorecard failed on an account; that account skipped"
                    if scorecard
                    else "shadow model failed; skipped for this batch",
                    model_version=config.model_version,
                    account_id=account_id,
                    error=repr(error)[:300],
                )
            self._logged = True
            self._failed = not scorecard
            return None
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
        self._failed = self._logged = False
        if shadow_rows:
            await self._store_shadow(session, shadow_rows)
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
