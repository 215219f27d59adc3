"""The default-scorecard-equals-the-model check of ``make evaluate`` and ``make demo``."""

from __future__ import annotations

from datetime import timedelta

from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.repository.scorecard_population import Scorable
from services.scoring.scorecard.compiled import compile_scorecard
from services.scoring.scorecard.default import scorecard_from_config
from tests.support.evaluation.equivalence import Equivalence, compare
from tests.support.evaluation.report import as_json, table_rows
from tests.support.evaluation.score import Observed, evaluate
from tests.support.evaluation.truth import Truth
from tests.unit.scoring.states import NOW, active_account

DEFAULT = HealthModelConfig()
STATES = [
    active_account(),
    active_account(silent_days=14),
    active_account(users=3, seats=30),
    active_account(payment_failures=(NOW - timedelta(days=5),)),
]
PAGE = [Scorable(f"a{i}", state, NOW, None) for i, state in enumerate(STATES)]


def _same(card_config: HealthModelConfig, population: int = len(PAGE)) -> Equivalence:
    result = Equivalence(population)
    compare(result, PAGE, compile_scorecard(scorecard_from_config(card_config)), DEFAULT)
    return result


def test_the_default_scorecard_scores_every_state_as_the_model() -> None:
    result = _same(DEFAULT)
    assert (result.same, result.total, result.ok) == (4, 4, True)
    assert result.detail() == "4/4"


def test_a_scorecard_that_scores_otherwise_is_named_account_by_account() -> None:
    stricter = HealthModelConfig(green_min=99, yellow_min=98)  # every band moves down
    result = _same(stricter)
    assert not result.ok
    assert result.same < result.total == 4
    assert all("default scorecard" in d for d in result.different)
    assert len(result.different) == result.total - result.same


def test_an_account_without_a_stored_state_fails_the_check() -> None:
    result = _same(DEFAULT, population=5)
    assert not result.ok
    assert result.detail() == "4/5 (1 without a stored state)"


def test_the_check_fails_the_run_and_shows_in_the_table() -> None:
    truth = Truth({"a0": "healthy"})
    seen = Observed({"a0": "green"}, {}, [])
    passing = evaluate("live", truth, seen, timedelta(hours=24), equivalence=_same(DEFAULT))
    failing = evaluate(
        "live", truth, seen, timedelta(hours=24), equivalence=_same(DEFAULT, population=5)
    )
    assert passing.passed
    assert [c.name for c in failing.checks if not c.ok] == [
        "default scorecard = model on every account"
    ]
    row = next(r for r in table_rows([passing, failing]) if r[0].startswith("default scorecard"))
    assert row[1:] == ["4/4", "4/5 (1 without a stored state)"]
    assert as_json(failing)["default_scorecard_equals_model"]["same"] == 4
