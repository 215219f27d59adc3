"""Wiring of the triggers service: the one place that builds its parts.

The skeleton (start, stop, probes, auth, errors, ``run``) is :mod:`shared.service`;
the parts every stateful service builds are in :mod:`shared.stateful`.
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
from shared.clock import ChunkedClock, Now, utc_now
from shared.config_store import VersionedConfig
from shared.locks import LockKey
from shared.metrics import new_registry
from shared.outbox import outbox_backlog
from shared.service import Loop, Parts, ServiceSpec, create_service_app, create_topics, run_service
from shared.stateful import (
    GaugeLoop,
    batch_consumer,
    load_config,
    open_database,
    outbox_relay,
    readiness,
)


def create_app(
    settings: TriggersSettings, *, now: Now = utc_now, run_loops: bool = True
) -> FastAPI:
    registry = new_registry("triggers")
    metrics = TriggersMetrics.create(registry)
    webhook_metrics = WebhookMetrics.create(registry)

    async def build(stack: AsyncExitStack) -> Parts[TriggersRuntime]:
        runtime = await _build_runtime(stack, settings, metrics, webhook_metrics, now)
        loops = _loops(runtime, webhook_metrics)
        return Parts(runtime, readiness(runtime.engine, runtime.consumer), loops)

    routers = [router, webhooks_router]
    return create_service_app(
        ServiceSpec("triggers", settings, registry, build, routers, run_loops=run_loops)
    )


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
    engine, sessions = open_database(stack, settings)
    rules = VersionedConfig("playbook_config", PlaybookConfig)
    await load_config(sessions, rules)
    trigger_engine = TriggerEngine(rules, metrics, topic=topics.playbook_events, now=now)
    relay = outbox_relay(
        settings,
        sessions,
        topics.playbook_events,
        LockKey.TRIGGERS_OUTBOX,
        metrics.outbox_relayed.inc,
    )
    worker = DeliveryWorker(sessions, client, settings.webhooks, webhook_metrics, now=now)

    def committed(count: int) -> None:
        # playbook events go to the outbox and to the webhook queue in one transaction
        relay.wake(count)
        worker.wake(count)

    consumer = batch_consumer(
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


def _loops(runtime: TriggersRuntime, hooks: WebhookMetrics) -> dict[str, Loop]:
    metrics, topic = runtime.metrics, runtime.settings.topics.playbook_events

    async def refresh(session: AsyncSession) -> None:
        metrics.outbox_backlog.set(await outbox_backlog(session, [topic]))
        backlog, disabled = await retry_backlog(session)
        hooks.retry_backlog.set(backlog)
        hooks.disabled_endpoints.set(disabled)

    loops: dict[str, Loop] = {
        "consumer": runtime.consumer,
        "outbox-relay": runtime.relay,
        "webhooks": runtime.worker,
        "gauges": GaugeLoop(runtime.sessions, refresh),
    }
    if runtime.settings.clock_runs:
        loops["clock"] = runtime.clock
    return loops


def run() -> None:
    run_service("triggers", TriggersSettings(), create_app)
