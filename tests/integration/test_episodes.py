"""Episodes as a resource on the real broker and database: the lifecycle by a CSM tool,
its events and signed webhooks, and what a close or a snooze means to a condition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from shared.contracts import PlaybookEvent
from shared.kafka.clients import ensure_topics
from tests.integration.kafka_io import read_topic, wait_for
from tests.integration.test_triggers import T0, change, running, send, settings_for
from tests.integration.test_webhooks import FAST
from tests.support.receiver import Receiver, serving

READ = "test-read-token-episodes-0123456789abcdef0123456789"
WRITE = "test-write-token-episodes-0123456789abcdef012345678"
LIFECYCLE = ["acknowledged", "assigned", "snoozed", "snooze_ended", "closed"]


def as_(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def episodes(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/playbooks/episodes", params=params, headers=as_(READ))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def the_episode(client: httpx.AsyncClient, account: str, playbook: str, **params: Any):
    found: list[dict[str, Any]] = []

    async def listed() -> bool:
        found[:] = await episodes(client, account_id=account, playbook=playbook, **params)
        return bool(found)

    await wait_for(listed, timeout_s=30, what=f"{account} {playbook} {params} listed")
    return found[0]


async def act(client: httpx.AsyncClient, episode_id: str, action: str, body: dict[str, Any]):
    path = f"/v1/playbooks/episodes/{episode_id}/{action}"
    return await client.post(path, json=body, headers=as_(WRITE))


async def tick(client: httpx.AsyncClient, at: datetime) -> None:
    response = await client.post("/v1/clock/tick", params={"now": at.isoformat()})
    assert response.status_code == 200, response.text


async def test_lifecycle_by_a_tool_is_stored_audited_published_and_signed(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    receiver = Receiver()
    settings = settings_for(
        infra, topic_names, database, webhooks=FAST, read_token=READ, write_token=WRITE
    )
    async with serving(receiver), running(settings) as client:
        response = await client.post(
            "/v1/webhooks/subscriptions",
            json={"url": receiver.url, "event_types": [f"playbook.{k}" for k in LIFECYCLE]},
        )
        assert response.status_code == 201, response.text
        receiver.secrets.append(response.json()["secret"])
        await send(infra, topic_names.health_changes, [change("a", 0, 30, "red")])
        episode = await the_episode(client, "a", "at_risk", status="open")
        eid = episode["episode_id"]
        assert episode["status"] == "open"
        assert episode["health"] == {"score": 30.0, "band": "red"}
        assert episode["segment"] == "smb"

        # the read token reads and does not act; unknown, invalid, malformed
        assert (
            await client.post(
                f"/v1/playbooks/episodes/{eid}/acknowledge", json={}, headers=as_(READ)
            )
        ).status_code == 401
        assert (await act(client, "nope", "acknowledge", {})).status_code == 404
        assert (await act(client, eid, "close", {"resolution": "maybe"})).status_code == 422
        for refused in (
            {"until": "2000-01-01T00:00:00Z"},  # the past
            {"for_seconds": 59},  # below the schema's minimum
            {"for_seconds": 3600, "until": "2099-01-01T00:00:00Z"},  # one or the other
        ):
            assert (await act(client, eid, "snooze", refused)).status_code == 422, refused

        bare = await client.post(  # an acknowledgement needs no body
            f"/v1/playbooks/episodes/{eid}/acknowledge", headers=as_(WRITE)
        )
        assert bare.status_code == 200, bare.text
        assert (await act(client, eid, "acknowledge", {})).status_code == 409  # twice
        now = datetime.now(UTC)
        steps = [
            ("assign", {"owner": "csm-42"}, "acknowledged"),
            ("snooze", {"until": (now + timedelta(hours=1)).isoformat()}, "snoozed"),
        ]
        for action, body, status in steps:
            response = await act(client, eid, action, body)
            assert response.status_code == 200, response.text
            assert response.json()["status"] == status
        await tick(client, now + timedelta(hours=2))  # the snooze ends on the clock
        assert (await the_episode(client, "a", "at_risk", status="open"))["status"] == "open"
        closed = await act(client, eid, "close", {"resolution": "actioned", "note": "called"})
        assert closed.status_code == 200, closed.text
        assert (await act(client, eid, "close", {"resolution": "actioned"})).status_code == 409
        await wait_for(
            lambda: (
                {r.event_type for r in receiver.accepted} >= {f"playbook.{k}" for k in LIFECYCLE}
            ),
            timeout_s=30,
            what="a webhook of each lifecycle type",
        )
        detail = (await client.get(f"/v1/playbooks/episodes/{eid}", headers=as_(READ))).json()

    body = closed.json()
    assert body["status"] == "closed" and body["resolution"] == "actioned"
    assert body["owner"] == "csm-42" and body["note"] == "called"
    assert body["acknowledged_at"] is not None and body["closed_at"] is not None
    actions = [h["action"] for h in detail["history"]]
    assert actions == ["opened", *LIFECYCLE]
    by = {h["action"]: h["by"] for h in detail["history"]}
    assert by["snooze_ended"] == "vigil"
    assert all(by[a].startswith("write token sha256:") for a in LIFECYCLE if a != "snooze_ended")
    assert all(r.verified for r in receiver.accepted)
    assert [r.event_type for r in receiver.accepted] == [f"playbook.{k}" for k in LIFECYCLE]
    records = await read_topic(
        infra.kafka_bootstrap, topic_names.playbook_events, until=lambda r: len(r) >= 6
    )
    events = [PlaybookEvent.model_validate_json(r.value) for r in records]
    assert [e.kind for e in events] == ["triggered", *LIFECYCLE]
    assert {e.episode_id for e in events} == {eid}
    assert events[-1].resolution == "actioned"
    assert (events[-1].by or "").startswith("write token")
    assert "by" not in orjson.loads(records[0].value), "the rules' events keep their v1 shape"


async def test_a_closed_episode_stays_closed_while_its_condition_holds_and_reopens_on_reentry(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    settings = settings_for(infra, topic_names, database, read_token=READ, write_token=WRITE)
    async with running(settings) as client:
        await send(infra, topic_names.health_changes, [change("c", 0, 30, "red")])
        first = (await the_episode(client, "c", "at_risk", status="open"))["episode_id"]
        assert (await act(client, first, "close", {"resolution": "false_alarm"})).status_code == 200
        # still red: the closed episode does not reopen, and no new one opens
        await send(infra, topic_names.health_changes, [change("c", 1, 25, "red")])
        await the_episode(client, "c", "at_risk", status="closed")
        await send(infra, topic_names.health_changes, [change("c", 2, 80, "green")])
        resolved = await _resolved(client, first)
        assert resolved["status"] == "closed", "a close is final; the clearing is recorded"
        await send(infra, topic_names.health_changes, [change("c", 3, 30, "red")])
        second = await the_episode(client, "c", "at_risk", status="open")
        listed = await episodes(client, account_id="c", playbook="at_risk")

    assert second["episode_id"] != first
    assert [e["status"] for e in listed] == ["open", "closed"]  # newest first
    records = await read_topic(
        infra.kafka_bootstrap,
        topic_names.playbook_events,
        until=lambda r: sum(1 for m in r if b'"at_risk"' in m.value) >= 4,
    )
    at_risk = [
        (m["kind"], m["episode_id"])
        for m in map(orjson.loads, (r.value for r in records))
        if m["playbook"] == "at_risk"
    ]
    assert at_risk == [
        ("triggered", first),
        ("closed", first),
        ("resolved", first),
        ("triggered", second["episode_id"]),
    ]


async def _resolved(client: httpx.AsyncClient, eid: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def cleared() -> bool:
        found.update((await client.get(f"/v1/playbooks/episodes/{eid}")).json())
        return found.get("resolved_at") is not None

    await wait_for(cleared, timeout_s=30, what="the condition cleared")
    return found


async def test_a_snoozed_episode_reappears_when_the_snooze_ends_unless_its_condition_cleared(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    settings = settings_for(infra, topic_names, database, read_token=READ, write_token=WRITE)
    now = datetime.now(UTC)
    until = (now + timedelta(hours=1)).isoformat()
    async with running(settings) as client:
        await send(
            infra,
            topic_names.health_changes,
            [change("holds", 0, 30, "red"), change("clears", 0, 30, "red")],
        )
        holds = (await the_episode(client, "holds", "at_risk", status="open"))["episode_id"]
        clears = (await the_episode(client, "clears", "at_risk", status="open"))["episode_id"]
        # a time, or a duration from the service's now: the same snooze
        by_time = await act(client, holds, "snooze", {"until": until})
        by_duration = await act(client, clears, "snooze", {"for_seconds": 3600})
        assert by_time.status_code == 200 and by_duration.status_code == 200, by_duration.text
        ends = datetime.fromisoformat(by_duration.json()["snoozed_until"])
        assert timedelta(minutes=59) < ends - now < timedelta(minutes=61)
        assert not await episodes(client, status="open"), "a snoozed episode leaves the queue"
        await send(infra, topic_names.health_changes, [change("clears", 1, 80, "green")])
        await _resolved(client, clears)
        await tick(client, now + timedelta(minutes=30))  # before the snooze ends: nothing
        assert not await episodes(client, status="open")
        await tick(client, now + timedelta(hours=2))
        queue = await episodes(client, status="open")
        cleared = (await client.get(f"/v1/playbooks/episodes/{clears}")).json()

    assert [e["episode_id"] for e in queue] == [holds]
    assert queue[0]["snoozed_until"] is None
    assert cleared["status"] == "resolved"
    records = await read_topic(
        infra.kafka_bootstrap,
        topic_names.playbook_events,
        until=lambda r: any(b"snooze_ended" in m.value for m in r),
    )
    ended = [
        m for m in map(orjson.loads, (r.value for r in records)) if m["kind"] == "snooze_ended"
    ]
    assert [m["episode_id"] for m in ended] == [holds], "a resolved episode's snooze ends quietly"


async def test_an_episode_the_horizon_held_back_is_listed_as_such_with_why(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    settings = settings_for(infra, topic_names, database, read_token=READ, write_token=WRITE)
    async with running(settings) as client:
        old = change("old", -72, 30, "red")  # three days ago: history, not now
        await send(infra, topic_names.health_changes, [old])
        held = await the_episode(client, "old", "at_risk", status="held_back")
        refused = await act(client, held["episode_id"], "acknowledge", {})
    assert held["status"] == "held_back"
    assert "older than the 24 h horizon" in held["held_back_reason"]
    assert datetime.fromisoformat(held["opened_at"]) == T0 - timedelta(hours=72)
    assert held["resolved_at"] is None
    assert refused.status_code == 409


async def test_an_episode_resolved_and_reopened_within_one_batch_is_stored_twice(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    settings = settings_for(infra, topic_names, database, read_token=READ)
    script = [change("b", 0, 30, "red"), change("b", 1, 80, "green"), change("b", 2, 30, "red")]
    async with running(settings) as client:
        await send(infra, topic_names.health_changes, script)  # one batch, most likely
        await the_episode(client, "b", "at_risk", status="open")
        listed = await episodes(client, account_id="b", playbook="at_risk")
    assert [(e["status"], e["opened_at"] is not None) for e in listed] == [
        ("open", True),
        ("resolved", True),
    ]


async def test_closed_while_holding_opens_anew_after_the_playbooks_cool_down(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    settings = settings_for(infra, topic_names, database, read_token=READ, write_token=WRITE)
    async with running(settings) as client:
        config = (await client.get("/v1/config/playbooks")).json()["config"]
        config["timing"]["at_risk"]["cooldown_hours"] = 1
        assert (await client.put("/v1/config/playbooks", json=config)).status_code == 200
        await send(infra, topic_names.health_changes, [change("d", 0, 30, "red")])
        first = (await the_episode(client, "d", "at_risk", status="open"))["episode_id"]
        assert (await act(client, first, "close", {"resolution": "not_useful"})).status_code == 200
        now = datetime.now(UTC)
        await tick(client, now + timedelta(minutes=30))
        assert not await episodes(client, account_id="d", status="open")
        await tick(client, now + timedelta(hours=2))
        second = await the_episode(client, "d", "at_risk", status="open")
        old = (await client.get(f"/v1/playbooks/episodes/{first}")).json()
    assert second["episode_id"] != first
    assert old["status"] == "closed" and old["resolution"] == "not_useful"
    assert [h["action"] for h in old["history"]] == ["opened", "closed", "superseded"]
