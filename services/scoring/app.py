"""Scoring's parts: signals in, account state and scores in PostgreSQL, health changes out
through the outbox, and the clock that re-scores silent accounts.

Start, stop, probes, auth and ``run`` are the skeleton's (:mod:`shared.service`).
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
from services.scoring.watermark_step import WatermarkStep
from shared import stateful
from shared.clock import ChunkedClock, Now, utc_now
from shared.locks import LockKey
from shared.service import Parts, ServiceSpec, create_service_app, create_topics, run_service


def create_app(settings: ScoringSettings, *, now: Now = utc_now, run_loops: bool = True) -> FastAPI:
    metrics = ScoringMetrics.new()

    async def build(stack: AsyncExitStack) -> Parts[ScoringRuntime]:
        runtime = await _build_runtime(stack, settings, metrics, now)

        async def bands(session: AsyncSession) -> None:
            metrics.accounts_by_band.clear()
            for row in await band_counts(session):
                metrics.accounts_by_band.labels(row.band, row.segment or "unknown").set(row.n)

        outbox = (settings.topics.health_changes, metrics.outbox_backlog)
        return stateful.service_parts(runtime, outbox, bands)

    spec = ServiceSpec("scoring", settings, metrics.registry, build, [router], run_loops)
    return create_service_app(spec)


async def _build_runtime(
    stack: AsyncExitStack, settings: ScoringSettings, metrics: ScoringMetrics, now: Now
) -> ScoringRuntime:
    topics = settings.topics
    await create_topics(settings, topics.signals, topics.health_changes)
    engine, sessions = stateful.open_database(stack, settings)
    model_store = await stateful.load_config(sessions, "scoring_config", HealthModelConfig)
    scorer = Scorer(model_store, metrics, topic=topics.health_changes, step=settings.change_step)
    watermarks = WatermarkStep(
        scorer,
        metrics,
        wall_clock=now,
        fresh_s=settings.watermark_fresh_s,
        lateness_s=settings.allowed_lateness_s,
        held_back_chunk=settings.held_back_chunk,
    )
    relay = stateful.outbox_relay(
        settings,
        sessions,
        topics.health_changes,
        LockKey.SCORING_OUTBOX,
        metrics.outbox_relayed,
    )
    consumer = stateful.batch_consumer(
        settings,
        sessions,
        topics.signals,
        SignalBatchHandler(scorer, metrics, now=now, watermarks=watermarks),
        on_committed=relay.wake,
        on_lag=metrics.record_lag,
    )
    hooks = rescore_hooks(metrics, relay.wake)
    plan = rescore_plan(scorer, watermarks)
    clock = ChunkedClock(engine, sessions, plan, settings, now=now, hooks=hooks)
    return ScoringRuntime(settings, metrics, engine, sessions, consumer, relay, clock, model_store)


def run() -> None:
    run_service("scoring", ScoringSettings(), create_app)
