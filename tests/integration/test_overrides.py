"""Overrides on the real broker and database: applied and published at once, shown in
health and its reasons, ended by the clock at their expiry (the return published),
removed with an audit, and never seen by calibration."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from services.scoring.app import create_app
from services.scoring.trust.repository import all_history, history_before_outcomes
from shared.contracts import HealthChange
from shared.database.engine import create_engine, create_sessionmaker
from shared.settings.common import TopicNames
from tests.integration.kafka_io import read_topic
from tests.integration.pipeline import produce_signals, wait_drained
from tests.integration.test_scoring import settings_for
from tests.integration.test_trust import TOKEN, rows, signal

pytestmark = pytest.mark.asyncio(loop_scope="session")


class Clock:
    """The service's injected wall clock."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@asynccontextmanager
async def scoring(settings: Any, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, now=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://scoring", headers=TOKEN, timeout=60
        ) as client:
            yield client


def account_signals(prefix: str, now: datetime) -> list[tuple[str, bytes]]:
    """A paying account in daily use over the last two weeks (green by the model)."""
    start = now - timedelta(days=20)
    out = [
        signal(prefix, "a", "payment", start, "subscription_started", arr="40000", seats=5),
    ]
    for day in range(14, 0, -1):
        at = now - timedelta(days=day)
        for user in range(4):
            for feature in ("reports", "dashboards", "alerts", "exports"):
                out.append(
                    signal(
                        prefix,
                        "a",
                        "usage",
                        at + timedelta(minutes=user),
                        feature,
                        user_id=f"u{user}",
                        feature=feature,
                    )
                )
    return out


async def changes_of(bootstrap: str, topic: str, account: str, count: int) -> list[HealthChange]:
    def mine(records: list[Any]) -> list[HealthChange]:
        parsed = [HealthChange.model_validate(orjson.loads(r.value)) for r in records]
        return [c for c in parsed if c.account_id == account]

    records = await read_topic(bootstrap, topic, until=lambda rs: len(mine(rs)) >= count)
    return mine(records)


async def test_override_applies_shows_expires_by_the_clock_and_calibration_ignores_it(
    infra, make_database
) -> None:
    suffix = uuid.uuid4().hex[:8]
    prefix = f"o{suffix}-"
    account = prefix + "a"
    topics = TopicNames(**{k: f"{v}.{suffix}" for k, v in TopicNames().model_dump().items()})
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    await produce_signals(infra.kafka_bootstrap, topics.signals, account_signals(prefix, clock.at))
    database_url = await asyncio.to_thread(make_database)
    group = f"overrides-{suffix}"
    settings = settings_for(infra, topics, database_url, group).model_copy(
        update={"clock_any_time": True}
    )
    out = settings.topics.health_changes
    async with scoring(settings, clock) as api:
        await wait_drained(database_url, infra.kafka_bootstrap, group, topics.signals)
        before = (await api.get(f"/v1/accounts/{account}/health")).json()
        assert before["overrides"] == [] and before["model_score"] == before["score"]
        published = len(await changes_of(infra.kafka_bootstrap, out, account, 1))
        pinned = "red" if before["band"] != "red" else "green"
        expires = clock.at + timedelta(hours=1)
        body = {
            "kind": "pin_band",
            "band": pinned,
            "reason": "champion left last week",
            "expires_at": expires.isoformat(),
        }
        created = await api.post(f"/v1/accounts/{account}/overrides", json=body)
        assert created.status_code == 201, created.text
        override = created.json()
        assert override["created_by"].startswith("admin token sha256:")
        assert (override["kind"], override["band"], override["account_id"]) == (
            "pin_band",
            pinned,
            account,
        )
        clock.at += timedelta(seconds=1)  # made after the pin: its reason comes first
        moved = {"kind": "adjust_score", "delta": -12.5, "reason": "verbal churn risk"}
        adjusted = await api.post(
            f"/v1/accounts/{account}/overrides", json={**moved, "expires_at": body["expires_at"]}
        )
        assert adjusted.status_code == 201, adjusted.text
        clock.at += timedelta(seconds=1)
        usage = {"kind": "adjust_component", "component": "usage", "delta": -10}
        usage |= {"reason": "tracking double-counts", "expires_at": body["expires_at"]}
        component = await api.post(f"/v1/accounts/{account}/overrides", json=usage)
        assert component.status_code == 201, component.text

        # in the health, its reasons, and the published change, at once
        health = (await api.get(f"/v1/accounts/{account}/health")).json()
        assert health["band"] == pinned
        assert health["model_band"] == before["band"]
        assert health["model_score"] == before["score"]
        assert 0 < health["score"] < round(before["score"] - 12.5, 1)
        assert health["components"]["usage"] == round(before["components"]["usage"] - 10, 1)
        assert {o["override_id"] for o in health["overrides"]} == {
            override["override_id"],
            adjusted.json()["override_id"],
            component.json()["override_id"],
        }
        assert health["reasons"][0].startswith("override: usage component -10 by admin token")
        assert health["reasons"][1].startswith("override: score -12.5 by admin token sha256:")
        assert health["reasons"][2].startswith(f"override: band pinned to {pinned} by admin")
        assert health["reasons"][2].endswith(": champion left last week")
        changes = await changes_of(infra.kafka_bootstrap, out, account, published + 3)
        last = changes[-1]
        assert (last.band, last.score, last.model_band) == (pinned, health["score"], before["band"])
        assert last.model_score == before["score"] and last.overrides is not None
        assert len(last.overrides) == 3 and last.reasons[0].startswith("override: ")
        listed = (await api.get(f"/v1/accounts/{account}/overrides")).json()["items"]
        assert len(listed) == 3

        # calibration (what `vigil calibrate` reads) and the back-test read the model's own
        # score, not the overridden one
        churn = {"account_id": account, "kind": "churn", "id": "crm-1"}
        churn["date"] = (clock.at + timedelta(days=1)).date().isoformat()
        posted = await api.post("/v1/outcomes", json={"outcomes": [churn]})
        assert posted.json()["accepted"] == 1
        engine = create_engine(database_url, pool_size=1)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                measured = await history_before_outcomes(session)
                whole = await all_history(session)
        finally:
            await engine.dispose()
        for points in (measured, whole):
            mine = [p for p in points if p.account_id == account]
            assert len(mine) >= 2  # the model's first change and the overrides'
            assert all((p.score, p.band) == (before["score"], before["band"]) for p in mine)
            assert all(p.components == before["components"] for p in mine)
        stored = await rows(
            database_url,
            "SELECT score, model_score FROM score_history WHERE account_id = :a ORDER BY seq",
            a=account,
        )
        assert stored[-1] == (health["score"], before["score"])
        history = (await api.get(f"/v1/accounts/{account}/health/history")).json()
        assert (history[-1]["score"], history[-1]["model_score"]) == stored[-1]

        # the clock, driven past the expiry, re-scores and publishes the return
        clock.at = expires + timedelta(minutes=1)
        rescored = await api.post("/v1/clock/rescore", params={"as_of": clock.at.isoformat()})
        assert rescored.status_code == 200, rescored.text
        after = (await api.get(f"/v1/accounts/{account}/health")).json()
        assert after["overrides"] == [] and after["score"] == after["model_score"]
        assert after["band"] == after["model_band"]
        assert not after["reasons"] or not after["reasons"][0].startswith("override:")
        changes = await changes_of(infra.kafka_bootstrap, out, account, published + 4)
        back = changes[-1]
        assert back.overrides == [] and back.model_score == back.score == after["score"]
        assert back.event_id not in {c.event_id for c in changes[:-1]}
        assert (await api.get(f"/v1/accounts/{account}/overrides")).json()["items"] == []
        everything = await api.get(
            f"/v1/accounts/{account}/overrides", params={"include_expired": "true"}
        )
        assert len(everything.json()["items"]) == 3

        # removal: audited, re-scored and published at once
        body["expires_at"] = (clock.at + timedelta(days=3)).isoformat()
        again = (await api.post(f"/v1/accounts/{account}/overrides", json=body)).json()
        assert (await api.get(f"/v1/accounts/{account}/health")).json()["band"] == pinned
        gone = await api.delete(f"/v1/accounts/{account}/overrides/{again['override_id']}")
        assert gone.status_code == 204
        assert (await api.get(f"/v1/accounts/{account}/health")).json()["overrides"] == []
        audit = await rows(
            database_url,
            "SELECT removed_by FROM score_overrides WHERE override_id = CAST(:o AS uuid)",
            o=again["override_id"],
        )
        assert audit[0][0].startswith("admin token sha256:")
        changes = await changes_of(infra.kafka_bootstrap, out, account, published + 6)
        assert changes[-2].band == pinned and changes[-1].overrides == []
        again_gone = await api.delete(f"/v1/accounts/{account}/overrides/{again['override_id']}")
        assert again_gone.status_code == 404


async def test_override_requests_out_of_bounds_are_refused(infra, make_database) -> None:
    suffix = uuid.uuid4().hex[:8]
    prefix = f"r{suffix}-"
    account = prefix + "a"
    topics = TopicNames(**{k: f"{v}.{suffix}" for k, v in TopicNames().model_dump().items()})
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    await produce_signals(
        infra.kafka_bootstrap, topics.signals, account_signals(prefix, clock.at)[:5]
    )
    database_url = await asyncio.to_thread(make_database)
    group = f"overrides-{suffix}"
    settings = settings_for(infra, topics, database_url, group)
    async with scoring(settings, clock) as api:
        await wait_drained(database_url, infra.kafka_bootstrap, group, topics.signals)
        path = f"/v1/accounts/{account}/overrides"
        good = {"kind": "pin_band", "band": "red", "reason": "why"}
        cases = [
            {**good, "expires_at": (clock.at - timedelta(minutes=1)).isoformat()},
            {**good, "expires_at": (clock.at + timedelta(days=91)).isoformat()},
            {**good, "delta": 5, "expires_at": (clock.at + timedelta(days=1)).isoformat()},
            {"kind": "adjust_component", "delta": 5, "reason": "x", "expires_at": "2999-01-01"},
            {**good, "reason": "", "expires_at": (clock.at + timedelta(days=1)).isoformat()},
        ]
        for case in cases:
            refused = await api.post(path, json=case)
            assert refused.status_code == 422, (case, refused.text)
        ok = {**good, "expires_at": (clock.at + timedelta(days=90)).isoformat()}
        unknown = await api.post(f"/v1/accounts/{prefix}nobody/overrides", json=ok)
        assert unknown.status_code == 404
        assert (await api.post(path, json=ok)).status_code == 201
