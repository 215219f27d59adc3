"""Triggers' parts: health changes and its clock in, episodes in PostgreSQL, playbook
events out through the outbox, and the webhook delivery worker.

Start, stop, probes, auth and ``run`` are the skeleton's (:mod:`shared.service`).
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.triggers.api import router
from services.triggers.clock import playbook_hooks, playbook_plan
from services.triggers.config import TriggersSettings
from services.triggers.handler import TriggerEngine
from services.triggers.metrics import TriggersMetrics
from services.triggers.rules_config import PlaybookConfig
from services.triggers.runtime import TriggersRuntime
from services.triggers.webhooks.api import router as webhooks_router
from services.triggers.webhooks.metrics import WebhookMetrics
from services.triggers.webhooks.repository import retry_backlog
from services.triggers.webhooks.worker import DeliveryWorker
from shared import stateful
from shared.clock import ChunkedClock, Now, utc_now
from shared.locks import LockKey
from shared.service import Parts, ServiceSpec, create_service_app, create_topics, run_service


def create_app(
    settings: TriggersSettings, *, now: Now = utc_now, run_loops: bool = True
) -> FastAPI:
    metrics = TriggersMetrics.new()
    hooks = WebhookMetrics(metrics.registry)

    async def build(stack: AsyncExitStack) -> Parts[TriggersRuntime]:
        runtime = await _build_runtime(stack, settings, metrics, hooks, now)

        async def deliveries(session: AsyncSession) -> None:
            hooks.retry_backlog.set((counts := await retry_backlog(session))[0])
            hooks.disabled_endpoints.set(counts[1])

        outbox = (settings.topics.playbook_events, metrics.outbox_backlog)
        return stateful.service_parts(runtime, outbox, deliveries, webhooks=runtime.worker)

    routers = [router, webhooks_router]
    spec = ServiceSpec("triggers", settings, metrics.registry, build, routers, run_loops)
    return create_service_app(spec)


async def _build_runtime(
    stack: AsyncExitStack,
    settings: TriggersSettings,
    metrics: TriggersMetrics,
    webhook_metrics: WebhookMetrics,
    now: Now,
) -> TriggersRuntime:
    topics = settings.topics
    await create_topics(settings, topics.health_changes, topics.playbook_events)
    # No redirects: a receiver must not bounce a signed delivery to another host.
    client = await stack.enter_async_context(httpx.AsyncClient(follow_redirects=False))
    engine, sessions = stateful.open_database(stack, settings)
    rules = await stateful.load_config(sessions, "playbook_config", PlaybookConfig)
    trigger_engine = TriggerEngine(rules, metrics, topic=topics.playbook_events, now=now)
    relay = stateful.outbox_relay(
        settings,
        sessions,
        topics.playbook_events,
        LockKey.TRIGGERS_OUTBOX,
        metrics.outbox_relayed,
    )
    worker = DeliveryWorker(sessions, client, settings.webhooks, webhook_metrics, now=now)

    def committed(count: int) -> None:
        # playbook events go to the outbox and to the webhook queue in one transaction
        relay.wake(count)
        worker.wake(count)

    consumer = stateful.batch_consumer(
        settings,
        sessions,
        topics.health_changes,
        trigger_engine.on_records,
        on_committed=committed,
        on_lag=metrics.record_lag,
    )
    plan, hooks = playbook_plan(trigger_engine), playbook_hooks(metrics, committed)
    clock = ChunkedClock(engine, sessions, plan, settings, now=now, hooks=hooks)
    return TriggersRuntime(
        settings, metrics, engine, sessions, consumer, relay, clock, worker, rules, now
    )


def run() -> None:
    run_service("triggers", TriggersSettings(), create_app)
