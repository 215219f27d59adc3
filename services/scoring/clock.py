"""What the scoring clock does: re-score every account, because silence is a signal.

The pass itself (chunks, lock, schedule) is :class:`shared.clock.ChunkedClock`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.metrics import ScoringMetrics
from services.scoring.repository.reads import account_ids_page
from services.scoring.scorer import Scorer
from services.scoring.watermark_step import WatermarkStep
from shared.clock import ClockHooks, ClockPlan
from shared.locks import LockKey


def rescore_plan(scorer: Scorer, watermarks: WatermarkStep | None = None) -> ClockPlan:
    """Each chunk re-scores its accounts at the pass's ``as_of``, never past the watermarks
    (silence is only silence up to them); a pass counts accounts."""

    async def rescore(session: AsyncSession, ids: Sequence[str], as_of: datetime) -> int:
        bound = None if watermarks is None else await watermarks.clock_bound(session, as_of)
        await scorer.rescore(session, ids, as_of=as_of, trigger="clock", bound=bound)
        return len(ids)

    return ClockPlan("clock pass", LockKey.SCORING_CLOCK, account_ids_page, rescore)


def rescore_hooks(metrics: ScoringMetrics, on_committed: Callable[[int], None]) -> ClockHooks:
    def passed(_accounts: int, seconds: float) -> None:
        metrics.clock_runs.inc()
        metrics.clock_seconds.observe(seconds)

    return ClockHooks(
        on_committed=on_committed,
        on_chunk=metrics.transaction_seconds.labels("clock").observe,
        on_pass=passed,
        on_error=lambda _error: metrics.transaction_errors.labels("clock").inc(),
    )
