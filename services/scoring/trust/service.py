"""Score trust use cases, shared by the API and the CLI: load, measure, shadow, promote.

Thin: the repository loads plain data, ``accuracy/`` computes. The caller's
session owns the transaction, except for the reports (:func:`accuracy`,
:func:`shadow_status`): they read in short transactions of the API's own pool
and compute with no connection held, once per state of the history
(:mod:`services.scoring.trust.report_cache`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.live_scorecard import live_version as live_model_version
from services.scoring.metrics import ScoringMetrics
from services.scoring.repository import scorecard_population as population
from services.scoring.runtime import ScoringRuntime
from services.scoring.scorecard import backtest as scorecard_backtest
from services.scoring.scorecard.candidate import ScorecardCandidate
from services.scoring.trust import repository as repo
from services.scoring.trust.accuracy.render import as_data
from services.scoring.trust.accuracy.report import (
    DEFAULT_HORIZONS,
    AccuracyReport,
    History,
    build_report,
    horizon_report,
)
from services.scoring.trust.report_cache import ReportCache, StoredVersions
from services.scoring.trust.shadow import Candidate, ShadowStore
from shared.database.config_store import VersionedConfig
from shared.database.engine import transaction
from shared.errors import Conflict, NotFound
from shared.retry import run_periodically

__all__ = [
    "DEFAULT_HORIZONS",
    "History",
    "accuracy",
    "promote",
    "set_shadow",
    "shadow_status",
]


async def load_history(
    session: AsyncSession, *, everything: bool = False, versions: StoredVersions | None = None
) -> History:
    """Outcomes and the stored scores before them (``everything``: the whole history); a
    stored model version that does not validate is skipped (``versions`` remembers it)."""
    configs = (versions or StoredVersions()).parse(await repo.stored_configs(session))
    points = await (
        repo.all_history(session) if everything else repo.history_before_outcomes(session)
    )
    return History(
        outcomes=await repo.load_outcomes(session),
        points=points,
        segments=await repo.account_segments(session, everyone=everything),
        configs=configs,
    )


def observe(metrics: ScoringMetrics | None, report: AccuracyReport) -> None:
    """The AUC gauge, for the configured horizons only: a label value never comes from a
    request (each horizon asked for would be a time series kept forever)."""
    if metrics is None:
        return
    for h in report.horizons:
        if h.overall is not None and h.horizon_days in DEFAULT_HORIZONS:
            metrics.model_auc.labels(report.model_version, str(h.horizon_days)).set(h.overall.auc)


async def accuracy(
    runtime: ScoringRuntime, horizons: Sequence[int], max_age_s: float = 0
) -> dict[str, Any]:
    """The live model's report as data, from the cache while the history is unchanged
    (the accuracy loop keeps the default horizons' report there); with ``max_age_s``,
    the latest report computed within that many seconds, a newer one computed meanwhile.

    Connections are the API's own (``api_sessions``) and held only to read: the
    history is loaded in one short transaction, and the statistics run in a thread
    with none held.
    """
    sessions = runtime.api_sessions or runtime.sessions
    async with transaction(sessions) as session:
        live = await runtime.model_store.refresh(session)
    report, data = await live_report(
        sessions, live, horizons, runtime.versions, runtime.reports, max_age_s
    )
    observe(runtime.metrics, report)
    return data


async def live_report(
    sessions: async_sessionmaker[AsyncSession],
    live: HealthModelConfig,
    horizons: Sequence[int],
    versions: StoredVersions,
    reports: ReportCache,
    max_age_s: float = 0,
) -> tuple[AccuracyReport, dict[str, Any]]:
    """``live``'s report and its data, computed unless the cache has it for this history
    (or, with ``max_age_s``, one computed within that many seconds)."""
    async with transaction(sessions) as session:
        mark = await repo.history_mark(session)

    async def compute() -> tuple[AccuracyReport, dict[str, Any]]:
        async with transaction(sessions) as session:
            history = await load_history(session, versions=versions)
        return await asyncio.to_thread(_report_data, history, live, horizons)

    # the score history's position last: a recent report may lag behind new scores,
    # never behind a new outcome or model (the rest of the mark is the family's)
    key = ("accuracy", live.model_version, tuple(horizons), *mark[1:], mark[0])
    if max_age_s > 0:
        return await reports.recent(key, max_age_s, compute)
    return await reports.get(key, compute)


def _report_data(
    history: History, model: HealthModelConfig, horizons: Sequence[int]
) -> tuple[AccuracyReport, dict[str, Any]]:
    """The report's data, and the report without its samples (kept in the cache for the
    gauge: the samples are the size of the history)."""
    report = build_report(history, model, horizons)
    slim = [replace(h, scored=[]) for h in report.horizons]
    return replace(report, horizons=slim), as_data(report)


@dataclass(frozen=True)
class ShadowComparison:
    horizon_days: int
    n: int
    live_auc: float | None
    candidate_auc: float | None
    message: str | None


async def shadow_status(runtime: ScoringRuntime, horizons: Sequence[int]) -> dict[str, Any]:
    """Band changes the shadow makes, and its AUC beside the live one's (cached as
    :func:`accuracy` is)."""
    sessions = runtime.api_sessions or runtime.sessions
    store = runtime.shadow
    async with transaction(sessions) as session:
        live = await runtime.model_store.refresh(session)
        scorecard = await runtime.scorecard_store.refresh(session)
        candidate = await store.refresh(session)
        if candidate is None or store.shadow_id is None:
            raise NotFound("no shadow model is set")
        band_changes = await repo.band_changes(session, candidate.model_version)
        mark = await repo.history_mark(session)

    async def compute() -> list[dict[str, Any]]:
        if isinstance(candidate, ScorecardCandidate):
            # a scorecard's measures may be new: recomputed point in time from state
            _, results = await population.backtest(sessions, candidate, horizons)
            return [scorecard_backtest.as_data(r) for r in results]
        async with transaction(sessions) as session:
            history = await load_history(session, versions=runtime.versions)
        compared = await asyncio.to_thread(_compare, history, live, candidate, horizons)
        return [c.__dict__ for c in compared]

    # a live scorecard names scores by its own version, not the model config's
    live_version = live_model_version(live, scorecard)
    key = ("shadow", live_version, candidate.model_version, tuple(horizons), mark)
    compared = await runtime.reports.get(key, compute)
    return {
        "shadow_id": store.shadow_id,
        "live_model_version": live_version,
        "candidate_model_version": candidate.model_version,
        "band_changes": band_changes,
        "accuracy": compared,
        "candidate": (
            candidate.document() if isinstance(candidate, ScorecardCandidate) else candidate
        ),
    }


def _compare(
    history: History, live: HealthModelConfig, candidate: HealthModelConfig, horizons: Sequence[int]
) -> list[ShadowComparison]:
    compared = []
    for days in horizons:
        old = horizon_report(history, live, days)
        new = horizon_report(history, candidate, days)
        compared.append(
            ShadowComparison(
                days,
                new.n,
                None if old.overall is None else round(old.overall.auc, 4),
                None if new.overall is None else round(new.overall.auc, 4),
                new.message,
            )
        )
    return compared


async def set_shadow(session: AsyncSession, store: ShadowStore, config: Candidate) -> int:
    document = (
        config.document()
        if isinstance(config, ScorecardCandidate)
        else config.model_dump(mode="json")
    )
    shadow_id = await repo.start_shadow(session, document, config.model_version)
    store.set(shadow_id, config)
    return shadow_id


async def clear_shadow(session: AsyncSession, store: ShadowStore) -> None:
    await repo.end_shadow(session, "cleared", None)
    store.set(None, None)


async def promote(
    session: AsyncSession,
    models: VersionedConfig[HealthModelConfig],
    store: ShadowStore,
    changed_by: str,
) -> tuple[int, HealthModelConfig]:
    """The shadow becomes the next live version; the shadow row records it."""
    candidate = await store.refresh(session)
    if candidate is None:
        raise NotFound("no shadow model to promote")
    if isinstance(candidate, ScorecardCandidate):
        raise Conflict(
            "the shadow is a scorecard: promote it with `vigil scorecard apply FILE`"
            " or PUT /v1/config/scorecard"
        )
    version = await models.update(session, candidate, changed_by)
    await repo.end_shadow(session, "promoted", version)
    store.set(None, None)
    return version, candidate


class AccuracyLoop:
    """Recomputes the live model's accuracy every ``accuracy_interval_s`` (a service loop),
    into the reports' cache: ``GET /v1/model/accuracy`` for the default horizons reads it."""

    def __init__(self, runtime: ScoringRuntime) -> None:
        self._runtime = runtime

    async def run(self, stop: asyncio.Event) -> None:
        r = self._runtime
        await run_periodically(
            stop,
            r.settings.accuracy_interval_s,
            lambda: refresh_accuracy(
                r.sessions, r.model_store, r.shadow, r.metrics, r.versions, r.reports
            ),
            name="accuracy",
        )


async def refresh_accuracy(
    sessions: async_sessionmaker[AsyncSession],
    models: VersionedConfig[HealthModelConfig],
    shadow: ShadowStore,
    metrics: ScoringMetrics,
    versions: StoredVersions,
    reports: ReportCache,
) -> None:
    """One pass of the accuracy loop: pick up a shadow set elsewhere, publish the AUC gauge.
    A stored version that does not validate is skipped, and ``versions`` remembers it."""
    async with transaction(sessions) as session:
        await shadow.refresh(session)
        live = await models.refresh(session)
    # computed as the API's reports are: no connection held, one at a time, cached
    report, _ = await live_report(sessions, live, DEFAULT_HORIZONS, versions, reports)
    observe(metrics, report)
