"""The triggers batch handler and clock: evaluate, record episodes, queue outputs.

Runs inside the transaction of the consumer loop (health changes) or of a
clock chunk; outputs go to the outbox (``playbook.events``) and to the webhook
delivery queue in that same transaction, so nothing is lost or sent early.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

import orjson
from aiokafka import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.triggers.domain.decisions import Outcome, on_clock, on_health_changes
from services.triggers.domain.playbook_config import PlaybookConfig
from services.triggers.episode_repository import record_held_back, record_superseded
from services.triggers.metrics import TriggersMetrics
from services.triggers.repository import (
    add_scores,
    apply_transitions,
    load_tracks,
    lock_views,
    store_tracks,
    store_views,
)
from services.triggers.scorecard_playbooks import LivePlaybooks
from services.triggers.webhooks.repository import WebhookItem, enqueue
from services.triggers.webhooks.service import webhook_body
from shared.clock.periodic import Now
from shared.consumer.outbox import OutboxRow, add_to_outbox
from shared.contracts import HealthChange, PlaybookEvent
from shared.database.config_store import VersionedConfig
from shared.logging import get_logger

log = get_logger(__name__)
SCORE_WINDOW = timedelta(days=8)


# absent unless set: the lifecycle's fields, and a custom playbook's payload
OPTIONAL_FIELDS = ("by", "owner", "snoozed_until", "resolution", "note", "payload")


def outbox_row(event: PlaybookEvent, topic: str) -> OutboxRow:
    return (event.account_id, topic, event.model_dump_json(exclude=_unset(event)).encode())


def _unset(event: PlaybookEvent) -> set[str]:
    # the rules' events keep their v1 shape; lifecycle events carry only what they set
    return {name for name in OPTIONAL_FIELDS if getattr(event, name) is None}


def playbook_webhook(event: PlaybookEvent, now: datetime) -> WebhookItem:
    """The webhook of a playbook event: type ``playbook.<kind>``, filtered by playbook,
    segment and the band in its health."""
    kind = f"playbook.{event.kind}"
    body = webhook_body(kind, event.model_dump(mode="json", exclude=_unset(event)), now)
    return WebhookItem(
        kind,
        event.event_id,
        event.account_id,
        body,
        event.playbook,
        event.segment,
        event.health.band,
    )


class PlaybookEvaluator:
    """Health changes and clock ticks -> episodes, playbook events, webhook deliveries."""

    def __init__(
        self,
        rules: VersionedConfig[PlaybookConfig],
        metrics: TriggersMetrics,
        *,
        topic: str,
        now: Now,
        playbooks: LivePlaybooks | None = None,
    ) -> None:
        self._rules = rules
        self._playbooks = playbooks or LivePlaybooks()
        self._model_versions: set[str] = set()  # named by changes since the last refresh
        self._metrics = metrics
        self._topic = topic
        self._now = now

    @property
    def topic(self) -> str:
        """Where playbook events go (through the outbox)."""
        return self._topic

    def wall_now(self) -> datetime:
        return self._now()

    async def on_records(self, session: AsyncSession, records: Sequence[ConsumerRecord]) -> None:
        changes = self._parse(records)
        if not changes:
            return
        by_account: dict[str, list[HealthChange]] = defaultdict(list)
        for change in changes:
            by_account[change.account_id].append(change)
        await self._follow_scorecard(session, {c.model_version for c in changes})
        earliest = min(c.as_of for c in changes) - SCORE_WINDOW
        views, episodes = await lock_views(session, list(by_account), earliest)
        tracks = await load_tracks(session, list(by_account))
        config, custom = self._rules.current, self._playbooks.current.playbooks
        wall_now = self._now()
        outcomes = [
            on_health_changes(
                views.get(a),
                episodes.get(a, {}),
                cs,
                config,
                wall_now=wall_now,
                tracks=tracks[a],
                custom=custom,
            )
            for a, cs in sorted(by_account.items())
        ]
        await self._store(session, outcomes, changes)

    async def _follow_scorecard(self, session: AsyncSession, named: set[str]) -> None:
        """A model version not seen before may be a new scorecard's: its playbooks first."""
        if named <= self._model_versions:
            return
        await self._playbooks.refresh_within(session)
        # bounded: a new version is rare, and forgetting one costs one more refresh
        self._model_versions = named | (
            self._model_versions if len(self._model_versions) < 64 else set()
        )

    async def on_clock(
        self, session: AsyncSession, account_ids: Sequence[str], now: datetime
    ) -> int:
        views, episodes = await lock_views(session, account_ids, now - SCORE_WINDOW)
        tracks = await load_tracks(session, list(views))
        config, custom = self._rules.current, self._playbooks.current.playbooks
        wall_now = self._now()
        outcomes = [
            on_clock(
                v,
                episodes.get(a, {}),
                now,
                config,
                wall_now=wall_now,
                tracks=tracks[a],
                custom=custom,
            )
            for a, v in sorted(views.items())
        ]
        await self._store(session, [o for o in outcomes if o.transitions or o.tracks], [])
        return sum(len(o.events) for o in outcomes)

    async def _store(
        self, session: AsyncSession, outcomes: list[Outcome], changes: list[HealthChange]
    ) -> None:
        await store_views(session, [o.view for o in outcomes if o.view is not None and o.scores])
        await add_scores(
            session,
            [(o.view.account_id, t, s) for o in outcomes if o.view for t, s in o.scores],
        )
        await record_held_back(
            session,
            [
                (o.view.account_id, h.transition, h.why, h.segment, orjson.dumps(h.health).decode())
                for o in outcomes
                if o.view
                for h in o.held
            ],
        )
        opened_with = {
            e.episode_id: (e.segment, e.health.model_dump_json())
            for o in outcomes
            for e in o.events
            if e.kind == "triggered"
        }
        transitions = [(o.view.account_id, t) for o in outcomes if o.view for t in o.transitions]
        await apply_transitions(session, transitions, opened_with)
        await record_superseded(session, [(a, t) for a, t in transitions if t.kind == "superseded"])
        await store_tracks(
            session,
            [(o.view.account_id, p, t) for o in outcomes if o.view for p, t in o.tracks.items()],
        )
        for outcome in outcomes:
            for playbook in outcome.held_back:
                self._metrics.held_back.labels(playbook).inc()
        now = self._now()
        rows: list[OutboxRow] = []
        hooks: list[WebhookItem] = []
        for outcome in outcomes:
            for event in outcome.events:
                rows.append(outbox_row(event, self._topic))
                hooks.append(playbook_webhook(event, now))
                self._metrics.playbooks.labels(event.playbook, event.kind, event.segment).inc()
                self._observe_latency(event.at)
        for change in self._applied(outcomes, changes):
            body = webhook_body("health.changed", change.model_dump(mode="json"), now)
            hooks.append(
                WebhookItem(
                    "health.changed",
                    change.event_id,
                    change.account_id,
                    body,
                    None,
                    change.segment,
                    change.band,
                )
            )
        await add_to_outbox(session, rows)
        await enqueue(session, hooks, now)

    @staticmethod
    def _applied(outcomes: list[Outcome], changes: list[HealthChange]) -> list[HealthChange]:
        applied = {e for o in outcomes for e in o.applied}
        # by event id, not as_of: a correction shares its as_of; a duplicate counts once
        unique = {c.event_id: c for c in reversed(changes) if c.event_id in applied}
        return [c for c in changes if unique.get(c.event_id) is c]

    def _observe_latency(self, at: datetime) -> None:
        self._metrics.event_time_lag.observe(max(0.0, (self._now() - at).total_seconds()))

    def _parse(self, records: Sequence[ConsumerRecord]) -> list[HealthChange]:
        changes = []
        for record in records:
            try:
                changes.append(HealthChange.model_validate_json(record.value or b""))
            except ValidationError:
                # raising lets the loop isolate and dead-letter this record
                if len(records) == 1:  # the isolated record: counted once, not per split
                    self._metrics.malformed.inc()
                raise
        return changes
