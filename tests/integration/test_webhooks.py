"""Webhooks to a real receiver on loopback: verified, retried, in order, nothing lost."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict

import httpx

from services.triggers.webhooks.config import WebhookSettings
from shared.kafka.clients import ensure_topics
from tests.integration.kafka_io import wait_for
from tests.integration.keys import SECRETS_KEY
from tests.integration.processes import ServiceProcess
from tests.integration.test_triggers import TOKEN, change, running, send, settings_for
from tests.support.receiver import Receiver, serving

FAST = WebhookSettings(
    schedule_s=(0, 0.3, 0.6, 1.2, 2.4, 4.8),
    jitter_ratio=0.0,
    allow_http=True,
    allowlist=("127.0.0.1",),
    poll_interval_s=0.05,
    request_timeout_s=2.0,
    lease_margin_s=1.0,
)


async def subscribe(client: httpx.AsyncClient, url: str) -> tuple[str, str]:
    response = await client.post(
        "/v1/webhooks/subscriptions",
        json={
            "url": url,
            "event_types": ["playbook.triggered", "playbook.resolved", "health.changed"],
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["secret"].startswith("whsec_")
    return body["id"], body["secret"]


async def test_retries_until_the_receiver_recovers_verified_and_in_order(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    script = [
        change("a", 0, 80, "green"),
        change("a", 1, 30, "red"),
        change("a", 2, 80, "green"),
        change("b", 0, 35, "red"),
    ]
    receiver = Receiver(fail_first=3)
    settings = settings_for(infra, topic_names, database, webhooks=FAST)
    async with serving(receiver), running(settings) as client:
        sub_id, secret = await subscribe(client, receiver.url)
        receiver.secrets.append(secret)
        await send(infra, topic_names.health_changes, script)
        # 4 health changes + a: at_risk, score_drop triggered & resolved + b: at_risk
        expected = 4 + 4 + 1
        await wait_for(
            lambda: len({r.webhook_id for r in receiver.accepted}) >= expected,
            timeout_s=60,
            what="every delivery accepted",
        )
        path = f"/v1/webhooks/subscriptions/{sub_id}/deliveries"

        async def all_delivered() -> bool:
            # the worker records "delivered" after the receiver has answered
            rows = (await client.get(path)).json()
            return len(rows) == expected and all(d["status"] == "delivered" for d in rows)

        await wait_for(all_delivered, timeout_s=10, what="every delivery recorded as delivered")
        deliveries = (await client.get(path)).json()

    assert all(r.verified for r in receiver.accepted + receiver.rejected)
    assert len(receiver.rejected) == 3
    # ids stable across retries: every rejected id arrived again, unchanged
    assert {r.webhook_id for r in receiver.rejected} <= {r.webhook_id for r in receiver.accepted}
    # per account, deliveries arrive in the order they were queued
    queued: defaultdict[str, list[str]] = defaultdict(list)
    for d in deliveries:
        queued[d["account_id"]].append(d["id"])
    arrived: defaultdict[str, list[str]] = defaultdict(list)
    for r in receiver.accepted:
        if r.webhook_id not in arrived[r.account_id]:
            arrived[r.account_id].append(r.webhook_id)
    assert dict(arrived) == dict(queued)
    assert all(d["status"] == "delivered" for d in deliveries)
    retried = [d for d in deliveries if len(d["log"]) > 1]
    assert retried, "the receiver's 500s must show as retries in the attempt log"
    for d in retried:
        assert [a["status_code"] for a in d["log"]][-1] == 204
    longest = max(retried, key=lambda d: len(d["log"]))
    if len(longest["log"]) >= 3:
        times = [a["at"] for a in longest["log"]]
        gaps = [(b - a) for a, b in zip(map(_ts, times), map(_ts, times[1:]), strict=False)]
        assert gaps == sorted(gaps), f"delays must grow: {gaps}"


def _ts(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value).timestamp()


async def test_url_validation_refuses_internal_targets(infra, topic_names, database) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    settings = settings_for(infra, topic_names, database, webhooks=WebhookSettings(allow_http=True))
    async with running(settings) as client:
        for url in ("http://169.254.169.254/", "http://10.0.0.1/", "http://localhost/"):
            response = await client.post(
                "/v1/webhooks/subscriptions", json={"url": url, "event_types": ["health.changed"]}
            )
            assert response.status_code == 422, (url, response.text)
            assert "private or reserved" in response.text
            assert "VIGIL_WEBHOOKS__ALLOWLIST" in response.text
            assert "127.0.0.1" not in response.text, "what a name resolves to is not disclosed"
        anonymous = await client.get("/v1/webhooks/subscriptions", headers={"Authorization": ""})
        assert anonymous.status_code == 401


async def test_sigkill_during_delivery_loses_nothing_and_keeps_the_webhook_id(
    infra, topic_names, database, tmp_path
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    receiver = Receiver(delay_s=1.5)
    group = f"triggers-kill-{uuid.uuid4().hex[:6]}"
    env = {f"VIGIL_TOPICS__{k.upper()}": v for k, v in topic_names.model_dump().items()} | {
        "VIGIL_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "VIGIL_DATABASE_URL": database,
        "VIGIL_API_TOKEN": TOKEN,
        "VIGIL_SECRETS_KEY": SECRETS_KEY,
        "VIGIL_GROUP_ID": group,
        "VIGIL_CLOCK_ENABLED": "false",
        "VIGIL_WEBHOOKS": FAST.model_dump_json(),
    }
    async with serving(receiver):
        first = ServiceProcess("triggers", env, tmp_path).start()
        try:
            await asyncio.to_thread(first.wait_ready)
            async with httpx.AsyncClient(
                base_url=first.url, headers={"Authorization": f"Bearer {TOKEN}"}
            ) as client:
                _, secret = await subscribe(client, receiver.url)
            receiver.secrets.append(secret)
            await send(
                infra, topic_names.health_changes, [change(f"k{i}", 0, 30, "red") for i in range(6)]
            )
            # kill while the slow receiver still holds requests in flight
            await wait_for(lambda: receiver.requests >= 2, timeout_s=30, what="deliveries started")
        finally:
            first.kill()
        in_flight_at_kill = receiver.requests - len(receiver.accepted)
        second = ServiceProcess("triggers", env, tmp_path).start()
        try:
            expected = 6 * 2  # a health change and an at_risk event per account
            await wait_for(
                lambda: len({r.webhook_id for r in receiver.accepted}) >= expected,
                timeout_s=90,
                what="every delivery accepted after restart",
            )
        finally:
            assert second.terminate() == 0, second.log_tail()
    ids = [r.webhook_id for r in receiver.accepted]
    assert len(set(ids)) == expected
    assert all(r.verified for r in receiver.accepted)
    if in_flight_at_kill:
        assert len(ids) > len(set(ids)), "a delivery cut off by the kill is repeated with its id"
