"""The scorecard's custom playbooks: checked with the rest, every error at its path."""

from __future__ import annotations

import copy
from typing import Any

from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.scorecard.checks import validate
from services.scoring.scorecard.default import scorecard_from_config

BASE: dict[str, Any] = scorecard_from_config(HealthModelConfig()).model_dump(mode="json")


def with_playbooks(*playbooks: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["playbooks"] = list(playbooks)
    return data


def integration_broken(**changes: Any) -> dict[str, Any]:
    playbook: dict[str, Any] = {
        "name": "integration_broken",
        "title": "Integration broken",
        "when": {"signal": "measure", "name": "usage_7d", "op": "<", "enter": 1, "exit": 5},
        "dwell_hours": 24,
        "cooldown_hours": 168,
        "due_hours": 48,
        "segments": ["enterprise", "smb"],
        "payload": {"queue": "integrations", "priority": 2, "page": False},
    }
    return playbook | changes


def errors_of(data: dict[str, Any]) -> list[str]:
    card, errors = validate(data)
    assert card is None
    return errors


def measure_name() -> str:
    return str(BASE["measures"][0]["name"])


def test_a_custom_playbook_on_a_measure_is_valid() -> None:
    when = {"signal": "measure", "name": measure_name(), "op": "<", "enter": 1, "exit": 5}
    card, errors = validate(with_playbooks(integration_broken(when=when)))
    assert errors == [] and card is not None
    assert card.playbooks[0].payload == {"queue": "integrations", "priority": 2, "page": False}


def test_every_reference_and_name_is_checked_at_its_path() -> None:
    errors = errors_of(
        with_playbooks(
            integration_broken(when={"signal": "measure", "name": "nope", "op": "<", "enter": 1}),
            integration_broken(
                name="at_risk",
                when={"signal": "component", "name": "nope", "op": "<", "enter": 1},
                segments=["mars"],
            ),
            integration_broken(when={"signal": "band", "bands": ["red"]}),
        )
    )
    assert errors == [
        "playbooks[2].name: duplicate name 'integration_broken'",
        "playbooks[0].when.name: unknown measure 'nope'",
        "playbooks[1].name: 'at_risk' is a built-in playbook",
        "playbooks[1].when.name: unknown component 'nope'",
        "playbooks[1].segments[0]: unknown segment 'mars'",
    ]


def test_an_exit_threshold_on_the_wrong_side_is_refused() -> None:
    when = {"signal": "score", "op": "<", "enter": 40, "exit": 30}
    (error,) = errors_of(with_playbooks(integration_broken(when=when)))
    assert error.startswith("playbooks[0].when: ")
    assert "exit must not be below enter" in error


def test_numbers_are_finite_and_bounded_and_nothing_is_code() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"due_hours": float("inf")}, "playbooks[0].due_hours"),
        ({"dwell_hours": 1e9}, "playbooks[0].dwell_hours"),
        ({"payload": {"hook": {"eval": "1+1"}}}, "playbooks[0].payload.hook"),
        ({"payload": {f"k{i}": i for i in range(21)}}, "playbooks[0].payload"),
        ({"when": {"signal": "fact", "name": "arr", "op": ">", "enter": 1}}, "playbooks[0].when"),
        ({"when": {"signal": "score", "op": "~=", "enter": 1}}, "playbooks[0].when.op"),
        ({"name": "Bad-Name"}, "playbooks[0].name"),
    ]
    for changes, path in cases:
        errors = errors_of(with_playbooks(integration_broken(**changes)))
        assert errors and all(e.startswith(path) for e in errors), (changes, errors)
