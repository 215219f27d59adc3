"""The scorecards ``make evaluate`` stores as live: the default, and a custom one.

``default``: the default scorecard (``scorecard_from_config`` of the default model
config) stored as any scorecard is, so scoring runs the scorecard engine on it, not
the built-in model it equals.

``custom``: the default plus one measure, a declared attribute, four segments and
two playbooks. The measure counts ``api_call`` usage over 14 days (read from the daily
rollups, a usage type the built-in model does not tell apart); the playbook
``integration_broken`` opens when it is zero. The attribute is ``region``, an extra
field of subscription events; before the four ARR segments come their copies for
region ``apac`` (``apac_enterprise`` …, ``apac_self_serve`` on the region alone),
and ``integration_broken_apac`` is ``integration_broken`` for those segments only.
Nothing in it touches the score (a copy weighs as the segment it mirrors): it scores
every account as the default does, so the default's thresholds still hold.
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
from tests.support.workload import CUSTOM_PLAYBOOK, REGIONAL, REGIONAL_PLAYBOOK

MEASURE = "api_calls_14d"
DEFAULT, CUSTOM = "default", "custom"
SCORECARDS = (DEFAULT, CUSTOM)
# the heading of each one's results
TITLES = {
    DEFAULT: "Default scorecard live (stored as the live scorecard: the scorecard engine scores)",
    CUSTOM: f"Custom scorecard live (the default + `{MEASURE}`, `{CUSTOM_PLAYBOOK}`,"
    f" attribute `region`, segments `{REGIONAL}_*` and `{REGIONAL_PLAYBOOK}`;"
    " in `scorecard-later` applied once the history is in)",
}
# the region's copies of the segments, first match wins: before the ones they mirror
REGION = {"attribute": "region", "op": "in", "value": [REGIONAL]}


def expected_segments(name: str, truth: Truth) -> dict[str, str]:
    """The segment each account must end in with scorecard ``name`` live: its ARR segment,
    and with the custom one that segment's regional copy for the accounts of the region."""
    if name != CUSTOM:
        return dict(truth.segment)
    return {
        a: f"{REGIONAL}_{segment}" if truth.region.get(a) == REGIONAL else segment
        for a, segment in truth.segment.items()
    }


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
    data["playbooks"] = _playbooks(_regional_segments(data))
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


def _regional_segments(data: dict[str, Any]) -> list[str]:
    """Declares ``region`` and puts the region's copy of every segment (the default one
    too, on the region alone) before the segments, weighed as the one it mirrors;
    returns the copies' names."""
    data["attributes"] = [{"name": "region", "type": "text"}]
    mirrored = [*data["segments"], {"name": data["default_segment"], "when": []}]
    names = [f"{REGIONAL}_{s['name']}" for s in mirrored]
    regional = [
        {"name": name, "when": [REGION, *s["when"]]}
        for name, s in zip(names, mirrored, strict=True)
    ]
    data["segments"] = regional + data["segments"]
    for name, s in zip(names, mirrored, strict=True):
        data["weights"][name] = data["weights"][s["name"]]
    return names


def _playbooks(regional: list[str]) -> list[dict[str, Any]]:
    """``integration_broken`` on every segment, and its copy on the ``regional`` ones."""
    broken = {
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
    title = f"Integration broken ({REGIONAL})"
    return [broken, broken | {"name": REGIONAL_PLAYBOOK, "title": title, "segments": regional}]
