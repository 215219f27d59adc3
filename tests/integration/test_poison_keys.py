"""A misbehaving internal producer writes junk keys (a NUL byte, bytes that are not UTF-8)
to `signals` and `health.changes`: the junk is dead-lettered and the accounts produced after
it are scored and evaluated by triggers, within a bounded time (real broker and database).

The dead letter is queued through the outbox, whose key is PostgreSQL text: a NUL byte in
it was refused (CharacterNotInRepertoireError), classified permanent, and the consumer
session retried the same batch forever."""

from __future__ import annotations

import uuid
from contextlib import AsyncExitStack

import orjson
import pytest
from sqlalchemy import text

from services.ingest.domain.validation import to_signal, validate_object
from services.scoring.app import create_app as scoring_app
from services.scoring.config import ScoringSettings
from services.triggers.app import create_app as triggers_app
from services.triggers.config import TriggersSettings
from shared.database.engine import create_engine
from shared.kafka.clients import ensure_topics
from tests.integration.kafka_io import produce, read_topic, wait_for
from tests.integration.keys import SECRETS_KEY
from tests.support.poison import NOW, dead_letters, raw_event, sha

pytestmark = pytest.mark.asyncio(loop_scope="session")
TOKEN = "test-token-poison-keys-0123456789abcdef"
CANARIES = 16
JUNK: list[tuple[bytes | None, bytes]] = [
    (b"\x00", b"{}"),
    (b"\xff\xfe\x00", b"\x00\x01 not json"),
    (b"k\x00" * 700, b"[]"),  # a long key with NUL bytes
]


def canary(i: int) -> tuple[str, bytes]:
    account = f"canary-{i}"
    event = validate_object("usage", raw_event(i, account_id=account), now=NOW)
    signal = to_signal(event, "usage", NOW).model_dump(mode="json", exclude_none=True)
    return account, orjson.dumps(signal)


async def test_junk_keys_are_dead_lettered_and_later_accounts_are_scored_and_evaluated(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    suffix = uuid.uuid4().hex[:6]
    common = {
        "kafka_bootstrap": infra.kafka_bootstrap,
        "database_url": database,
        "api_token": TOKEN,
        "topics": topic_names,
        "clock_enabled": False,
        "outbox_poll_interval_s": 0.1,
    }
    scoring = scoring_app(ScoringSettings(**common, group_id=f"scoring-{suffix}"))
    triggers = triggers_app(
        TriggersSettings(**common, group_id=f"triggers-{suffix}", secrets_key=SECRETS_KEY)
    )
    topics = (topic_names.signals, topic_names.health_changes)
    await produce(infra.kafka_bootstrap, [(t, key, value) for t in topics for key, value in JUNK])
    canaries = [canary(i) for i in range(CANARIES)]
    await produce(
        infra.kafka_bootstrap,
        [(topic_names.signals, account.encode(), value) for account, value in canaries],
    )
    engine = create_engine(database, pool_size=1)

    async def reached(sql: str) -> bool:
        async with engine.connect() as conn:
            return int(await conn.scalar(text(sql)) or 0) >= CANARIES

    try:
        async with AsyncExitStack() as stack:
            for app in (scoring, triggers):
                await stack.enter_async_context(app.router.lifespan_context(app))
            scored = "SELECT count(*) FROM accounts WHERE account_id LIKE 'canary-%' AND score >= 0"
            await wait_for(lambda: reached(scored), timeout_s=60, what="every canary scored")
            evaluated = "SELECT count(*) FROM trigger_accounts WHERE account_id LIKE 'canary-%'"
            await wait_for(lambda: reached(evaluated), timeout_s=60, what="canaries evaluated")
            scoring_dlq = await read_topic(
                infra.kafka_bootstrap, topic_names.scoring_dlq, until=lambda r: len(r) >= 3
            )
            triggers_dlq = await read_topic(
                infra.kafka_bootstrap, topic_names.triggers_dlq, until=lambda r: len(r) >= 3
            )
    finally:
        await engine.dispose()
    for records, stage in ((scoring_dlq, "scoring"), (triggers_dlq, "triggers")):
        letters = dead_letters(records)
        assert {d.payload_sha256 for d in letters} == {sha(v) for _, v in JUNK}, stage
        assert {d.stage for d in letters} == {stage}
        assert all(b"\x00" not in (r.key or b"") for r in records), "keys the outbox can hold"
