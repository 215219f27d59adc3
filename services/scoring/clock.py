"""What the scoring clock does: re-score every account, because silence is a signal.

The pass itself (chunks, lock, schedule, worker processes) is
:class:`shared.clock.periodic.ChunkedClock`; :func:`worker_plan` builds the plan again in
each worker process of a split pass.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.scoring.config import ScoringSettings
from services.scoring.metrics import ScoringMetrics
from services.scoring.repository.reads import account_id_bounds, account_ids_page
from services.scoring.scorer import Scorer
from services.scoring.watermark_step import WatermarkStep
from services.scoring.wiring import open_core
from shared.clock.chunks import Sessions
from shared.clock.periodic import ClockObservers, ClockPlan
from shared.database.locks import LockKey


def rescore_plan(scorer: Scorer, watermarks: WatermarkStep | None = None) -> ClockPlan:
    """Each chunk re-scores its accounts at the pass's ``as_of``, never past the
    watermarks (silence is only silence where every source was read); a pass
    counts accounts."""

    async def rescore(session: AsyncSession, ids: Sequence[str], as_of: datetime) -> int:
        bound = None if watermarks is None else await watermarks.clock_bound(session, as_of)
        await scorer.rescore(session, ids, as_of=as_of, trigger="clock", bound=bound)
        return len(ids)

    return ClockPlan(
        "clock pass",
        LockKey.SCORING_CLOCK,
        account_ids_page,
        rescore,
        bounds=account_id_bounds,
        worker=worker_plan,
    )


@asynccontextmanager
async def worker_plan(settings: ScoringSettings) -> AsyncIterator[tuple[Sessions, ClockPlan]]:
    """The plan in a worker process of a split pass."""
    async with standalone_plan(settings) as (_engine, sessions, plan):
        yield sessions, plan


@asynccontextmanager
async def standalone_plan(
    settings: ScoringSettings,
) -> AsyncIterator[tuple[AsyncEngine, Sessions, ClockPlan]]:
    """The plan as the service builds it, outside the service: the model and the shadow in
    force read from the database, as a new replica would; what it counts stays its own."""
    async with AsyncExitStack() as stack:
        core = await open_core(stack, settings, ScoringMetrics.new())
        yield core.engine, core.sessions, rescore_plan(core.scorer, core.watermarks)


def rescore_observers(
    metrics: ScoringMetrics, on_committed: Callable[[int], None]
) -> ClockObservers:
    def passed(_accounts: int, seconds: float) -> None:
        metrics.clock_runs.inc()
        metrics.clock_seconds.observe(seconds)

    return ClockObservers(
        on_committed=on_committed,
        on_chunk=metrics.transaction_seconds.labels("clock").observe,
        on_pass=passed,
        on_error=lambda _error: metrics.transaction_errors.labels("clock").inc(),
    )
