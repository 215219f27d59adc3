"""Webhook hardening on the real broker and database: the URL policy at delivery time,
a hanging receiver that delays no other subscription, secrets encrypted at rest."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response

from services.triggers.app import create_app
from services.triggers.config import TriggersSettings
from services.triggers.webhooks.config import WebhookSettings
from shared.database.engine import create_engine
from shared.kafka.clients import ensure_topics
from tests.integration.kafka_io import wait_for
from tests.integration.test_triggers import TOKEN, change, send, settings_for
from tests.integration.test_webhooks import subscribe
from tests.support.receiver import Receiver, serving

HOOKS = WebhookSettings(
    schedule_s=(0, 30),
    jitter_ratio=0.0,
    allow_http=True,
    poll_interval_s=0.05,
    request_timeout_s=4.0,
    lease_margin_s=2.0,
)


@dataclass
class FakeDns:
    """The URL policy's dict-backed resolver, changeable mid-test (DNS rebinding)."""

    names: dict[str, list[str]] = field(default_factory=dict)

    def __call__(self, host: str) -> list[str]:
        return list(self.names.get(host, []))


@dataclass
class HangingReceiver(Receiver):
    """Takes every request and never answers (until the test releases it)."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    first_request_at: float | None = None

    async def handle(self, request: Request) -> Response:
        self.requests += 1
        self.first_request_at = self.first_request_at or time.monotonic()
        await self.release.wait()
        return Response(status_code=204)


@asynccontextmanager
async def running(settings: TriggersSettings, dns: FakeDns) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, resolve=dns)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://triggers",
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as client,
    ):
        yield client


async def test_a_name_that_resolves_to_loopback_at_delivery_is_refused_then(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    receiver = Receiver()
    dns = FakeDns({"hooks.example": ["93.184.216.34"]})  # public when subscribing
    settings = settings_for(infra, topic_names, database, webhooks=HOOKS)
    async with serving(receiver), running(settings, dns) as client:
        sub_id, _ = await subscribe(client, f"http://hooks.example:{receiver.port}/hook")
        dns.names["hooks.example"] = ["127.0.0.1"]  # rebound to the receiver on loopback
        await send(infra, topic_names.health_changes, [change("r1", 0, 30, "red")])

        async def attempted() -> list[dict[str, Any]]:
            got = await client.get(f"/v1/webhooks/subscriptions/{sub_id}/deliveries")
            return [d for d in got.json() if d["log"]]

        await wait_for(attempted, timeout_s=60, what="a delivery attempt logged")
        deliveries = await attempted()
    assert receiver.requests == 0, "nothing may reach the rebound address"
    errors = [a["error"] for d in deliveries for a in d["log"]]
    assert errors and all("refused at delivery" in e and "127.0.0.1" in e for e in errors)


async def test_a_receiver_that_never_answers_does_not_hold_up_another_subscription(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    hanging, healthy = HangingReceiver(), Receiver()
    hooks = HOOKS.model_copy(update={"allowlist": ("127.0.0.1",)})
    settings = settings_for(infra, topic_names, database, webhooks=hooks)
    async with serving(hanging), serving(healthy), running(settings, FakeDns()) as client:
        await subscribe(client, hanging.url)
        _, secret = await subscribe(client, healthy.url)
        healthy.secrets.append(secret)
        # 3 accounts, each a health change then a playbook: 6 deliveries per subscription,
        # two in a row per account (in order), so more than one round
        await send(
            infra, topic_names.health_changes, [change(f"h{i}", 0, 30, "red") for i in range(3)]
        )
        try:
            await wait_for(lambda: len(healthy.accepted) >= 6, timeout_s=60, what="healthy 6")
            done_at = time.monotonic()
        finally:
            hanging.release.set()
    assert hanging.first_request_at is not None
    waited = done_at - hanging.first_request_at
    # the hanging attempts end at their deadline; the healthy subscription never waits for them
    assert waited < hooks.request_timeout_s, f"healthy deliveries took {waited:.1f}s"
    assert all(r.verified for r in healthy.accepted)


async def test_secrets_are_encrypted_at_rest_and_the_previous_one_is_cleared(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    hooks = HOOKS.model_copy(update={"rotation_grace_s": 0.5})
    settings = settings_for(infra, topic_names, database, webhooks=hooks)
    dns = FakeDns({"hooks.example": ["93.184.216.34"]})
    engine = create_engine(database, pool_size=1)
    query = text("SELECT secret, previous_secret FROM webhook_subscriptions WHERE id = :id")
    try:
        async with running(settings, dns) as client:
            sub_id, secret = await subscribe(client, "https://hooks.example/hook")
            rotated = await client.post(f"/v1/webhooks/subscriptions/{sub_id}/rotate-secret")
            assert rotated.status_code == 200
            async with engine.connect() as conn:
                stored, previous = (await conn.execute(query, {"id": sub_id})).one()
            assert stored.startswith("fernet:") and previous.startswith("fernet:")
            assert secret not in stored + previous
            assert rotated.json()["secret"] not in stored + previous

            async def cleared() -> bool:
                async with engine.connect() as conn:
                    return (await conn.execute(query, {"id": sub_id})).one()[1] is None

            await wait_for(cleared, timeout_s=20, what="previous secret cleared after the grace")
    finally:
        await engine.dispose()


async def test_the_migration_encrypts_secrets_stored_in_plain_text(database, monkeypatch) -> None:
    from alembic import command

    from services.triggers.webhooks.secrets import SecretBox
    from shared.database.engine import alembic_config
    from tests.integration.keys import SECRETS_KEY

    config = alembic_config(database)
    await asyncio.to_thread(command.downgrade, config, "0004")
    engine = create_engine(database, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO webhook_subscriptions (id, url, event_types, secret,"
                    " previous_secret, created_at) VALUES ('sub_old', 'https://x.example/',"
                    " ARRAY['health.changed'], 'whsec_current', 'whsec_before', now())"
                )
            )
        monkeypatch.delenv("VIGIL_SECRETS_KEY", raising=False)
        try:
            await asyncio.to_thread(command.upgrade, config, "head")
        except RuntimeError as refused:
            assert "VIGIL_SECRETS_KEY" in str(refused)
        else:
            raise AssertionError("plain secrets without a key must stop the migration")
        monkeypatch.setenv("VIGIL_SECRETS_KEY", SECRETS_KEY)
        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as conn:
            secret, previous = (
                await conn.execute(
                    text("SELECT secret, previous_secret FROM webhook_subscriptions")
                )
            ).one()
    finally:
        await engine.dispose()
    box = SecretBox(SECRETS_KEY)
    assert secret.startswith("fernet:") and box.open(secret) == "whsec_current"
    assert box.open(previous) == "whsec_before"
