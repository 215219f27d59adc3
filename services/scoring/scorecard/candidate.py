"""A scorecard as a shadow or backtest candidate: the document, checked and compiled once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.scoring.scorecard.checks import validate
from services.scoring.scorecard.compiled import CompiledScorecard, compile_scorecard
from services.scoring.scorecard.document import Scorecard


@dataclass(frozen=True)
class ScorecardCandidate:
    card: Scorecard
    compiled: CompiledScorecard
    # the name scores carry when it is not the card's own: the built-in model's version,
    # for the model's config read as a scorecard
    label: str | None = None

    @property
    def model_version(self) -> str:
        return self.label or self.compiled.version

    def document(self) -> dict[str, Any]:
        return self.card.model_dump(mode="json")


def is_scorecard(data: Any) -> bool:
    """A stored or posted candidate is a scorecard when it declares measures (a model
    config has none)."""
    return isinstance(data, dict) and "measures" in data


def scorecard_candidate(data: Any) -> ScorecardCandidate:
    """The candidate, or ``ValueError`` with every error, each with its path."""
    card, errors = validate(data)
    if card is None:
        raise ValueError("; ".join(errors))
    return ScorecardCandidate(card, compile_scorecard(card))
