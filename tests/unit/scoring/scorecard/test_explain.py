"""Every score explains itself: the weighted mean plus each cap's effect is the score."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.domain.account_state import AccountState, OpenTicket, Response
from services.scoring.domain.model import score
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.live_scorecard import LiveScorecard, ScoringEngine
from services.scoring.scorecard.checks import validate
from services.scoring.scorecard.compiled import compile_scorecard
from services.scoring.scorecard.default import scorecard_from_config
from services.scoring.scorecard.evaluate import evaluate
from services.scoring.scorecard.explain import Explainer
from shared.contracts import Explanation
from shared.database.config_store import VersionedConfig
from tests.unit.scoring.scorecard.test_equivalence import wider_states
from tests.unit.scoring.states import NOW, active_account
from tests.unit.scoring.test_model_properties import states

DEFAULT = HealthModelConfig()
EXPLAINER = Explainer.of(compile_scorecard(scorecard_from_config(DEFAULT)))


def recomputed(explanation: dict[str, Any]) -> float:
    """The score as a person recomputes it from what the explanation shows."""
    mean = explanation["weighted_mean"]
    value = 50.0 if mean is None else mean
    return round(float(value) + sum(float(c["effect"]) for c in explanation["caps"]), 1)


def paying_late() -> AccountState:
    """Busy and adopted, a lukewarm survey, two failed payments this month."""
    return replace(
        active_account(),
        responses=(Response("nps", 6, NOW - timedelta(days=3)),),
        payment_failures=(NOW - timedelta(days=5), NOW - timedelta(days=20)),
    )


def test_a_score_set_by_a_cap_names_the_cap_and_its_effect() -> None:
    state = paying_late()
    health = score(state, NOW, DEFAULT)
    explanation = EXPLAINER.explain(state, NOW)
    assert (health.score, health.band) == (55.0, "yellow")
    assert health.reasons == ["Payment failed 2 times in 90 days"]
    mean = explanation["weighted_mean"]
    assert mean is not None and 80 < mean < 86  # what the components alone would give
    assert explanation["caps"] == [
        {"flag": "payment_failed_30d", "cap": 55.0, "effect": round(55.0 - mean, 1)}
    ]
    weights = DEFAULT.weights[health.segment].as_dict()
    shown = explanation["components"]
    assert {n: c["weight"] for n, c in shown.items()} == weights
    assert {n: c["value"] for n, c in shown.items()} == health.components
    by_hand = sum(weights[n] * v for n, v in health.components.items() if v is not None)
    covered = sum(weights[n] for n, v in health.components.items() if v is not None)
    assert abs(by_hand / covered - mean) <= 0.1  # the components are shown rounded
    assert recomputed(explanation) == health.score
    Explanation.model_validate(explanation)


def test_each_further_flag_lowers_the_lowest_cap_by_the_step() -> None:
    urgent = (OpenTicket("urgent", NOW - timedelta(days=1)),)
    state = replace(paying_late(), open_tickets=urgent)
    health = score(state, NOW, DEFAULT)
    caps = EXPLAINER.explain(state, NOW)["caps"]
    assert [c["flag"] for c in caps] == ["payment_failed_30d", "urgent_ticket"]
    assert [c["cap"] for c in caps] == [55.0, 55.0 - DEFAULT.risk_flag_step]
    assert caps[1]["effect"] == -DEFAULT.risk_flag_step
    assert health.score == 55.0 - DEFAULT.risk_flag_step
    assert recomputed(EXPLAINER.explain(state, NOW)) == health.score


def test_every_measure_of_the_default_scorecard_is_shown_with_its_points() -> None:
    explanation = EXPLAINER.explain(paying_late(), NOW)
    card = scorecard_from_config(DEFAULT)
    assert set(explanation["measures"]) == {m.name for m in card.measures}
    assert explanation["measures"]["failed_payments_30d"] == {"value": 2.0, "points": None}
    assert explanation["measures"]["survey_points"] == {"value": 60.0, "points": 60.0}


@settings(max_examples=400, deadline=None)
@given(st.one_of(states, wider_states), st.integers(0, 30))
def test_the_explanation_recomputes_the_models_score(state: AccountState, days: int) -> None:
    as_of = NOW + timedelta(days=days)
    health = score(state, as_of, DEFAULT)
    explanation = EXPLAINER.explain(state, as_of)
    assert recomputed(explanation) == health.score
    assert explanation["segment"] == health.segment
    assert {n: c["value"] for n, c in explanation["components"].items()} == health.components
    assert all(cap["effect"] <= 0 for cap in explanation["caps"])
    Explanation.model_validate(explanation)


def test_a_custom_scorecard_is_evaluated_and_explained_by_the_engine() -> None:
    data = copy.deepcopy(scorecard_from_config(DEFAULT).model_dump(mode="json"))
    data["version"] = "custom-1"
    data["risk"]["flags"].append(
        {
            "name": "few_users",
            "when": [{"measure": "active_users", "op": "<", "value": 5}],
            "cap": 35,
        }
    )
    card, errors = validate(data)
    assert errors == [] and card is not None

    store = VersionedConfig("scorecard_config", LiveScorecard)
    store.current, store.version = LiveScorecard(scorecard=card), 2
    engine = ScoringEngine(VersionedConfig("scoring_config", HealthModelConfig), store).current()
    assert engine.custom
    state = active_account(users=2)
    health = engine.score(state, NOW)
    assert health == evaluate(compile_scorecard(card), state, NOW)
    assert health.score == 35.0
    explanation = engine.explain(state, NOW)
    assert explanation["scorecard_version"].startswith("custom-1+")
    assert [c["flag"] for c in explanation["caps"]] == ["few_users"]
    assert recomputed(explanation) == health.score


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.one_of(states, wider_states), st.integers(0, 30)), max_size=4))
def test_the_engine_explains_each_account_as_a_fresh_explanation_does(
    scored: list[tuple[AccountState, int]],
) -> None:
    """The engine's explanation reuses the measures' values of the account it last scored:
    in any order of scores and explanations, it equals one computed from scratch."""
    card = scorecard_from_config(DEFAULT).model_copy(update={"version": "reused"})
    store = VersionedConfig("scorecard_config", LiveScorecard)
    store.current, store.version = LiveScorecard(scorecard=card), 2
    engine = ScoringEngine(VersionedConfig("scoring_config", HealthModelConfig), store).current()
    fresh = Explainer.of(compile_scorecard(card))
    for state, days in scored:
        as_of = NOW + timedelta(days=days)
        assert engine.score(state, as_of) == evaluate(compile_scorecard(card), state, as_of)
        assert engine.explain(state, as_of) == fresh.explain(state, as_of)
        later = as_of + timedelta(days=1)  # another as_of of the same state: not the last values
        assert engine.explain(state, later) == fresh.explain(state, later)
