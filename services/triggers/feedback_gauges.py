"""Feedback as Prometheus gauges, refreshed with the service's other gauges (at most
once per ``feedback_refresh_s``: it aggregates the window's episodes)."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.triggers import episode_repository as repo
from services.triggers.domain.feedback import Feedback
from services.triggers.metrics import TriggersMetrics

# a scorecard's playbooks and segments are names like the built-in ones (at most 50 and
# 51 of them); the cap keeps the series bounded whatever the episodes table holds
NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_PAIRS = 2000


class FeedbackGauges:
    def __init__(self, metrics: TriggersMetrics, *, window: timedelta, every_s: float) -> None:
        self._metrics = metrics
        self._window = window
        self._every_s = every_s
        self._last = float("-inf")

    async def refresh(self, session: AsyncSession, now: datetime) -> None:
        if time.monotonic() - self._last < self._every_s:
            return
        rows = await repo.feedback(session, now - self._window)
        self.show(rows)
        self._last = time.monotonic()

    def show(self, rows: Sequence[Feedback]) -> None:
        """Set every gauge from ``rows``: built-in and custom playbooks and segments alike,
        labels only from well-formed names, at most ``MAX_PAIRS`` (playbook, segment)."""
        m = self._metrics
        gauges = (
            m.feedback_closed,
            m.precision,
            m.precision_low,
            m.precision_high,
            m.time_to_acknowledge,
            m.time_to_close,
        )
        for g in gauges:
            g.clear()  # a pair that left the window leaves the gauges
        named = [r for r in rows if NAME.fullmatch(r.playbook) and NAME.fullmatch(r.segment)]
        for row in named[:MAX_PAIRS]:
            labels = (row.playbook, row.segment)
            for resolution, count in row.closed.items():
                m.feedback_closed.labels(*labels, resolution).set(count)
            if (p := row.precision) is not None:
                m.precision.labels(*labels).set(p[0])
                m.precision_low.labels(*labels).set(p[1])
                m.precision_high.labels(*labels).set(p[2])
            for gauge, d in (
                (m.time_to_acknowledge, row.to_acknowledge),
                (m.time_to_close, row.to_close),
            ):
                for quantile, value in (("0.5", d.median_s), ("0.9", d.p90_s)):
                    if value is not None:
                        gauge.labels(*labels, quantile).set(value)
