"""Custom playbooks on the real broker and database: the live scorecard's playbook
opens from a health change's explanation, reaches playbook.events and the episodes
API, and a scorecard stored while triggers runs is followed."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from sqlalchemy import text

from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.scorecard.checks import validate
from services.scoring.scorecard.default import scorecard_from_config
from services.triggers.app import create_app
from services.triggers.config import TriggersSettings
from shared.contracts import HealthChange
from shared.contracts.outputs import Explanation, MeasureExplanation
from shared.database.engine import create_engine
from shared.kafka.clients import ensure_topics
from tests.integration.kafka_io import read_topic
from tests.integration.test_triggers import TOKEN, change, send, settings_for


def scorecard(version: str, enter: float) -> dict[str, Any]:
    """The default scorecard plus a custom playbook on one of its measures."""
    data = copy.deepcopy(scorecard_from_config(HealthModelConfig()).model_dump(mode="json"))
    data["version"] = version
    measure = data["measures"][0]["name"]
    data["playbooks"] = [
        {
            "name": "integration_broken",
            "title": "Integration broken",
            "when": {"signal": "measure", "name": measure, "op": "<", "enter": enter},
            "due_hours": 48,
            "payload": {"queue": "integrations"},
        }
    ]
    card, errors = validate(data)
    assert card is not None, errors
    return card.model_dump(mode="json")


def explained(account: str, hours: float, value: float, revision: int) -> HealthChange:
    base = change(account, hours, 80, "green")
    measure = scorecard("x", 1)["measures"][0]["name"]
    explanation = Explanation(
        scorecard_version="c1",
        segment="smb",
        measures={measure: MeasureExplanation(value=value, points=None)},
        components={},
        weighted_mean=None,
        caps=[],
    )
    return base.model_copy(update={"explanation": explanation, "revision": revision})


async def store(database: str, version: int, config: dict[str, Any]) -> None:
    engine = create_engine(database, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO scorecard_config (version, config, changed_by)"
                    " VALUES (:v, CAST(:c AS jsonb), 'test')"
                ),
                {"v": version, "c": orjson.dumps({"scorecard": config}).decode()},
            )
    finally:
        await engine.dispose()


@asynccontextmanager
async def running(settings: TriggersSettings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://triggers", headers=headers
        ) as client:
            yield app, client


async def following(app: FastAPI, version: int) -> None:
    """Until the service's live playbooks are at ``version`` (the follower polls)."""
    async with asyncio.timeout(20):
        while app.state.runtime.playbooks.version != version:  # noqa: ASYNC110 - a polled store
            await asyncio.sleep(0.05)


async def test_a_custom_playbook_opens_from_the_explanation_and_follows_a_new_scorecard(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    await store(database, 1, scorecard("c1", enter=1))
    settings = settings_for(infra, topic_names, database, config_poll_interval_s=0.2)
    async with running(settings) as (app, client):
        assert app.state.runtime.playbooks.version == 1  # read before the first batch
        await send(
            infra,
            topic_names.health_changes,
            [
                explained("ok", 0, 30, 1),
                explained("broken", 0, 30, 1),
                explained("broken", 1, 0, 2),
            ],
        )
        records = await read_topic(
            infra.kafka_bootstrap, topic_names.playbook_events, until=lambda r: len(r) >= 1
        )
        events = [orjson.loads(r.value) for r in records]
        assert [(e["account_id"], e["playbook"], e["kind"]) for e in events] == [
            ("broken", "integration_broken", "triggered")
        ]
        assert events[0]["payload"] == {"queue": "integrations"}
        listed = await client.get(
            "/v1/playbooks/episodes", params={"playbook": "integration_broken", "status": "open"}
        )
        assert listed.status_code == 200, listed.text
        assert [i["account_id"] for i in listed.json()["items"]] == ["broken"]

        # a scorecard applied while it runs: "ok" (30) is now under the threshold
        await store(database, 2, scorecard("c2", enter=50))
        await following(app, 2)
        await send(infra, topic_names.health_changes, [explained("ok", 2, 30, 2)])
        records = await read_topic(
            infra.kafka_bootstrap, topic_names.playbook_events, until=lambda r: len(r) >= 2
        )
    summary = [
        (e["account_id"], e["playbook"], e["kind"])
        for e in map(orjson.loads, (r.value for r in records))
    ]
    assert summary == [
        ("broken", "integration_broken", "triggered"),
        ("ok", "integration_broken", "triggered"),
    ]


async def test_a_change_scored_by_a_new_scorecard_is_judged_with_its_playbooks(
    infra, topic_names, database
) -> None:
    """Stored while triggers runs, followed before its first change is judged, however
    long the poll interval (scoring stores a scorecard before publishing by it)."""
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    await store(database, 1, scorecard("c1", enter=1))
    settings = settings_for(infra, topic_names, database, config_poll_interval_s=60)
    async with running(settings) as (app, _client):
        await send(infra, topic_names.health_changes, [explained("ok", 0, 30, 1)])
        await store(database, 2, scorecard("c2", enter=50))  # "ok" (30) is now under it
        rescored = explained("ok", 1, 30, 2).model_copy(update={"model_version": "c2+0a1b2c3d"})
        await send(infra, topic_names.health_changes, [rescored])
        records = await read_topic(
            infra.kafka_bootstrap, topic_names.playbook_events, until=lambda r: len(r) >= 1
        )
        assert app.state.runtime.playbooks.version == 2
    events = [orjson.loads(r.value) for r in records]
    assert [(e["account_id"], e["playbook"], e["kind"]) for e in events] == [
        ("ok", "integration_broken", "triggered")
    ]
