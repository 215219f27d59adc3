"""Wiring of the scoring service: the one place that builds its parts.

The skeleton (start, stop, probes, auth, errors, ``run``) is :mod:`shared.service`;
the parts every stateful service builds are in :mod:`shared.stateful`.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.api import router
from services.scoring.clock import rescore_hooks, rescore_plan
from services.scoring.config import ScoringSettings
from services.scoring.handler import SignalBatchHandler
from services.scoring.metrics import ScoringMetrics
from services.scoring.model_config import HealthModelConfig
from services.scoring.repository.scores import band_counts
from services.scoring.runtime import ScoringRuntime
from services.scoring.scorer import Scorer
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


def create_app(settings: ScoringSettings, *, now: Now = utc_now, run_loops: bool = True) -> FastAPI:
    registry = new_registry("scoring")
    metrics = ScoringMetrics.create(registry)

    async def build(stack: AsyncExitStack) -> Parts[ScoringRuntime]:
        runtime = await _build_runtime(stack, settings, metrics, now)
        return Parts(runtime, readiness(runtime.engine, runtime.consumer), _loops(runtime))

    return create_service_app(
        ServiceSpec("scoring", settings, registry, build, [router], run_loops=run_loops)
    )


async def _build_runtime(
    stack: AsyncExitStack, settings: ScoringSettings, metrics: ScoringMetrics, now: Now
) -> ScoringRuntime:
    topics = settings.topics
    await create_topics(settings, topics.signals, topics.health_changes)
    engine, sessions = open_database(stack, settings)
    model_store = VersionedConfig("scoring_config", HealthModelConfig)
    await load_config(sessions, model_store)
    scorer = Scorer(model_store, metrics, topic=topics.health_changes, step=settings.change_step)
    relay = outbox_relay(
        settings,
        sessions,
        topics.health_changes,
        LockKey.SCORING_OUTBOX,
        metrics.outbox_relayed.inc,
    )
    handler = SignalBatchHandler(scorer, metrics, now=now)
    consumer = batch_consumer(
        settings,
        sessions,
        topics.signals,
        handler,
        on_committed=relay.wake,
        on_lag=metrics.record_lag,
    )
    hooks = rescore_hooks(metrics, relay.wake)
    clock = ChunkedClock(engine, sessions, rescore_plan(scorer), settings, now=now, hooks=hooks)
    return ScoringRuntime(settings, metrics, engine, sessions, consumer, relay, clock, model_store)


def _loops(runtime: ScoringRuntime) -> dict[str, Loop]:
    metrics, topic = runtime.metrics, runtime.settings.topics.health_changes

    async def refresh(session: AsyncSession) -> None:
        metrics.outbox_backlog.set(await outbox_backlog(session, [topic]))
        metrics.accounts_by_band.clear()
        for row in await band_counts(session):
            metrics.accounts_by_band.labels(row.band, row.segment or "unknown").set(row.n)

    loops: dict[str, Loop] = {
        "consumer": runtime.consumer,
        "outbox-relay": runtime.relay,
        "gauges": GaugeLoop(runtime.sessions, refresh),
    }
    if runtime.settings.clock_runs:
        loops["clock"] = runtime.clock
    return loops


def run() -> None:
    run_service("scoring", ScoringSettings(), create_app)
