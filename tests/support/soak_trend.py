"""Did a long run grow? First-quarter against last-quarter medians of its samples (pure).

Medians of whole quarters, not the first and last sample: one sample is
at the mercy of a neighbour's burst on a shared machine, a quarter is not.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Trend:
    name: str
    first: float  # median of the first quarter of the samples
    last: float  # median of the last quarter
    tolerance: float  # growth allowed, as a share of ``first``

    @property
    def growth(self) -> float:
        return self.last / self.first - 1 if self.first > 0 else math.nan

    @property
    def ok(self) -> bool:
        return not math.isnan(self.growth) and self.growth <= self.tolerance

    def describe(self) -> str:
        verdict = "ok  " if self.ok else "GREW"
        return (
            f"{verdict} {self.name}: first quarter {self.first:,.1f}, last quarter"
            f" {self.last:,.1f} ({self.growth:+.1%}, allowed +{self.tolerance:.0%})"
        )


def trend(name: str, values: Sequence[float], tolerance: float) -> Trend:
    """``values`` in time order; NaN (no observation in a sample) left out."""
    known = [v for v in values if not math.isnan(v)]
    if not known:
        return Trend(name, math.nan, math.nan, tolerance)
    quarter = max(1, len(known) // 4)
    return Trend(
        name,
        statistics.median(known[:quarter]),
        statistics.median(known[-quarter:]),
        tolerance,
    )
