"""How a score was reached, in numbers a person can recompute by hand. Pure.

``explain(card, state, as_of)`` answers the contract's ``Explanation`` as plain data
(the hot path serializes dicts): each measure's value and points, each component's
value and weight in the account's segment, the weighted mean, and each risk flag
that applied with its cap and its effect. The score is the weighted mean plus the
effects, in order: the lowest cap applies first, each further flag lowers it by the
scorecard's step (as ``evaluate.risk_cap`` does), and ``effect`` is the score after
that cap minus the score before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.scoring.domain.account_state import AccountState
from services.scoring.scorecard.compiled import CompiledScorecard, Values
from services.scoring.scorecard.evaluate import _weighted, measure_values
from services.scoring.scorecard.measures import PointsFn

Plain = dict[str, Any]


@dataclass(frozen=True)
class Explainer:
    """A compiled scorecard with, per measure, how its value becomes points."""

    card: CompiledScorecard
    # measure -> (points, fixed points when missing or None to renormalize)
    points: dict[str, tuple[PointsFn, float | None]]

    @classmethod
    def of(cls, card: CompiledScorecard) -> Explainer:
        table: dict[str, tuple[PointsFn, float | None]] = {}
        for component in card.components:
            for name, _weight, to_points, fixed in component.items:
                table.setdefault(name, (to_points, fixed))
        return cls(card, table)

    def explain(self, state: AccountState, as_of: datetime, values: Values | None = None) -> Plain:
        """``values``: the measures' values at ``as_of``, when the caller has them already."""
        if values is None:
            values = measure_values(self.card, state, as_of)
        mean, segment, components, coverage, _findings = _weighted(self.card, state, values)
        weights = self.card.weights[segment]
        return {
            "scorecard_version": self.card.version,
            "segment": segment,
            "measures": {name: self._measure(name, values) for name in values},
            "components": {
                name: {"value": value, "weight": weights[name]}
                for name, value in components.items()
            },
            "weighted_mean": mean if coverage > 0 else None,
            "caps": caps_applied(self.card, values, mean),
        }

    def _measure(self, name: str, values: Values) -> Plain:
        value = values[name]
        rule = self.points.get(name)
        if rule is None:
            return {"value": _finite(value), "points": None}  # read by conditions only
        to_points, fixed = rule
        points = fixed if value is None else to_points(value)
        return {"value": _finite(value), "points": _finite(points)}


def _finite(value: float | None) -> float | None:
    """JSON has no infinity: a value that overflowed is shown as unknown."""
    return value if value is None or math.isfinite(value) else None


def caps_applied(card: CompiledScorecard, values: Values, mean: float) -> list[Plain]:
    """Each flag that holds, lowest cap first, with the cap it applied and its effect."""
    held = sorted(
        (cap, name) for name, checks, cap in card.flags if all(check(values) for check in checks)
    )
    if not held:
        return []
    lowest = held[0][0]
    score, applied = mean, []
    for i, (_cap, name) in enumerate(held):
        cap = max(0.0, lowest - card.risk_step * i)
        after = round(min(score, cap), 1)
        applied.append({"flag": name, "cap": cap, "effect": round(after - score, 1)})
        score = after
    return applied
