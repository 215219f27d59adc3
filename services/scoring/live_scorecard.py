"""What scores: the built-in model, or the scorecard stored as live. Pure, but for the store.

No scorecard stored (``LiveScorecard.scorecard`` is None, the defaults row): scoring
keeps the model (``model.score``, the fast path) and explains its scores with the
default scorecard made from the model's config, which scores the same by construction
(tests/unit/scoring/scorecard/test_equivalence.py). A stored scorecard is compiled
once per version and evaluated for every account.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from services.scoring.domain.account_state import NO_NEEDS, AccountState, StateNeeds
from services.scoring.domain.config_check import REFERENCE, sample_accounts
from services.scoring.domain.model import Health, score
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.scorecard.checks import cross_reference_errors
from services.scoring.scorecard.compiled import (
    CompiledScorecard,
    Values,
    compile_scorecard,
    version_of,
)
from services.scoring.scorecard.default import scorecard_from_config
from services.scoring.scorecard.document import Scorecard
from services.scoring.scorecard.evaluate import evaluate, measure_values
from services.scoring.scorecard.explain import Explainer
from shared.database.config_store import VersionedConfig

DAY_OFFSETS = (0, 1, 400)


class LiveScorecard(BaseModel):
    """A row of ``scorecard_config``: the scorecard in force, or None for the built-in model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scorecard: Scorecard | None = None


def live_version(model: HealthModelConfig, live: LiveScorecard) -> str:
    """What scores name as their ``model_version``: the stored scorecard's, or the model's."""
    return version_of(live.scorecard) if live.scorecard is not None else model.model_version


class ScorecardFailure(ValueError):
    """A scorecard that passed its checks failed on one account's data."""


def check_live(live: LiveScorecard) -> None:
    """Raise ``ValueError`` when a scorecard cannot be compiled or score the sample accounts."""
    if live.scorecard is None:
        return
    errors = cross_reference_errors(live.scorecard)
    if errors:
        raise ValueError("; ".join(errors))
    card = compile_scorecard(live.scorecard)
    for state in sample_accounts():
        for days in DAY_OFFSETS:
            evaluated(card, state, REFERENCE + timedelta(days=days))


def evaluated(
    card: CompiledScorecard, state: AccountState, as_of: datetime, reused: LastValues | None = None
) -> Health:
    """The scorecard's health of one account, or ``ScorecardFailure`` saying why not."""
    try:
        values = None if reused is None else reused.values(state, as_of)
        health = evaluate(card, state, as_of, values)
    except (ArithmeticError, ValueError, KeyError, TypeError, IndexError) as error:
        raise ScorecardFailure(
            f"scorecard {card.version} fails on account {state.account_id!r}: {error!r}"
        ) from error
    shown = [health.score, *(v for v in health.components.values() if v is not None)]
    if not all(math.isfinite(v) and 0 <= v <= 100 for v in shown):
        raise ScorecardFailure(
            f"scorecard {card.version} gives account {state.account_id!r} values outside 0-100"
        )
    return health


Score = Callable[[AccountState, datetime], Health]
Explain = Callable[[AccountState, datetime], dict[str, Any]]


@dataclass(frozen=True)
class Engine:
    """How one pass scores and explains: taken once per pass, not per account."""

    score: Score
    explain: Explain
    custom: bool
    scale: HealthModelConfig | CompiledScorecard  # the weights and bands overrides move on
    needs: StateNeeds = NO_NEEDS  # what the scorecard reads beyond the default state


class ScoringEngine:
    """Follows both stores; compiles a scorecard once per version (of it, or of the model)."""

    def __init__(
        self,
        model_store: VersionedConfig[HealthModelConfig],
        scorecard_store: VersionedConfig[LiveScorecard] | None = None,
    ) -> None:
        self.model_store = model_store
        self.scorecard_store = scorecard_store
        self._key: tuple[int, int] | None = None
        self._engine: Engine | None = None

    def current(self) -> Engine:
        live = self.scorecard_store.version if self.scorecard_store is not None else 0
        key = (self.model_store.version, live)
        if self._engine is None or key != self._key:
            self._engine, self._key = self._build(), key
        return self._engine

    def live_card(self) -> Scorecard:
        """The scorecard in force: the stored one, or the model's config as a scorecard."""
        stored = self.scorecard_store.current.scorecard if self.scorecard_store else None
        return stored or scorecard_from_config(self.model_store.current)

    def _build(self) -> Engine:
        stored = self.scorecard_store.current.scorecard if self.scorecard_store else None
        if stored is None:
            config = self.model_store.current
            explainer = Explainer.of(compile_scorecard(scorecard_from_config(config)))
            return Engine(
                lambda state, as_of: score(state, as_of, config), explainer.explain, False, config
            )
        card = compile_scorecard(stored)
        reused = LastValues(card)
        return Engine(
            lambda state, as_of: evaluated(card, state, as_of, reused),
            reused.explain,
            True,
            card,
            card.needs,
        )


class LastValues:
    """The measures' values of the account last scored: a published change's explanation,
    asked for right after its score, reads them instead of computing them again."""

    def __init__(self, card: CompiledScorecard) -> None:
        self.card, self.explainer = card, Explainer.of(card)
        self._last: tuple[AccountState, datetime, Values] | None = None

    def explain(self, state: AccountState, as_of: datetime) -> dict[str, Any]:
        return self.explainer.explain(state, as_of, self.values(state, as_of))

    def values(self, state: AccountState, as_of: datetime) -> Values:
        last = self._last
        if last is not None and last[0] is state and last[1] == as_of:
            return last[2]
        values = measure_values(self.card, state, as_of)
        self._last = (state, as_of, values)
        return values
