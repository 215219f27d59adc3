"""Time windows around the server's now, stated in the OpenAPI document from settings."""

from __future__ import annotations

from typing import Any

from services.scoring.app import create_app
from services.scoring.config import ScoringSettings
from shared.schema_rules import WINDOW_KEYWORD, Window

TOKEN = "t" * 40


def test_a_window_holds_and_says_itself() -> None:
    window = Window(after_s=0, before_s=3600)
    assert window.holds(1) and window.holds(3600)
    assert not window.holds(0) and not window.holds(3601)
    schema: dict[str, Any] = {"type": "string", "description": "An expiry"}
    window.state(schema)
    assert schema[WINDOW_KEYWORD] == {"after_s": 0, "before_s": 3600}
    assert schema["description"] == (
        "An expiry. Must be after now and at most now + 3600 s (the server's clock)."
    )


def test_the_scoring_document_states_the_override_and_clock_windows_of_its_settings() -> None:
    document = create_app(ScoringSettings(api_token=TOKEN, override_max_days=7)).openapi()
    for kind in ("PinBand", "AdjustScore", "AdjustComponent"):
        expiry = document["components"]["schemas"][kind]["properties"]["expires_at"]
        assert expiry[WINDOW_KEYWORD] == {"after_s": 0, "before_s": 7 * 86_400}
    (as_of,) = document["paths"]["/v1/clock/rescore"]["post"]["parameters"]
    assert as_of["schema"][WINDOW_KEYWORD] == {"after_s": -86_400.0, "before_s": 86_400.0}
    any_time = ScoringSettings(api_token=TOKEN, clock_any_time=True)
    (lifted,) = create_app(any_time).openapi()["paths"]["/v1/clock/rescore"]["post"]["parameters"]
    assert WINDOW_KEYWORD not in lifted["schema"]
