"""What the triggers' clock does: time-based playbooks (renewal, onboarding) for every
account, then end the snoozes that are due (the episode is open again, and says so)
and prune scores too old for any rule.

The pass itself (chunks, lock, schedule) is :class:`shared.clock.periodic.ChunkedClock`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.triggers.episode_service import end_snoozes
from services.triggers.handler import PlaybookEvaluator
from services.triggers.metrics import TriggersMetrics
from services.triggers.repository import account_ids_page, prune_scores
from shared.clock.periodic import ClockObservers, ClockPlan
from shared.database.locks import LockKey

# Scores are kept a year; a timedelta, because ``replace(year=...)`` fails on 29 February.
SCORE_RETENTION = timedelta(days=365)


def prune_cutoff(now: datetime) -> datetime:
    """Scores older than this are read by no rule any more."""
    return now - SCORE_RETENTION


def playbook_plan(playbook_evaluator: PlaybookEvaluator) -> ClockPlan:
    """Each chunk evaluates its accounts at ``now``; a pass counts the events emitted."""

    async def prune(session: AsyncSession, now: datetime) -> None:
        await end_snoozes(session, now, playbook_evaluator.topic, playbook_evaluator.wall_now())
        await prune_scores(session, prune_cutoff(now))

    return ClockPlan(
        "triggers clock",
        LockKey.TRIGGERS_CLOCK,
        account_ids_page,
        playbook_evaluator.on_clock,
        prune,
    )


def playbook_observers(
    metrics: TriggersMetrics, on_committed: Callable[[int], None]
) -> ClockObservers:
    return ClockObservers(
        on_committed=on_committed, on_pass=lambda _n, _s: metrics.clock_runs.inc()
    )
