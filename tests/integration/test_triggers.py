"""Triggers on the real broker and database: playbooks once per episode, replay-safe, on a clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import orjson

from services.triggers.app import create_app
from services.triggers.config import TriggersSettings
from shared.contracts import AccountFacts, HealthChange
from shared.kafka import ensure_topics
from tests.integration.kafka_io import produce, read_topic
from tests.integration.keys import SECRETS_KEY
from tests.integration.pipeline import wait_drained

TOKEN = "test-token-triggers-0123456789abcdef0123456789abcdef"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def change(account: str, hours: float, score: float, band: str, **facts: object) -> HealthChange:
    return HealthChange(
        event_id=f"{account}-{hours}",
        account_id=account,
        as_of=T0 + timedelta(hours=hours),
        score=score,
        previous_score=None,
        band=band,
        previous_band=None,
        segment="smb",
        components={"usage": score, "adoption": 80.0},
        coverage=1.0,
        reasons=[],
        model_version="t",
        account=AccountFacts(**facts),
    )


def settings_for(infra, topic_names, database_url: str, **overrides: Any) -> TriggersSettings:
    return TriggersSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        database_url=database_url,
        api_token=TOKEN,
        secrets_key=SECRETS_KEY,
        topics=topic_names,
        group_id=f"triggers-{uuid.uuid4().hex[:6]}",
        clock_enabled=False,
        clock_any_time=True,  # the tests tick at fixed times in March 2026
        outbox_poll_interval_s=0.1,
        **overrides,
    )


@asynccontextmanager
async def running(settings: TriggersSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://triggers",
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as client:
            yield client


async def send(infra, topic: str, changes: list[HealthChange]) -> None:
    await produce(
        infra.kafka_bootstrap,
        [(topic, c.account_id.encode(), c.model_dump_json().encode()) for c in changes],
    )


def summary(records) -> list[tuple[str, str, str]]:
    return [
        (m["account_id"], m["playbook"], m["kind"])
        for m in map(orjson.loads, (r.value for r in records))
    ]


async def test_scripted_changes_give_exactly_the_expected_playbooks_and_replay_adds_none(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    script = [
        change("a", 0, 80, "green"),
        change("a", 1, 35, "red"),
        change("a", 2, 30, "red"),
        change("a", 3, 75, "green"),
        change("a", 4, 20, "red"),
        change("b", 0, 85, "green", seats=10, active_users_7d=10),
        change("c", 0, 90, "green"),
        change("c", 30, 65, "yellow"),
    ]
    expected = [
        ("a", "at_risk", "triggered"),
        ("a", "score_drop", "triggered"),
        ("a", "at_risk", "resolved"),
        ("a", "score_drop", "resolved"),
        ("a", "at_risk", "triggered"),
        ("a", "score_drop", "triggered"),
        ("b", "expansion", "triggered"),
        ("c", "score_drop", "triggered"),
    ]
    settings = settings_for(infra, topic_names, database)
    async with running(settings):
        await send(infra, topic_names.health_changes, script)
        records = await read_topic(
            infra.kafka_bootstrap,
            topic_names.playbook_events,
            until=lambda r: len(r) >= len(expected),
        )
        await send(infra, topic_names.health_changes, script)  # the same input again
        await wait_drained(
            database, infra.kafka_bootstrap, settings.group_id, topic_names.health_changes
        )
    after = await read_topic(
        infra.kafka_bootstrap,
        topic_names.playbook_events,
        until=lambda r: len(r) >= len(expected),
        timeout_s=10,
    )
    per_account = sorted(summary(records), key=lambda item: item[0])
    assert [e for e in per_account if e[0] == "a"] == [e for e in expected if e[0] == "a"]
    assert sorted(summary(records)) == sorted(expected)
    assert len(after) == len(expected), "replaying the same health changes must add no event"
    ids = [orjson.loads(r.value)["event_id"] for r in after]
    assert len(set(ids)) == len(ids)


async def test_time_based_rules_fire_as_now_moves_forward(infra, topic_names, database) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    started = T0 - timedelta(days=1)
    script = [
        change("smb-renews", 0, 80, "green", renewal_at=date(2026, 7, 1)),
        HealthChange(
            **{
                **change("ent-renews", 0, 80, "green", renewal_at=date(2026, 9, 1)).model_dump(),
                "segment": "enterprise",
            }
        ),
        change("new", 0, 60, "yellow", subscription_started_at=started),
    ]
    settings = settings_for(infra, topic_names, database)
    async with running(settings) as client:
        await send(infra, topic_names.health_changes, script)
        await read_topic(
            infra.kafka_bootstrap,
            topic_names.playbook_events,
            until=lambda r: ("new", "onboarding", "triggered") in summary(r),
        )
        for now, count in ((T0 + timedelta(days=10), 1), (T0 + timedelta(days=35), 3)):
            response = await client.post("/v1/clock/tick", params={"now": now.isoformat()})
            assert response.status_code == 200, response.text
            assert response.json()["events"] == count
        records = await read_topic(
            infra.kafka_bootstrap, topic_names.playbook_events, until=lambda r: len(r) >= 5
        )
    events = summary(records)
    # day 10: the enterprise renewal (Sep 1) enters its 180 days; the smb one (Jul 1) not its 90
    # day 35: smb renewal enters its 90-day window; onboarding stalls without first value
    assert sorted(events) == sorted(
        [
            ("new", "onboarding", "triggered"),
            ("ent-renews", "renewal", "triggered"),
            ("smb-renews", "renewal", "triggered"),
            ("new", "onboarding", "resolved"),
            ("new", "onboarding_stalled", "triggered"),
        ]
    )
