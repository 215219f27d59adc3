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


COLUMNS = (
    f"  {'playbook':<18} {'segment':<10} {'alarms':>6} {'actioned':>8} {'not useful':>10}"
    f" {'false alarm':>11} {'precision':>9} {'95% range':>9} {'to ack':>7} {'to close':>8}"
)
LEGEND = [
    "  alarms: episodes the playbook opened. actioned, not useful, false alarm:",
    "    how CSMs closed them. precision: of the alarms closed with one of those",
    "    three judgements, the share a CSM acted on (actioned / judged).",
    "  95% range: where the true precision lies given how few were judged (a",
    "    Wilson interval). Wide means too few closes to tell; its low end is the",
    "    honest 'at least'. to ack, to close: median time from the alarm.",
    "  Beside the AUC: the AUC says whether the score ranks the accounts that went",
    "    on to churn first; precision says whether an alarm was worth a CSM's time.",
]


def lines(rows: Sequence[Feedback]) -> list[str]:
    """The feedback table as text, with its legend (``vigil calibrate``, ``make demo``)."""
    if not rows:
        return ["  no episode closed with a resolution yet"]
    out = [COLUMNS]
    for row in rows:
        p = row.precision
        share = "-" if p is None else f"{p[0]:.0%}"
        interval = "-" if p is None else f"{p[1]:.0%}-{p[2]:.0%}"
        out.append(
            f"  {row.playbook:<18} {row.segment:<10} {row.opened:>6}"
            f" {row.closed.get('actioned', 0):>8} {row.closed.get('not_useful', 0):>10}"
            f" {row.closed.get('false_alarm', 0):>11} {share:>9} {interval:>9}"
            f" {_span(row.to_acknowledge.median_s):>7} {_span(row.to_close.median_s):>8}"
        )
    return out + LEGEND


def of_data(items: Sequence[dict[str, Any]]) -> list[Feedback]:
    """Rows back from :func:`as_data`'s shape (what ``GET /v1/playbooks/feedback`` answers)."""
    return [
        Feedback(
            playbook=i["playbook"],
            segment=i["segment"],
            opened=i["opened"],
            closed=dict(i["closed"]),
            to_acknowledge=Durations(**i["time_to_acknowledge"]),
            to_close=Durations(**i["time_to_close"]),
        )
        for i in items
    ]


def _span(seconds: float | None) -> str:
    """Hours up to two days, then days: a queue's times read at a glance."""
    if seconds is None:
        return "-"
    if seconds < 2 * 86_400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} d"
