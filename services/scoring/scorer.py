"""Re-scoring a set of accounts inside the caller's transaction.

Used by the consumer (accounts a batch touched, at their own event time) and
by the clock (every account, at an injected ``as_of``). Writes the current
score, the history of published changes and their outbox rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.domain.account_state import NO_NEEDS, AccountRow, AccountState, StateNeeds
from services.scoring.domain.caps import StateCaps, cap_related
from services.scoring.domain.event_time import judgement_time
from services.scoring.domain.health_change import (
    account_facts,
    facts_change_id,
    facts_changed,
    health_change_id,
    health_change_message,
    is_health_change,
)
from services.scoring.domain.model import Health
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.domain.overrides import Override, apply_overrides
from services.scoring.domain.state_from_rows import build_state
from services.scoring.live_scorecard import Engine, LiveScorecard, ScorecardFailure, ScoringEngine
from services.scoring.metrics import ScoringMetrics
from services.scoring.override_result import with_overrides
from services.scoring.repository.evictions import evict
from services.scoring.repository.overrides import active_overrides
from services.scoring.repository.reads import load_related, lock_accounts, read_account
from services.scoring.repository.scores import ScoreRow, store_scores
from services.scoring.trust.repository import ShadowScore
from services.scoring.trust.shadow import TrustStep
from shared.clock.periodic import Now, utc_now
from shared.consumer.outbox import OutboxRow, add_to_outbox
from shared.database.config_store import VersionedConfig
from shared.kafka.clients import dumps
from shared.logging import get_logger

log = get_logger(__name__)
STATE_WINDOW = timedelta(days=91)
HISTORY_WINDOW = timedelta(days=8)


class Scorer:
    def __init__(
        self,
        model_store: VersionedConfig[HealthModelConfig],
        metrics: ScoringMetrics,
        *,
        topic: str,
        step: float,
        hooks: TrustStep | None = None,
        caps: StateCaps | None = None,
        clock: Now = utc_now,
        scorecard_store: VersionedConfig[LiveScorecard] | None = None,
        needs: Callable[[], StateNeeds] = lambda: NO_NEEDS,
    ) -> None:
        self.hooks = hooks  # shadow model and outcomes; None: neither
        self._caps = caps or StateCaps()
        self._model_store = model_store
        self.engine = ScoringEngine(model_store, scorecard_store)
        self._metrics = metrics
        self._topic = topic
        self._step = step
        self._clock = clock  # when overrides are in force, unless the caller says
        # what the models in force read beyond the default state (the default: nothing)
        self.needs = needs

    async def rescore(
        self,
        session: AsyncSession,
        account_ids: Sequence[str],
        *,
        as_of: datetime | None,
        trigger: str,
        bound: datetime | None = None,
        now: datetime | None = None,
    ) -> list[ScoreRow]:
        """Score ``account_ids``; ``as_of=None`` scores each at its latest event time.

        Never past ``bound`` (the watermarks, ``services.scoring.domain.event_time``);
        an account the bound has not reached yet is left for later. Overrides in
        force at ``now`` (default: ``as_of``, else the service's clock) apply after the model.
        """
        locked = await lock_accounts(session, sorted(set(account_ids)))
        judged = {a.account_id: judgement_time(a, as_of, bound) for a in locked}
        times = {a: t for a, t in judged.items() if t is not None}
        accounts = [a for a in locked if a.account_id in times]
        if bound is not None:
            held = len(locked) - len(accounts)
            held += sum(
                times[a.account_id] < min(a.last_event_at, as_of or a.last_event_at)
                for a in accounts
            )
            self._metrics.held_back.inc(held)
        if not accounts:
            return []
        earliest = min(times.values())
        # the live scorecard's rollups: a measure added later reads the history kept
        needs = self.needs() | self.engine.current().needs
        related = await load_related(
            session,
            [a.account_id for a in accounts],
            since=earliest - max(STATE_WINDOW, timedelta(days=needs.state_days)),
            history_since=earliest - HISTORY_WINDOW,
            needs=needs,
            rollups_since=(earliest - timedelta(days=needs.rollup_days)).date(),
        )
        await self._enforce_caps(session, related)
        engine = self.engine.current()
        at = now or as_of or self._clock()
        overrides = await active_overrides(session, [a.account_id for a in accounts], at)
        rows: list[ScoreRow] = []
        outbox: list[OutboxRow] = []
        shadow: list[ShadowScore] = []
        for account in accounts:
            state = build_state(account, related)
            judged_at = times[account.account_id]
            health = self._score(engine, state, judged_at, trigger)
            if health is None:
                continue
            if self.hooks is not None:
                extra = self.hooks.shadow_score(account.account_id, state, judged_at)
                if extra is not None:
                    shadow.append(extra)
            applied = overrides.get(account.account_id, [])
            row, message = self._result(account, health, judged_at, applied, (engine, state))
            rows.append(row)
            if message is None:
                continue
            outbox.append((account.account_id, self._topic, message))
            self._metrics.health_changes.labels(row.band).inc()
        await store_scores(session, rows)
        await add_to_outbox(session, outbox)
        if self.hooks is not None:
            await self.hooks.after_scoring(session, accounts, times, shadow)
        self._metrics.accounts_scored.labels(trigger).inc(len(rows))
        return rows

    def _score(
        self, engine: Engine, state: AccountState, as_of: datetime, trigger: str
    ) -> Health | None:
        """The account's health; None when a live scorecard failed on its data.

        A signal's batch raises (the loop isolates the record that made the account
        fail and dead-letters it, as any poison message); the clock, a watermark or an
        override skips the account, so one account never stops a pass."""
        try:
            return engine.score(state, as_of)
        except ScorecardFailure as failure:
            self._metrics.scorecard_failures.labels(trigger).inc()
            if trigger == "event":
                raise
            log.error("scorecard failed; account skipped", trigger=trigger, error=str(failure))
            return None

    async def explain(
        self, session: AsyncSession, account_id: str, as_of: datetime
    ) -> dict[str, Any] | None:
        """How the account's score at ``as_of`` is reached, from its state (None: unknown)."""
        account = await read_account(session, account_id)
        if account is None:
            return None
        related = await load_related(
            session, [account_id], since=as_of - STATE_WINDOW, history_since=as_of - HISTORY_WINDOW
        )
        return self.engine.current().explain(build_state(account, related), as_of)

    async def _enforce_caps(self, session: AsyncSession, related: dict[str, Any]) -> None:
        """Evict the rows over an account's caps before its state is built from them."""
        evicted = cap_related(related, self._caps)
        counts = {kind: n for kind, n in evicted.counts().items() if n}
        if not counts:
            return
        await evict(session, evicted)
        for kind, n in counts.items():
            self._metrics.state_evicted.labels(kind).inc(n)
        accounts = evicted.accounts()
        log.warning(
            "account state over its cap; the oldest rows evicted",
            evicted=counts,
            accounts=accounts[:10],
            account_count=len(accounts),
            caps=self._caps,
        )

    def _result(
        self,
        account: AccountRow,
        model: Health,
        as_of: datetime,
        applied: list[Override],
        explained: tuple[Engine, AccountState],
    ) -> tuple[ScoreRow, bytes | None]:
        health = apply_overrides(model, applied, explained[0].scale)
        changed = is_health_change(
            account.score, account.band, health.score, health.band, self._step
        )
        # facts playbooks read reach triggers even when the score does not move
        facts = account_facts(account, health.segment, health.usage, health.playbook_signals)
        new_facts = facts_changed(account.published_facts, facts)
        event_id = ""  # ids only for what is published: most scores publish nothing
        if changed or new_facts:
            event_id = health_change_id(account.account_id, as_of, health.score, health.band)
            if not changed:
                changed, event_id = True, facts_change_id(event_id, facts)
        row = ScoreRow(
            account_id=account.account_id,
            as_of=as_of,
            score=health.score,
            band=health.band,
            segment=health.segment,
            components=health.components,
            reasons=health.reasons,
            coverage=health.coverage,
            model_version=health.model_version,
            event_id=event_id,
            changed=changed,
            # triggers tell a correction at the same as_of from a replay by this
            revision=account.health_revision + int(changed),
            facts=facts if new_facts else None,  # rare: not on every change
        )
        row, extra = with_overrides(row, account, model, applied)
        if not row.changed:
            return row, None
        message = health_change_message(
            account,
            health,
            event_id=row.event_id,
            revision=row.revision,
            as_of=as_of,
            facts_changed=new_facts,
            # only for what is published: explaining costs about a scoring
            explanation=explained[0].explain(explained[1], as_of),
            extra=extra,
        )
        return row, dumps(message)
