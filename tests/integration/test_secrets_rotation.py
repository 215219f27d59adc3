"""`vigil secrets rotate` on the real database: secrets sealed with key A are re-encrypted
under key B (configured as B,A), after which B alone reads them and deliveries verify."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import text

from services.triggers.webhooks.secrets import SecretBox
from shared.database.engine import create_engine
from shared.kafka.clients import ensure_topics
from tests.integration.kafka_io import wait_for
from tests.integration.keys import SECRETS_KEY
from tests.integration.test_triggers import change, send, settings_for
from tests.integration.test_webhook_hardening import HOOKS, FakeDns, running
from tests.integration.test_webhooks import subscribe
from tests.support.receiver import Receiver, serving

KEY_A, KEY_B = SECRETS_KEY, Fernet.generate_key().decode()


def rotate(database: str, keys: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "VIGIL_DATABASE_URL"}
    run = subprocess.run(
        [sys.executable, "-m", "vigil", "secrets", "rotate", "--database-url", database],
        capture_output=True,
        text=True,
        timeout=120,
        env=env | {"VIGIL_SECRETS_KEY": keys},
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


async def stored(database: str) -> tuple[str, str]:
    engine = create_engine(database, pool_size=1)
    try:
        async with engine.connect() as conn:
            query = text("SELECT secret, previous_secret FROM webhook_subscriptions")
            secret, previous = (await conn.execute(query)).one()
    finally:
        await engine.dispose()
    return secret, previous


async def test_an_old_key_can_be_retired_after_rotation(infra, topic_names, database) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    receiver = Receiver()
    hooks = HOOKS.model_copy(update={"allowlist": ("127.0.0.1",)})
    with_a = settings_for(infra, topic_names, database, webhooks=hooks)  # key A only
    async with running(with_a, FakeDns()) as client:
        sub_id, first = await subscribe(client, receiver.url)
        rotated = await client.post(f"/v1/webhooks/subscriptions/{sub_id}/rotate-secret")
        current = rotated.json()["secret"]  # `first` stays valid during the grace period

    said = await asyncio.to_thread(rotate, database, f"{KEY_B},{KEY_A}")
    assert "2 re-encrypted with the newest key, 0 already under it, 1 subscriptions" in said
    again = await asyncio.to_thread(rotate, database, f"{KEY_B},{KEY_A}")
    assert "0 re-encrypted with the newest key, 2 already under it" in again, "idempotent"

    secret, previous = await stored(database)
    only_b = SecretBox(KEY_B)
    assert (only_b.open(secret), only_b.open(previous)) == (current, first)
    with pytest.raises(ValueError, match="does not decrypt"):
        SecretBox(KEY_A).open(secret)

    receiver.secrets.append(current)
    with_b = with_a.model_copy(update={"secrets_key": SecretStr(KEY_B)})
    async with serving(receiver), running(with_b, FakeDns()) as client:
        listed = await client.get("/v1/webhooks/subscriptions")
        assert [s["id"] for s in listed.json()] == [sub_id]
        await send(infra, topic_names.health_changes, [change("k1", 0, 30, "red")])
        await wait_for(lambda: len(receiver.accepted) >= 2, timeout_s=60, what="2 deliveries")
    assert all(r.verified for r in receiver.accepted)


async def test_a_secret_no_key_opens_stops_the_rotation_and_changes_nothing(
    infra, topic_names, database
) -> None:
    with_a = settings_for(infra, topic_names, database, webhooks=HOOKS)
    async with running(with_a, FakeDns({"hooks.example": ["93.184.216.34"]})) as client:
        await subscribe(client, "https://hooks.example/in")
    before = await stored(database)
    env = {k: v for k, v in os.environ.items() if k != "VIGIL_DATABASE_URL"}
    run = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "vigil", "secrets", "rotate", "--database-url", database],
        capture_output=True,
        text=True,
        timeout=120,
        env=env | {"VIGIL_SECRETS_KEY": KEY_B},  # A forgotten
        check=False,
    )
    assert run.returncode == 1
    assert "does not decrypt" in run.stderr and "nothing was changed" in run.stderr
    assert KEY_A not in run.stderr + run.stdout and KEY_B not in run.stderr + run.stdout
    assert await stored(database) == before
