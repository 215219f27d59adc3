"""The default scorecard against the built-in model on every account's stored state.

The state is what scoring stored at the end of the run, read back the way the
scorecard tools read it (``services.scoring.repository.scorecard_population.pages``: the
scorer's own loader, at each account's latest score time); on it, the default
scorecard compiled from the default config and ``model.score`` with that config
must give the same score and band, whatever scorecard is live.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from services.scoring.domain.model import score
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.repository.scorecard_population import Scorable, pages, state_needs
from services.scoring.scorecard.compiled import CompiledScorecard, compile_scorecard
from services.scoring.scorecard.default import scorecard_from_config
from services.scoring.scorecard.evaluate import evaluate
from shared.database.engine import create_sessionmaker


@dataclass
class Equivalence:
    """How many accounts of the population the default scorecard scores as the model."""

    population: int
    total: int = 0
    same: int = 0
    different: list[str] = field(default_factory=list)  # a few, described

    @property
    def ok(self) -> bool:
        return self.same == self.total == self.population

    def detail(self) -> str:
        unread = self.population - self.total
        missing = f" ({unread} without a stored state)" if unread else ""
        return f"{self.same}/{self.population}{missing}"

    def as_json(self) -> dict[str, Any]:
        return {
            "same": self.same,
            "accounts": self.population,
            "read": self.total,
            "different": self.different,
        }


def compare(
    result: Equivalence, page: Iterable[Scorable], card: CompiledScorecard, cfg: HealthModelConfig
) -> None:
    for account in page:
        model = score(account.state, account.as_of, cfg)
        scorecard = evaluate(card, account.state, account.as_of)
        result.total += 1
        if (model.score, model.band) == (scorecard.score, scorecard.band):
            result.same += 1
        elif len(result.different) < 10:
            result.different.append(
                f"{account.account_id} at {account.as_of.isoformat()}: model"
                f" {model.score} {model.band}, default scorecard {scorecard.score} {scorecard.band}"
            )


async def default_equals_model(
    engine: AsyncEngine, population: int, chunk: int = 500
) -> Equivalence:
    """Every stored account's state, the default scorecard and the model side by side."""
    cfg = HealthModelConfig()
    card = compile_scorecard(scorecard_from_config(cfg))
    result = Equivalence(population)
    async for page in pages(create_sessionmaker(engine), state_needs(card), chunk):
        compare(result, page, card, cfg)
    return result
