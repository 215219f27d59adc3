"""The shadow model is optional and never the live path: a bad stored shadow row, a candidate
that raises while scoring, a stored version that does not validate each skip the shadow (logged
and counted in vigil_shadow_errors_total) and never stop scoring (real broker and database)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text

from services.scoring.domain.account_state import AccountState
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.metrics import ScoringMetrics
from services.scoring.trust import shadow as shadow_module
from services.scoring.trust.report_cache import ReportCache, StoredVersions
from services.scoring.trust.service import refresh_accuracy
from services.scoring.trust.shadow import ShadowStore
from shared.database.config_store import VersionedConfig
from shared.database.engine import create_engine, create_sessionmaker
from tests.integration.kafka_io import wait_for
from tests.integration.pipeline import produce_signals
from tests.integration.test_poison_keys import canary
from tests.integration.test_scoring import settings_for
from tests.integration.test_trust import scoring_api

pytestmark = pytest.mark.asyncio(loop_scope="session")
BAD = {"model_version": "broken", "weights": {"smb": "heavy"}, "bands": []}
CANARIES = 8


async def execute(database_url: str, sql: str, **params: Any) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(sql), params)
    finally:
        await engine.dispose()


async def scored(database_url: str) -> int:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            sql = "SELECT count(*) FROM accounts WHERE account_id LIKE 'canary-%' AND score >= 0"
            return int(await conn.scalar(text(sql)) or 0)
    finally:
        await engine.dispose()


async def consume_canaries(infra, topics: Any, database_url: str, api: httpx.AsyncClient) -> str:
    signals = [canary(i) for i in range(CANARIES)]
    await produce_signals(infra.kafka_bootstrap, topics.signals, signals)

    async def all_scored() -> bool:
        return await scored(database_url) >= CANARIES

    await wait_for(all_scored, timeout_s=60, what="every canary scored live")
    return (await api.get("/metrics")).text


async def test_a_bad_stored_shadow_row_is_skipped_and_scoring_starts(
    infra, topic_names, database
) -> None:
    await execute(
        database,
        "INSERT INTO model_shadow (config, model_version) VALUES (CAST(:c AS jsonb), 'broken')",
        c=orjson.dumps(BAD).decode(),
    )
    settings = settings_for(infra, topic_names, database, f"shadow-{uuid.uuid4().hex[:6]}")
    async with scoring_api(settings) as api:
        metrics = await consume_canaries(infra, settings.topics, database, api)
        assert (await api.get("/v1/model/shadow")).status_code == 404
    assert 'vigil_shadow_errors_total{where="stored"} 1.0' in metrics


async def test_a_candidate_that_raises_is_skipped_and_the_live_batch_applies(
    infra, topic_names, database, monkeypatch
) -> None:
    settings = settings_for(infra, topic_names, database, f"shadow-{uuid.uuid4().hex[:6]}")
    real, candidate = shadow_module.score, {"version": ""}  # type: ignore[attr-defined]

    def candidate_fails(state: AccountState, as_of: datetime, config: HealthModelConfig) -> Any:
        if config.model_version == candidate["version"]:
            raise ZeroDivisionError("a candidate's bug")
        return real(state, as_of, config)

    monkeypatch.setattr(shadow_module, "score", candidate_fails)
    async with scoring_api(settings) as api:
        data = (await api.get("/v1/config/scoring")).json()["config"]
        data["weights"]["smb"]["usage"] += 0.01
        put = await api.put("/v1/model/shadow", json=data)
        assert put.status_code == 200, put.text
        candidate["version"] = put.json()["model_version"]
        metrics = await consume_canaries(infra, settings.topics, database, api)
    assert 'vigil_shadow_errors_total{where="scoring"}' in metrics
    assert 'vigil_scoring_dead_letters_total{reason="handler_error"}' not in metrics


async def test_the_accuracy_loop_skips_a_bad_stored_version_and_remembers_it(database) -> None:
    await execute(
        database,
        "INSERT INTO model_shadow (config, model_version, ended_at, ended_as)"
        " VALUES (CAST(:c AS jsonb), 'broken', now(), 'cleared')",
        c=orjson.dumps(BAD).decode(),
    )
    engine = create_engine(database, pool_size=1)
    sessions = create_sessionmaker(engine)
    metrics = ScoringMetrics.new()
    models: VersionedConfig[HealthModelConfig] = VersionedConfig(
        "scoring_config", HealthModelConfig
    )
    versions = StoredVersions(metrics)
    try:
        for _ in range(3):
            shadow = ShadowStore(metrics)
            await refresh_accuracy(sessions, models, shadow, metrics, versions, ReportCache())
    finally:
        await engine.dispose()
    assert metrics.shadow_errors.labels("accuracy")._value.get() == 1
