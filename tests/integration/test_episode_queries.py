"""The episode list and the feedback table over stored episodes (real PostgreSQL):
keyset pages that neither skip nor repeat, precision and times on a known set."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pytest import approx
from sqlalchemy import text
from typer.testing import CliRunner

from services.triggers import episode_cursor as page_cursor
from services.triggers.domain.feedback import wilson
from shared.database.engine import create_engine, create_sessionmaker, transaction
from shared.kafka.clients import ensure_topics
from tests.integration.kafka_io import wait_for
from tests.integration.test_triggers import running, settings_for
from vigil.cli import app

NOW = datetime.now(UTC).replace(microsecond=0)
LAST = datetime.max.replace(tzinfo=UTC)  # no due time: the end of the queue
INSERT = text(
    "INSERT INTO playbook_episodes (account_id, playbook, episode_id, opened_at, due_by,"
    " reason, closed_at, status, segment, health, resolution, acknowledged_at,"
    " lifecycle_closed_at) VALUES (:account_id, :playbook, :episode_id, :opened_at, :due_by,"
    " 'test', :closed_at, :status, :segment, CAST(:health AS jsonb), :resolution,"
    " :acknowledged_at, :lifecycle_closed_at)"
)


def row(n: int, **values: Any) -> dict[str, Any]:
    return {
        "account_id": f"acct-{n:04d}",
        "playbook": "at_risk",
        "episode_id": f"ep-{n:04d}",
        "opened_at": NOW - timedelta(hours=n % 37),
        "due_by": None if n % 5 == 0 else NOW + timedelta(hours=n % 11),  # ties and nulls
        "closed_at": None,
        "status": "open",
        "segment": "smb",
        "health": '{"score": 30, "band": "red", "components": {}}',
        "resolution": None,
        "acknowledged_at": None,
        "lifecycle_closed_at": None,
    } | values


async def store(database: str, rows: list[dict[str, Any]]) -> None:
    engine = create_engine(database)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            await session.execute(INSERT, rows)
    finally:
        await engine.dispose()


async def every_page(client: httpx.AsyncClient, **params: Any) -> tuple[list[str], int]:
    ids: list[str] = []
    pages, cursor = 0, None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        response = await client.get("/v1/playbooks/episodes", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [e["episode_id"] for e in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, pages


async def test_keyset_pages_cover_every_episode_once_in_order(infra, topic_names, database) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    statuses = ["open", "acknowledged", "snoozed", "closed"]
    rows = [row(n, status=statuses[n % 4]) for n in range(230)]
    for r in rows[::7]:  # some resolved by the rules
        r["closed_at"] = NOW
    await store(database, rows)
    queue = [r for r in rows if r["closed_at"] is None and r["status"] in ("open", "acknowledged")]
    expected_queue = [
        r["episode_id"]
        for r in sorted(
            queue, key=lambda r: (r["due_by"] or datetime.max.replace(tzinfo=UTC), r["episode_id"])
        )
    ]
    expected_all = [
        r["episode_id"]
        for r in sorted(rows, key=lambda r: (r["opened_at"], r["episode_id"]), reverse=True)
    ]
    async with running(settings_for(infra, topic_names, database)) as client:
        open_ids, open_pages = await every_page(client, status="open", limit=7)
        all_ids, all_pages = await every_page(client, limit=9)
        closed_ids, _ = await every_page(client, status="closed", limit=500)
        foreign = await client.get(
            "/v1/playbooks/episodes", params={"status": "open", "cursor": "bm90LWEtY3Vyc29y"}
        )
        # any string the pattern admits is a position, whichever list it is used on
        middle = sorted(rows, key=lambda r: (r["opened_at"], r["episode_id"]))[100]
        position = page_cursor.encode(middle["opened_at"], middle["episode_id"])
        after_middle = await client.get(
            "/v1/playbooks/episodes", params={"cursor": position, "limit": 500}
        )
        queue_after = await client.get(
            "/v1/playbooks/episodes", params={"status": "open", "cursor": position, "limit": 500}
        )
    assert open_ids == expected_queue
    assert open_pages == -(-len(expected_queue) // 7)
    assert all_ids == expected_all and all_pages == -(-230 // 9)
    assert sorted(closed_ids) == sorted(r["episode_id"] for r in rows if r["status"] == "closed")
    assert foreign.status_code == 422
    assert [e["episode_id"] for e in after_middle.json()["items"]] == expected_all[-100:]
    mark = (middle["opened_at"], middle["episode_id"])
    due_after = [  # the queue reads the position's time as a due time
        r["episode_id"] for r in queue if (r["due_by"] or LAST, r["episode_id"]) > mark
    ]
    assert [e["episode_id"] for e in queue_after.json()["items"]] == sorted(
        due_after, key=expected_queue.index
    )


async def test_feedback_precision_and_times_on_a_known_set(infra, topic_names, database) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    resolutions = ["actioned"] * 6 + ["not_useful"] + ["false_alarm"] * 3
    opened = NOW - timedelta(days=2)
    rows = [
        row(
            n,
            opened_at=opened,
            status="closed",
            resolution=resolution,
            acknowledged_at=opened + timedelta(hours=n + 1),  # 1..10 h
            lifecycle_closed_at=opened + timedelta(hours=2 * (n + 1)),  # 2..20 h
        )
        for n, resolution in enumerate(resolutions)
    ]
    rows += [row(100, opened_at=opened, segment="enterprise"), row(101, status="held_back")]
    await store(database, rows)
    settings = settings_for(infra, topic_names, database, feedback_refresh_s=0)
    async with running(settings) as client:
        response = await client.get("/v1/playbooks/feedback")
        only = await client.get(
            "/v1/playbooks/feedback", params={"segment": "enterprise", "playbook": "at_risk"}
        )
        later = await client.get("/v1/playbooks/feedback", params={"since": NOW.isoformat()})

        async def exposed() -> str:
            body = (await client.get("/metrics")).text
            return body if "vigil_triggers_playbook_precision{" in body else ""

        await wait_for(exposed, timeout_s=20, what="the precision gauge")
        metrics = await exposed()
    assert response.status_code == 200, response.text
    smb, enterprise = (
        next(i for i in response.json()["items"] if i["segment"] == s)
        for s in ("smb", "enterprise")
    )
    p, low, high = wilson(6, 10)
    assert smb["opened"] == 10 and smb["judged"] == 10
    assert smb["closed"] == {"actioned": 6, "not_useful": 1, "false_alarm": 3}
    assert smb["precision"] == 0.6 == p
    assert abs(smb["precision_low"] - 0.3127) < 1e-3 and abs(smb["precision_high"] - 0.8318) < 1e-3
    assert (smb["precision_low"], smb["precision_high"]) == (low, high)
    hour = 3600
    assert smb["time_to_acknowledge"] == {
        "n": 10,
        "median_s": 5.5 * hour,
        "p90_s": approx(9.1 * hour),
    }
    assert smb["time_to_close"] == {"n": 10, "median_s": 11 * hour, "p90_s": approx(18.2 * hour)}
    assert enterprise["opened"] == 1 and enterprise["precision"] is None
    assert [i["segment"] for i in only.json()["items"]] == ["enterprise"]
    assert later.json()["items"] == []
    assert 'vigil_triggers_playbook_precision{playbook="at_risk",segment="smb"} 0.6' in metrics
    assert (
        'vigil_triggers_episodes_closed{playbook="at_risk",resolution="false_alarm",segment="smb"}'
        " 3.0" in metrics
    )


async def test_calibrate_prints_the_feedback_table_beside_the_auc(database) -> None:
    resolutions = ["actioned"] * 3 + ["false_alarm"]
    await store(
        database,
        [row(n, status="closed", resolution=r) for n, r in enumerate(resolutions)],
    )
    runner = CliRunner()
    args = ["calibrate", "--database-url", database, "--horizon", "30"]
    printed = await asyncio.to_thread(runner.invoke, app, args)
    as_json = await asyncio.to_thread(runner.invoke, app, [*args, "--json"])
    assert printed.exit_code == 0, printed.output
    assert "== playbook feedback" in printed.output
    line = next(li for li in printed.output.splitlines() if li.strip().startswith("at_risk"))
    assert line.split()[:6] == ["at_risk", "smb", "4", "3", "0", "1"]
    assert line.split()[6:8] == ["75%", "30%-95%"]  # the Wilson interval of 3 in 4
    assert "precision: of the alarms closed" in printed.output
    data = json.loads(as_json.output)
    assert "horizons" in data and data["feedback"][0]["precision"] == 0.75
