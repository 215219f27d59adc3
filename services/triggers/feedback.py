"""Feedback as live precision: what the people who closed episodes said of them. Pure.

Per playbook and segment: closed episodes by resolution, and precision by
feedback, ``actioned / (actioned + not_useful + false_alarm)``, with a 95% Wilson
score interval (honest at small counts and at 0 or 1, where the normal
approximation collapses to a point). Time to acknowledge and to close, from the
episode's opening: median and 90th percentile (PostgreSQL computes them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Durations:
    """Seconds from opening, over the episodes that have the step (``n``)."""

    n: int = 0
    median_s: float | None = None
    p90_s: float | None = None


@dataclass(frozen=True)
class Feedback:
    playbook: str
    segment: str
    opened: int
    closed: dict[str, int] = field(default_factory=dict)  # resolution -> count
    to_acknowledge: Durations = Durations()
    to_close: Durations = Durations()

    @property
    def judged(self) -> int:
        return sum(self.closed.get(r, 0) for r in ("actioned", "not_useful", "false_alarm"))

    @property
    def precision(self) -> tuple[float, float, float] | None:
        """(precision, low, high), or ``None`` before the first judgement."""
        if self.judged == 0:
            return None
        return wilson(self.closed.get("actioned", 0), self.judged)


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float, float]:
    """The proportion and its Wilson score interval (clipped to [0, 1])."""
    if n <= 0:
        raise ValueError("n must be positive")
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return p, max(0.0, centre - half), min(1.0, centre + half)


def as_data(rows: Sequence[Feedback]) -> list[dict[str, Any]]:
    """JSON-ready rows (the API's and ``vigil calibrate --json``'s shape)."""
    out = []
    for row in rows:
        precision = row.precision
        out.append(
            {
                "playbook": row.playbook,
                "segment": row.segment,
                "opened": row.opened,
                "closed": {
                    r: row.closed.get(r, 0) for r in ("actioned", "not_useful", "false_alarm")
                },
                "judged": row.judged,
                "precision": None if precision is None else precision[0],
                "precision_low": None if precision is None else precision[1],
                "precision_high": None if precision is None else precision[2],
                "time_to_acknowledge": _durations(row.to_acknowledge),
                "time_to_close": _durations(row.to_close),
            }
        )
    return out


def _durations(d: Durations) -> dict[str, Any]:
    return {"n": d.n, "median_s": d.median_s, "p90_s": d.p90_s}


def lines(rows: Sequence[Feedback]) -> list[str]:
    """The feedback table as text (``vigil calibrate``, ``make demo``)."""
    if not rows:
        return ["  no episode closed with a resolution yet"]
    out = [
        f"  {'playbook':<19} {'segment':<11} {'opened':>6} {'act':>4} {'n/u':>4} {'f/a':>4}"
        f"  {'precision [95%]':<20} {'ack p50':>8} {'close p50':>9}"
    ]
    for row in rows:
        p = row.precision
        shown = "-" if p is None else f"{p[0]:.2f} [{p[1]:.2f}, {p[2]:.2f}]"
        out.append(
            f"  {row.playbook:<19} {row.segment:<11} {row.opened:>6}"
            f" {row.closed.get('actioned', 0):>4} {row.closed.get('not_useful', 0):>4}"
            f" {row.closed.get('false_alarm', 0):>4}  {shown:<20}"
            f" {_hours(row.to_acknowledge.median_s):>8} {_hours(row.to_close.median_s):>9}"
        )
    return out


def _hours(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 3600:.1f} h"
