"""Config and clock endpoints, and start-up refusals, on the real broker and database."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from services.scoring.app import create_app
from services.scoring.config import ScoringSettings
from shared.database.engine import create_engine
from shared.kafka.clients import ensure_topics
from tests.integration.kafka_io import wait_for

TOKEN = "test-token-config-0123456789abcdef0123456789abcdef"


def scoring_settings(infra, topic_names, database: str, **overrides) -> ScoringSettings:
    return ScoringSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        database_url=database,
        api_token=TOKEN,
        topics=topic_names,
        group_id=f"scoring-{uuid.uuid4().hex[:6]}",
        clock_enabled=False,
        config_poll_interval_s=0.5,
        **overrides,
    )


@asynccontextmanager
async def serving(settings: ScoringSettings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://scoring",
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as client,
    ):
        yield app, client


async def test_a_config_that_could_break_the_loops_is_refused_and_a_good_one_spreads(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    settings = scoring_settings(infra, topic_names, database)
    async with serving(settings) as (_, one), serving(settings) as (replica, _other):
        current = (await one.get("/v1/config/scoring")).json()
        config = current["config"]
        bad = [
            {**config, "hysteresis": math.nan},
            {**config, "overdue_day_penalty": math.inf},
            {**config, "usage_stopped_days": 10**9},
            {**config, "freshness_days": {**config["freshness_days"], "usage": 10**7}},
            {**config, "enterprise_min_arr": 1e308},
        ]
        for body in bad:
            refused = await one.put(
                "/v1/config/scoring",
                content=json.dumps(body),  # allow_nan: NaN and Infinity as JSON literals
                headers={"Content-Type": "application/json"},
            )
            assert refused.status_code == 422, refused.text
            assert set(refused.json()) <= {"detail", "errors"}
        good = {**config, "hysteresis": 4.0}
        stored = await one.put("/v1/config/scoring", json=good)
        assert stored.status_code == 200, stored.text
        version = stored.json()["version"]
        # the other replica follows within seconds, without a request of its own
        store = replica.state.runtime.model_store
        await wait_for(lambda: store.version == version, timeout_s=10, what="replica follows")
        assert store.current.hysteresis == 4.0
    engine = create_engine(database, pool_size=1)
    try:
        async with engine.connect() as conn:
            who = await conn.scalar(
                text("SELECT changed_by FROM scoring_config WHERE version = :v"), {"v": version}
            )
    finally:
        await engine.dispose()
    assert who is not None and who.startswith("admin token sha256:")


async def test_a_bad_stored_config_does_not_stop_the_service_from_starting(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    settings = scoring_settings(infra, topic_names, database)
    async with serving(settings) as (_, client):
        assert (await client.get("/v1/config/scoring")).json()["version"] == 1
    engine = create_engine(database, pool_size=1)
    try:
        async with engine.begin() as conn:  # written behind the API's back
            await conn.execute(
                text("INSERT INTO scoring_config (version, config) VALUES (2, :c)"),
                {"c": orjson.dumps({"usage_stopped_days": 10**12}).decode()},
            )
    finally:
        await engine.dispose()
    async with serving(settings) as (app, client):
        view = (await client.get("/v1/config/scoring")).json()
        assert view["version"] == 1, "the refused version 2 is skipped, version 1 stays"
        assert app.state.runtime.model_store.current.usage_stopped_days == 7


async def test_clock_times_far_from_now_are_refused_unless_the_test_setting_allows(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    far = {"as_of": "9999-12-30T00:00:00Z"}
    async with serving(scoring_settings(infra, topic_names, database)) as (_, client):
        refused = await client.post("/v1/clock/rescore", params=far)
        epoch = await client.post("/v1/clock/rescore", params={"as_of": "0"})
        assert refused.status_code == 422 and "wall clock" in refused.json()["detail"]
        assert epoch.status_code == 422
    allowed = scoring_settings(infra, topic_names, database, clock_any_time=True)
    async with serving(allowed) as (_, client):
        response = await client.post("/v1/clock/rescore", params=far)
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("service", "token", "expected"),
    [
        ("ingest", None, "VIGIL_API_TOKEN: is not set"),
        ("scoring", "too-short-token", "VIGIL_API_TOKEN: must be at least 32 characters"),
        ("triggers", "x" * 40, "VIGIL_SECRETS_KEY: is not set"),
    ],
)
def test_a_service_refuses_to_start_without_a_strong_token(service, token, expected) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    if token is not None:
        env["VIGIL_API_TOKEN"] = token
    run = subprocess.run(
        [sys.executable, "-m", "vigil", service],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2, run.stderr
    assert expected in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
