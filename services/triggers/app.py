"""Triggers' parts: health changes and its clock in, episodes in PostgreSQL, playbook
events out through the outbox, and the webhook delivery worker.

Start, stop, probes, auth and ``run`` are the skeleton's (:mod:`shared.service.skeleton`).
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.triggers.api import router
from services.triggers.clock import playbook_observers, playbook_plan
from services.triggers.config import TriggersSettings
from services.triggers.domain.playbook_check import check_playbook_config
from services.triggers.domain.playbook_config import PlaybookConfig
from services.triggers.episode_api import read_router as episodes_read
from services.triggers.episode_api import write_router as episodes_write
from services.triggers.feedback_gauges import FeedbackGauges
from services.triggers.handler import PlaybookEvaluator
from services.triggers.metrics import TriggersMetrics
from services.triggers.runtime import TriggersRuntime
from services.triggers.scorecard_playbooks import LivePlaybooks
from services.triggers.webhooks.api import router as webhooks_router
from services.triggers.webhooks.dns import BoundedResolver
from services.triggers.webhooks.metrics import WebhookMetrics
from services.triggers.webhooks.repository import clear_expired_secrets, retry_backlog
from services.triggers.webhooks.secrets import SecretBox
from services.triggers.webhooks.transport import PinnedTransport
from services.triggers.webhooks.url_policy import Resolver, system_resolver
from services.triggers.webhooks.worker import DeliveryWorker
from shared.clock.periodic import ChunkedClock, Now, utc_now
from shared.database.locks import LockKey
from shared.http.server import near_now
from shared.service import stateful
from shared.service.skeleton import (
    Parts,
    Routed,
    ServiceSpec,
    create_service_app,
    create_topics,
    run_service,
)


def create_app(
    settings: TriggersSettings,
    *,
    now: Now = utc_now,
    run_loops: bool = True,
    resolve: Resolver = system_resolver,
) -> FastAPI:
    metrics = TriggersMetrics.new()
    hooks = WebhookMetrics(metrics.registry)

    async def build(stack: AsyncExitStack) -> Parts[TriggersRuntime]:
        runtime = await _build_runtime(stack, settings, metrics, hooks, now, resolve)

        feedback = FeedbackGauges(
            metrics,
            window=timedelta(days=settings.feedback_window_days),
            every_s=settings.feedback_refresh_s,
        )

        async def deliveries(session: AsyncSession) -> None:
            hooks.retry_backlog.set((counts := await retry_backlog(session))[0])
            hooks.disabled_endpoints.set(counts[1])
            # the previous secret is erased once its rotation grace is over
            await clear_expired_secrets(session, now())
            await feedback.refresh(session, now())

        outbox = (settings.topics.playbook_events, metrics.outbox_backlog)
        poll_s = settings.config_poll_interval_s
        follow = runtime.rules.follower(runtime.sessions, poll_s)
        scorecard = runtime.playbooks.follower(runtime.sessions, poll_s)
        return stateful.service_parts(
            runtime,
            outbox,
            deliveries,
            webhooks=runtime.worker,
            config=follow,
            scorecard=scorecard,
        )

    routers: list[Routed] = [
        router,
        episodes_read,
        (episodes_write, "write"),  # a CSM tool acts with the write token
        (webhooks_router, "admin"),
    ]
    spec = ServiceSpec(
        "triggers",
        settings,
        metrics.registry,
        build,
        routers,
        run_loops,
        database=True,
        windows=near_now("/v1/clock/tick", "now", settings),
    )
    return create_service_app(spec)


async def _build_runtime(
    stack: AsyncExitStack,
    settings: TriggersSettings,
    metrics: TriggersMetrics,
    webhook_metrics: WebhookMetrics,
    now: Now,
    resolve: Resolver,
) -> TriggersRuntime:
    topics = settings.topics
    await create_topics(
        settings,
        topics.health_changes,
        topics.playbook_events,
        topics.triggers_dlq,
        registry=metrics.registry,
    )
    # No redirects: a receiver must not bounce a signed delivery to another host. The
    # transport checks each target when sending and connects to the address it checked.
    delivery = settings.webhooks
    lookup = BoundedResolver(
        resolve, timeout_s=delivery.dns_timeout_s, threads=delivery.dns_threads
    )
    stack.callback(lookup.close)
    pinned = PinnedTransport(
        allow_http=delivery.allow_http, allowlist=delivery.allowlist, lookup=lookup
    )
    client = await stack.enter_async_context(
        httpx.AsyncClient(transport=pinned, follow_redirects=False)
    )
    engine, sessions = stateful.open_database(stack, settings)
    rules = await stateful.load_config(
        sessions, "playbook_config", PlaybookConfig, check_playbook_config
    )
    # custom playbooks in force before the first batch: an episode of one must not
    # resolve because the live scorecard was not read yet
    playbooks = LivePlaybooks()
    await playbooks.refresh(sessions)
    playbook_evaluator = PlaybookEvaluator(
        rules, metrics, topic=topics.playbook_events, now=now, playbooks=playbooks
    )
    outputs = (topics.playbook_events, topics.triggers_dlq)  # what the outbox relays
    relay = stateful.outbox_relay(settings, sessions, metrics, LockKey.TRIGGERS_OUTBOX, *outputs)
    box = SecretBox(settings.secrets_key.get_secret_value())
    worker = DeliveryWorker(sessions, client, delivery, webhook_metrics, box, now=now)

    def committed(count: int) -> None:
        # playbook events go to the outbox and to the webhook queue in one transaction
        relay.wake(count)
        worker.wake(count)

    consumer = stateful.batch_consumer(
        settings,
        sessions,
        topics.health_changes,
        playbook_evaluator.on_records,
        on_committed=committed,
        metrics=metrics,
        dead_letters=("triggers", topics.triggers_dlq),
        now=now,
    )
    plan, hooks = playbook_plan(playbook_evaluator), playbook_observers(metrics, committed)
    clock = ChunkedClock(engine, sessions, plan, settings, now=now, hooks=hooks)
    return TriggersRuntime(
        settings=settings,
        metrics=metrics,
        engine=engine,
        sessions=sessions,
        consumer=consumer,
        relay=relay,
        clock=clock,
        worker=worker,
        rules=rules,
        playbooks=playbooks,
        now=now,
        box=box,
        lookup=lookup,
    )


def run() -> None:
    run_service("triggers", TriggersSettings(), create_app)
