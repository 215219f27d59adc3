"""A scorecard made live over the API, on the real broker and database: stored with who and
when, every account re-scored with it through the clock, each published change explained;
an account the scorecard fails on is isolated while the others are scored."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text

from services.ingest.domain.validation import to_signal, validate_object
from services.scoring.app import create_app
from services.scoring.config import ScoringSettings
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.scorecard.default import scorecard_from_config
from shared.contracts import HealthChange
from shared.database.engine import create_engine
from shared.kafka.clients import ensure_topics
from tests.integration.kafka_io import produce, read_topic, wait_for
from tests.integration.pipeline import wait_drained
from tests.support.poison import NOW, dead_letters, raw_event

pytestmark = pytest.mark.asyncio(loop_scope="session")
TOKEN = "test-token-scorecard-0123456789abcdef0123456789abcdef"
GOOD = [f"acct-{i}" for i in range(5)]
BAD = "acct-odd"  # its ARR is the one a reason of the scorecard reads


def signal(source: str, i: int, account: str, **fields: Any) -> bytes:
    raw = raw_event(i, account_id=account, **fields)
    if source == "payment":
        raw.pop("user_id")
    event = validate_object(source, raw, now=NOW)
    return orjson.dumps(to_signal(event, source, NOW).model_dump(mode="json", exclude_none=True))


def custom_scorecard() -> dict[str, Any]:
    """The default plus a risk flag every test account trips (one user each), and a reason
    that renders a per-seat measure as an integer for accounts at ARR 4321: infinite for
    an account with seats and usage (a per-seat share that small passes every bound)."""
    data = copy.deepcopy(scorecard_from_config(HealthModelConfig()).model_dump(mode="json"))
    data["version"] = "ops-7"
    data["measures"].append(
        {
            "name": "usage_per_seat",
            "source": "usage",
            "aggregate": "sum_quantity",
            "window_days": 7,
            "per_seat": 5e-324,
        }
    )
    usage = next(c for c in data["components"] if c["name"] == "usage")
    usage["reasons"].insert(
        0,
        {
            "when": [{"measure": "arr", "op": "==", "value": 4321}],
            "text": "{usage_per_seat:int} units per seat",
        },
    )
    data["risk"]["flags"].append(
        {
            "name": "few_users",
            "when": [{"measure": "active_users", "op": "<", "value": 5}],
            "cap": 10,
        }
    )
    return data


def recomputed(explanation: dict[str, Any]) -> float:
    mean = explanation["weighted_mean"]
    value = 50.0 if mean is None else float(mean)
    return round(value + sum(float(c["effect"]) for c in explanation["caps"]), 1)


async def versions(database_url: str) -> dict[str, str]:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT account_id, model_version FROM accounts"))
            return {r.account_id: r.model_version for r in rows}
    finally:
        await engine.dispose()


def metric(body: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines() if line.startswith(name))


async def test_a_scorecard_goes_live_explains_every_change_and_isolates_what_it_fails_on(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    settings = ScoringSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        database_url=database,
        api_token=TOKEN,
        topics=topic_names,
        group_id=f"scorecard-{uuid.uuid4().hex[:6]}",
        clock_enabled=False,
        outbox_poll_interval_s=0.1,
        config_poll_interval_s=0.2,
    )
    first = [signal("usage", i, account) for i, account in enumerate([*GOOD, BAD])]
    first.append(signal("payment", 90, BAD, type="subscription_started", arr="4321", seats=3))
    await produce(infra.kafka_bootstrap, [(topic_names.signals, None, v) for v in first])
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://vigil", headers=headers
        ) as client,
    ):
        await wait_drained(database, infra.kafka_bootstrap, settings.group_id, topic_names.signals)
        model = (await client.get("/v1/config/scorecard")).json()
        assert (model["version"], model["live"]) == (1, "model")
        health = (await client.get(f"/v1/accounts/{GOOD[0]}/health")).json()
        assert health["explanation"]["scorecard_version"] == model["scorecard_version"]
        assert recomputed(health["explanation"]) == health["model_score"]

        # the same checks as `vigil scorecard validate`, each error at its path
        broken = custom_scorecard()
        broken["risk"]["flags"][-1]["when"][0]["measure"] = "no_such_measure"
        refused = await client.put("/v1/config/scorecard", json=broken)
        assert refused.status_code == 422, refused.text
        assert any("risk.flags" in str(e["loc"]) for e in refused.json()["errors"])

        stored = await client.put("/v1/config/scorecard", json=custom_scorecard())
        assert stored.status_code == 200, stored.text
        view = stored.json()
        assert (view["version"], view["live"]) == (2, "scorecard")
        assert view["changed_by"].startswith("admin token sha256:")
        assert view["scorecard_version"].startswith("ops-7+") and len(view["digest"]) == 64
        assert (await client.get("/v1/config/scorecard")).json() == view

        # the follower re-scores every account with it, but the one it fails on
        async def rescored() -> bool:
            now = await versions(database)
            return all(now[a] == view["scorecard_version"] for a in GOOD)

        await wait_for(rescored, timeout_s=60, what="every account re-scored")
        assert (await versions(database))[BAD] != view["scorecard_version"]
        records = await read_topic(
            infra.kafka_bootstrap,
            topic_names.health_changes,
            until=lambda rs: sum(b"ops-7+" in r.value for r in rs) >= len(GOOD),
        )
        changes = [HealthChange.model_validate_json(r.value) for r in records]
        custom = [c for c in changes if c.model_version == view["scorecard_version"]]
        assert sorted(c.account_id for c in custom) == GOOD
        for change in custom:
            explanation = change.explanation
            assert explanation is not None
            assert explanation.scorecard_version == view["scorecard_version"]
            assert explanation.caps[-1].flag == "few_users"
            assert recomputed(explanation.model_dump()) == change.score
        assert all(c.explanation is not None for c in changes)  # the model's too

        # a new event of that account is isolated as a poison message; the others apply
        later = [signal("usage", 200, BAD), signal("usage", 201, GOOD[0])]
        await produce(infra.kafka_bootstrap, [(topic_names.signals, None, v) for v in later])
        await wait_drained(database, infra.kafka_bootstrap, settings.group_id, topic_names.signals)
        dlq = await read_topic(
            infra.kafka_bootstrap, topic_names.scoring_dlq, until=lambda rs: len(rs) >= 1
        )
        letters = dead_letters(dlq)
        assert [orjson.loads(d.payload)["account_id"] for d in letters] == [BAD]
        assert "OverflowError" in letters[0].reason.message
        metrics = (await client.get("/metrics")).text
        assert metric(metrics, 'vigil_scorecard_failures_total{trigger="clock"}') == 1
        assert metric(metrics, 'vigil_scorecard_failures_total{trigger="event"}') >= 1
        applied = (await client.get(f"/v1/accounts/{GOOD[0]}/health")).json()
        assert applied["model_version"] == view["scorecard_version"]
        assert recomputed(applied["explanation"]) == applied["model_score"]


async def test_every_replica_follows_the_stored_scorecard(infra, topic_names, database) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    replicas = [
        create_app(
            ScoringSettings(
                kafka_bootstrap=infra.kafka_bootstrap,
                database_url=database,
                api_token=TOKEN,
                topics=topic_names,
                group_id="scorecard-replicas",
                clock_enabled=False,
                config_poll_interval_s=0.2,
                instance_id=str(i),
            )
        )
        for i in range(2)
    ]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        replicas[0].router.lifespan_context(replicas[0]),
        replicas[1].router.lifespan_context(replicas[1]),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=replicas[0]), base_url="http://a", headers=headers
        ) as first,
    ):
        other = replicas[1].state.runtime.scorer.engine
        assert not other.current().custom
        stored = await first.put("/v1/config/scorecard", json=custom_scorecard())
        assert stored.status_code == 200, stored.text
        await wait_for(lambda: other.current().custom, timeout_s=20, what="the other follows")
        assert other.live_card().version == "ops-7"

        # back to the built-in model: a new version, which every replica follows too
        reset = await first.delete("/v1/config/scorecard")
        assert reset.status_code == 200, reset.text
        assert (reset.json()["version"], reset.json()["live"]) == (3, "model")
        assert reset.json()["changed_by"].startswith("admin token sha256:")
        await wait_for(lambda: not other.current().custom, timeout_s=20, what="back to the model")
        refused = await first.delete("/v1/config/scorecard", headers={"Authorization": "Bearer x"})
        assert refused.status_code == 401
