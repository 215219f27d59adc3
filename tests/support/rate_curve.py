"""Where latency passes a limit as the offered rate grows: the search and the estimate (pure).

The benchmark measures p99 latency at a few fixed rates, then probes more rates
to bracket the one where p99 passes the limit: doubling up from the highest
rate under it (or halving down from the lowest when every rate is over it),
then bisecting the bracket on a log scale until it is narrow or the probes
run out. Latency on a shared machine is noisy and need not rise monotonically
with the rate, so the bracket is always taken from the highest rate under the
limit, as the question is "up to which rate does it hold".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Point:
    rate: float  # offered events per second
    p99_s: float  # the latency compared with the limit


@dataclass(frozen=True)
class Bracket:
    under: Point | None  # the highest rate whose p99 is under the limit
    over: Point | None  # the lowest rate above ``under`` whose p99 is at or over it


def bracket(points: Sequence[Point], limit_s: float) -> Bracket:
    ordered = sorted((p for p in points if not math.isnan(p.p99_s)), key=lambda p: p.rate)
    under = max((p for p in ordered if p.p99_s < limit_s), key=lambda p: p.rate, default=None)
    floor = under.rate if under else -math.inf
    over = next((p for p in ordered if p.rate > floor and p.p99_s >= limit_s), None)
    return Bracket(under, over)


def next_rate(
    points: Sequence[Point], limit_s: float, *, narrow: float = 1.15, lowest: float = 25.0
) -> float | None:
    """The next rate to measure, or None when the crossing is bracketed within ``narrow``
    (the ratio of the bracket's ends) or cannot be narrowed (below ``lowest``)."""
    b = bracket(points, limit_s)
    if b.under is None and b.over is None:
        return None
    if b.over is None:
        assert b.under is not None
        return b.under.rate * 2
    if b.under is None:
        half = b.over.rate / 2
        return half if half >= lowest else None
    if b.over.rate / b.under.rate <= narrow:
        return None
    return math.sqrt(b.under.rate * b.over.rate)


def crossing(points: Sequence[Point], limit_s: float) -> float | None:
    """The rate where p99 reaches ``limit_s``, interpolated between the bracket's ends
    (linear in p99 against log rate); None when not bracketed."""
    b = bracket(points, limit_s)
    if b.under is None or b.over is None:
        return None
    low, high = math.log(b.under.rate), math.log(b.over.rate)
    share = (limit_s - b.under.p99_s) / (b.over.p99_s - b.under.p99_s)
    return math.exp(low + share * (high - low))
