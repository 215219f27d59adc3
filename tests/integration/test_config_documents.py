"""The config routes take back the document they answer, and say who stored it and when;
the clock routes run at the service's now when no time is given, and check a given time
against that clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI

from services.scoring.app import create_app as scoring_app
from services.scoring.config import ScoringSettings
from services.triggers.app import create_app as triggers_app
from services.triggers.config import TriggersSettings
from shared.kafka.clients import ensure_topics
from tests.integration.keys import SECRETS_KEY

TOKEN = "test-token-documents-0123456789abcdef0123456789abcdef"
# an injected clock far from the wall clock: a route that defaults to it did not read the wall
SERVICE_NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://vigil",
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as client,
    ):
        yield client


def _common(infra, topic_names, database: str) -> dict[str, Any]:
    return {
        "kafka_bootstrap": infra.kafka_bootstrap,
        "database_url": database,
        "api_token": TOKEN,
        "topics": topic_names,
        "group_id": f"documents-{uuid.uuid4().hex[:6]}",
        "clock_enabled": False,
    }


async def _round_trip(client: httpx.AsyncClient, path: str, change: dict[str, object]) -> None:
    read = (await client.get(path)).json()
    assert read["version"] == 1 and read["changed_by"] == "defaults"
    assert datetime.fromisoformat(read["created_at"]).tzinfo is not None
    changed = {**read, "config": {**read["config"], **change}}
    stored = await client.put(path, json=changed)
    assert stored.status_code == 200, stored.text
    assert stored.json()["version"] == 2
    assert stored.json()["changed_by"].startswith("admin token sha256:")
    again = (await client.get(path)).json()
    assert again["version"] == 2 and again["config"] == stored.json()["config"]
    assert again["changed_by"] == stored.json()["changed_by"]
    # the document read at version 1 is stale now: someone else's change would be lost
    stale = await client.put(path, json=changed)
    assert stale.status_code == 409, stale.text
    assert "version 2" in stale.json()["detail"]
    # the config alone is still taken, as before
    bare = await client.put(path, json=again["config"])
    assert bare.status_code == 200 and bare.json()["version"] == 3, bare.text
    unknown = await client.put(path, json={**again, "surprise": 1})
    assert unknown.status_code == 422, unknown.text


async def test_the_scoring_config_document_goes_back_as_it_came(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    settings = ScoringSettings(**_common(infra, topic_names, database))
    async with serving(scoring_app(settings, now=lambda: SERVICE_NOW)) as client:
        await _round_trip(client, "/v1/config/scoring", {"hysteresis": 4.0})
        rescored = await client.post("/v1/clock/rescore")
        assert rescored.status_code == 200, rescored.text
        assert datetime.fromisoformat(rescored.json()["as_of"]) == SERVICE_NOW
        # a time given is checked against the service's clock, not the wall clock
        near = await client.post("/v1/clock/rescore", params={"as_of": SERVICE_NOW.isoformat()})
        assert near.status_code == 200, near.text


async def test_the_playbook_config_document_goes_back_as_it_came(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    settings = TriggersSettings(**_common(infra, topic_names, database), secrets_key=SECRETS_KEY)
    async with serving(triggers_app(settings, now=lambda: SERVICE_NOW)) as client:
        await _round_trip(client, "/v1/config/playbooks", {"horizon_hours": 48.0})
        ticked = await client.post("/v1/clock/tick")
        assert ticked.status_code == 200, ticked.text
        assert datetime.fromisoformat(ticked.json()["now"]) == SERVICE_NOW
        near = await client.post("/v1/clock/tick", params={"now": SERVICE_NOW.isoformat()})
        assert near.status_code == 200, near.text
