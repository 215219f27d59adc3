"""The scorecards ``make evaluate`` stores as live: the default, and a custom one.

``default``: the default scorecard (``scorecard_from_config`` of the default model
config) stored as any scorecard is, so scoring runs the scorecard engine on it, not
the built-in model it equals.

``custom``: the default plus one measure and one playbook. The measure counts
``api_call`` usage over 14 days (read from the daily rollups, a usage type the
built-in model does not tell apart); the playbook ``integration_broken`` opens when it
is zero. Nothing in it touches the score: it scores every account as the default
does, so the default's thresholds still hold.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.scorecard.checks import validate
from services.scoring.scorecard.default import scorecard_from_config
from services.scoring.scorecard.document import Scorecard
from tests.support.evaluation.truth import Truth
from tests.support.workload import CUSTOM_PLAYBOOK

MEASURE = "api_calls_14d"
DEFAULT, CUSTOM = "default", "custom"
SCORECARDS = (DEFAULT, CUSTOM)
# the heading of each one's results
TITLES = {
    DEFAULT: "Default scorecard live (stored as the live scorecard: the scorecard engine scores)",
    CUSTOM: f"Custom scorecard live (the default + `{MEASURE}` and `{CUSTOM_PLAYBOOK}`;"
    " in `scorecard-later` applied once the history is in)",
}


def expected_segments(name: str, truth: Truth) -> dict[str, str]:
    """The segment each account must end in with scorecard ``name`` live: its ARR segment
    (both scorecards cut segments by ARR alone)."""
    return dict(truth.segment)


def scorecard_named(name: str) -> Scorecard:
    """One of ``SCORECARDS``."""
    if name == DEFAULT:
        return scorecard_from_config(HealthModelConfig())
    if name == CUSTOM:
        return custom_scorecard()
    raise ValueError(f"unknown scorecard {name!r}; one of {', '.join(SCORECARDS)}")


def custom_scorecard() -> Scorecard:
    data: dict[str, Any] = scorecard_from_config(HealthModelConfig()).model_dump(mode="json")
    data["version"] = "evaluate-integrations"
    data["measures"].append(
        {
            "name": MEASURE,
            "source": "usage",
            "aggregate": "count",
            "types": ["api_call"],
            "window_days": 14,
        }
    )
    data["playbooks"] = [
        {
            "name": CUSTOM_PLAYBOOK,
            "title": "Integration broken",
            "when": {"signal": "measure", "name": MEASURE, "op": "<", "enter": 1},
            # no dwell: the measure is already a 14-day window (as expansion's signals are);
            # a dwell counts from the first change that shows it, which in a catch-up is
            # the end of the history, not when the calls stopped
            "dwell_hours": 0,
            "cooldown_hours": 7 * 24,
            "due_hours": 48,
            "payload": {"queue": "integrations", "runbook": "reconnect-the-api-key"},
        }
    ]
    card, errors = validate(data)
    if card is None:
        raise ValueError("; ".join(errors))
    return card


async def store_live(engine: AsyncEngine, card: Scorecard, version: int = 1) -> None:
    """``card`` as the live scorecard, as its API stores it (every replica follows)."""
    row = orjson.dumps({"scorecard": card.model_dump(mode="json")}).decode()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO scorecard_config (version, config, changed_by)"
                " VALUES (:v, CAST(:c AS jsonb), 'make evaluate')"
            ),
            {"v": version, "c": row},
        )


async def rescore_claimed(engine: AsyncEngine, version: int) -> bool:
    """Whether a scoring replica adopted ``version`` and claimed its re-score."""
    async with engine.connect() as conn:
        claimed = await conn.scalar(
            text("SELECT rescore_claimed_at IS NOT NULL FROM scorecard_config WHERE version = :v"),
            {"v": version},
        )
    return bool(claimed)
