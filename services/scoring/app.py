"""Scoring's parts: signals in, account state and scores in PostgreSQL, health changes out
through the outbox, and the clock that re-scores silent accounts.

Start, stop, probes, auth and ``run`` are the skeleton's (:mod:`shared.service.skeleton`).
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.api import router
from services.scoring.clock import rescore_observers, rescore_plan
from services.scoring.config import ScoringSettings
from services.scoring.handler import SignalBatchHandler
from services.scoring.metrics import ScoringMetrics
from services.scoring.overrides_api import read_router as overrides_read
from services.scoring.overrides_api import windows as overrides_windows
from services.scoring.overrides_api import write_router as overrides_write
from services.scoring.repository.scores import band_counts
from services.scoring.retention import EventIdRetention, RollupRetention
from services.scoring.runtime import ScoringRuntime
from services.scoring.scorecard_api import router as scorecard_router
from services.scoring.scorecard_sync import ScorecardFollower
from services.scoring.trust.api import router as trust_router
from services.scoring.trust.report_cache import StoredVersions
from services.scoring.trust.repository import outcome_counts
from services.scoring.trust.service import AccuracyLoop
from services.scoring.wiring import open_core
from shared.clock.periodic import ChunkedClock, Now, utc_now
from shared.database.engine import create_engine, create_sessionmaker
from shared.database.locks import LockKey
from shared.dlq.api import router as dlq_router
from shared.http.server import near_now
from shared.retry import Paced
from shared.service import stateful
from shared.service.skeleton import (
    Loop,
    Parts,
    ServiceSpec,
    create_service_app,
    create_topics,
    run_service,
)


def create_app(settings: ScoringSettings, *, now: Now = utc_now, run_loops: bool = True) -> FastAPI:
    metrics = ScoringMetrics.new()

    async def build(stack: AsyncExitStack) -> Parts[ScoringRuntime]:
        runtime = await _build_runtime(stack, settings, metrics, now)

        recount = Paced(settings.band_counts_share)

        async def bands(session: AsyncSession) -> None:
            if recount.due():
                started = recount.clock()
                counts = await band_counts(session)
                recount.done(started)
                metrics.accounts_by_band.clear()
                for row in counts:
                    metrics.accounts_by_band.labels(row.band, row.segment or "unknown").set(row.n)
            for (kind, source), n in (await outcome_counts(session)).items():
                metrics.outcomes_stored.labels(kind, source).set(n)

        outbox = (settings.topics.health_changes, metrics.outbox_backlog)
        retention = EventIdRetention(
            runtime.sessions,
            timedelta(days=settings.dedupe_retention_days),
            interval_s=settings.dedupe_prune_interval_s,
            now=now,
        )
        follow = runtime.model_store.follower(runtime.sessions, settings.config_poll_interval_s)
        scorecard = ScorecardFollower(runtime, settings.config_poll_interval_s)
        more: dict[str, Loop] = {
            "rollup-retention": RollupRetention(
                runtime.sessions,
                settings.rollup_retention_days,
                interval_s=settings.rollup_prune_interval_s,
                now=now,
            )
        }
        if settings.accuracy_interval_s > 0:
            more["accuracy"] = AccuracyLoop(runtime)
        return stateful.service_parts(
            runtime, outbox, bands, retention=retention, config=follow, scorecard=scorecard, **more
        )

    spec = ServiceSpec(
        "scoring",
        settings,
        metrics.registry,
        build,
        [
            router,
            scorecard_router,
            trust_router,
            overrides_read,
            (overrides_write, "write"),
            (dlq_router, "admin"),  # every stage's dead letters (shared.dlq)
        ],
        run_loops,
        database=True,
        windows=[
            *near_now("/v1/clock/rescore", "as_of", settings),
            *overrides_windows(settings.override_max_days),
        ],
    )
    return create_service_app(spec)


async def _build_runtime(
    stack: AsyncExitStack, settings: ScoringSettings, metrics: ScoringMetrics, now: Now
) -> ScoringRuntime:
    topics = settings.topics
    await create_topics(
        settings,
        topics.signals,
        topics.health_changes,
        topics.scoring_dlq,
        registry=metrics.registry,
    )
    core = await open_core(stack, settings, metrics, now)
    engine, sessions, scorer, watermarks = core.engine, core.sessions, core.scorer, core.watermarks
    outputs = (topics.health_changes, topics.scoring_dlq)  # what the outbox relays
    relay = stateful.outbox_relay(settings, sessions, metrics, LockKey.SCORING_OUTBOX, *outputs)
    handler = SignalBatchHandler(scorer, metrics, now=now, watermarks=watermarks)
    consumer = stateful.batch_consumer(
        settings,
        sessions,
        topics.signals,
        handler,
        on_committed=relay.wake,
        metrics=metrics,
        dead_letters=("scoring", topics.scoring_dlq),
        on_batch_seconds=metrics.transaction_seconds.labels("batch").observe,
        prepare=handler.prepare,
        now=now,
    )
    hooks = rescore_observers(metrics, relay.wake)
    plan = rescore_plan(scorer, watermarks)
    clock = ChunkedClock(engine, sessions, plan, settings, now=now, hooks=hooks)
    runtime = ScoringRuntime(
        settings=settings,
        metrics=metrics,
        engine=engine,
        sessions=sessions,
        consumer=consumer,
        relay=relay,
        clock=clock,
        model_store=core.model_store,
        scorecard_store=core.scorecard_store,
        shadow=core.shadow,
        scorer=scorer,
        now=now,
    )
    # the routes' own engine: a burst of requests waits for these, never for the consumer's
    api_engine = create_engine(
        settings.database_url,
        pool_size=settings.api_db_pool_size,
        max_overflow=0,
        tls=settings.database_tls,
    )
    stack.push_async_callback(api_engine.dispose)
    runtime.api_sessions = create_sessionmaker(api_engine)
    runtime.versions = StoredVersions(metrics)
    return runtime


def run() -> None:
    run_service("scoring", ScoringSettings(), create_app)
