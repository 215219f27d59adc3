"""Triggers on the real broker and database: playbooks once per episode, replay-safe, on a clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from services.triggers.app import create_app
from services.triggers.config import TriggersSettings
from services.triggers.domain.episodes import Track
from services.triggers.repository import load_tracks, store_tracks
from shared.contracts import AccountFacts, HealthChange
from shared.database.engine import create_engine, create_sessionmaker, transaction
from shared.kafka.clients import ensure_topics
from tests.integration.kafka_io import produce, read_topic
from tests.integration.keys import SECRETS_KEY
from tests.integration.pipeline import end_offsets, wait_drained

TOKEN = "test-token-triggers-0123456789abcdef0123456789abcdef"
# within the playbook horizon (24 h) of the wall clock: these scripts are "now", not history
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


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
        change("b", -50, 85, "green", seats=10, active_users_7d=10),
        change("b", 0, 85, "green", seats=10, active_users_7d=10),  # 50 h > the 48 h dwell
        change("c", 0, 90, "green"),
        change("c", 30, 65, "yellow"),
    ]
    expected = [
        ("a", "at_risk", "triggered"),
        ("a", "score_drop", "triggered"),
        ("a", "at_risk", "resolved"),
        ("a", "score_drop", "resolved"),
        ("a", "at_risk", "triggered"),  # at_risk has no cool-down; score_drop has 30 days
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


async def test_a_correction_at_the_same_as_of_resolves_and_a_resent_change_adds_nothing(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    yellow = change("r", 0, 50, "yellow").model_copy(update={"revision": 1})
    red = change("r", 1, 35, "red").model_copy(update={"revision": 2})
    # scoring folded late-read events and re-scored the same as_of
    corrected = change("r", 1, 55, "yellow").model_copy(
        update={"revision": 3, "event_id": "r-1-corrected"}
    )
    expected = [("r", "at_risk", "triggered"), ("r", "at_risk", "resolved")]
    settings = settings_for(infra, topic_names, database)
    async with running(settings):
        await send(infra, topic_names.health_changes, [yellow, red, corrected])
        records = await read_topic(
            infra.kafka_bootstrap,
            topic_names.playbook_events,
            until=lambda r: len(r) >= len(expected),
        )
        await send(infra, topic_names.health_changes, [red, corrected])  # the outbox re-sends
        await wait_drained(
            database, infra.kafka_bootstrap, settings.group_id, topic_names.health_changes
        )
    after = await read_topic(
        infra.kafka_bootstrap,
        topic_names.playbook_events,
        until=lambda r: len(r) >= len(expected),
        timeout_s=10,
    )
    assert summary(records) == expected
    assert summary(after) == expected, "re-sent changes must add no event"
    engine = create_engine(database, pool_size=1)
    try:
        async with engine.connect() as conn:
            view = (
                await conn.execute(
                    text("SELECT band, score, health_revision FROM trigger_accounts")
                )
            ).all()
            points = (await conn.execute(text("SELECT as_of, score FROM trigger_scores"))).all()
    finally:
        await engine.dispose()
    assert [tuple(v) for v in view] == [("yellow", 55.0, 3)]
    assert sorted(tuple(p) for p in points) == [(yellow.as_of, 50.0), (red.as_of, 55.0)]


async def test_time_based_rules_fire_as_now_moves_forward(infra, topic_names, database) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    started = T0 - timedelta(days=1)
    script = [
        change("smb-renews", 0, 80, "green", renewal_at=(T0 + timedelta(days=122)).date()),
        HealthChange(
            **{
                **change(
                    "ent-renews", 0, 80, "green", renewal_at=(T0 + timedelta(days=184)).date()
                ).model_dump(),
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
    # day 10: the enterprise renewal (day 184) enters its 180 days; the smb one (122) not its 90
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


async def published(infra, topic: str) -> int:
    return sum((await end_offsets(infra.kafka_bootstrap, topic)).values())


async def test_history_emits_nothing_until_a_clock_pass_opens_what_holds_once(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    day = 24
    started = T0 - timedelta(days=5)
    history = [
        change("h-red", -10 * day, 80, "green"),
        change("h-red", -9 * day, 30, "red"),  # red for nine days: holds now
        change("h-back", -10 * day, 30, "red"),
        change("h-back", -8 * day, 85, "green"),  # was red, recovered: nothing holds
        change("h-new", -5 * day, 60, "yellow", subscription_started_at=started),
    ]
    settings = settings_for(infra, topic_names, database)
    topic, group = topic_names.playbook_events, settings.group_id
    async with running(settings) as client:
        await send(infra, topic_names.health_changes, history)
        await wait_drained(database, infra.kafka_bootstrap, group, topic_names.health_changes)
        assert await published(infra, topic) == 0, "history older than the horizon emits nothing"
        now = T0 + timedelta(hours=1)
        response = await client.post("/v1/clock/tick", params={"now": now.isoformat()})
        assert response.json()["events"] == 2, response.text
        records = await read_topic(infra.kafka_bootstrap, topic, until=lambda r: len(r) >= 2)
        # the same history again, and another clock pass: nothing new
        await send(infra, topic_names.health_changes, history)
        await wait_drained(database, infra.kafka_bootstrap, group, topic_names.health_changes)
        later = (now + timedelta(minutes=5)).isoformat()
        assert (await client.post("/v1/clock/tick", params={"now": later})).json()["events"] == 0
        metrics = (await client.get("/metrics")).text
    assert sorted(summary(records)) == [
        ("h-new", "onboarding", "triggered"),
        ("h-red", "at_risk", "triggered"),
    ]
    # opened at the clock's time, not at the old state's
    assert {datetime.fromisoformat(orjson.loads(r.value)["at"]) for r in records} == {now}
    assert await published(infra, topic) == 2
    held = {
        line.split('"')[1]: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("vigil_triggers_episodes_held_back_total{")
    }
    assert held == {"at_risk": 2.0, "score_drop": 1.0, "onboarding": 1.0}


async def test_tracks_round_trip_through_postgresql(database) -> None:
    engine = create_engine(database, pool_size=1)
    sessions = create_sessionmaker(engine)
    stored = {
        "expansion": Track(T0, T0 + timedelta(hours=6), None, None),
        "score_drop": Track(None, None, T0 - timedelta(days=3), None),
        # what it was before the evaluation that changed it (a correction starts there)
        "at_risk": Track(
            None, None, T0, None, T0, Track(T0 - timedelta(days=1), T0 - timedelta(days=1))
        ),
    }
    try:
        for _ in range(2):  # insert, then update in place: now clearing
            async with transaction(sessions) as session:
                await store_tracks(session, [("acct", p, t) for p, t in stored.items()])
            async with transaction(sessions) as session:
                loaded = await load_tracks(session, ["acct", "other"])
            assert loaded == {"acct": stored}
            stored["expansion"] = Track(T0, T0 + timedelta(hours=6), None, T0 + timedelta(days=2))
    finally:
        await engine.dispose()
