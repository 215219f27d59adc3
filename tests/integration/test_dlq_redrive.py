"""Dead-letter redrive on the real broker and database: a poison record fixed by a
deploy (a stricter size limit lifted) is applied once however often it is redriven;
a record still bad goes back once with attempt 2 and is never sent again; every
redrive is recorded, the dead-letter topic keeps everything."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from services.ingest.app import create_app as create_ingest
from services.ingest.config import IngestSettings
from services.scoring.app import create_app as create_scoring
from services.scoring.config import ScoringSettings
from services.triggers.app import create_app as create_triggers
from services.triggers.config import TriggersSettings
from shared.kafka.clients import ensure_topics
from shared.settings.common import TopicNames
from tests.integration.kafka_io import produce, read_topic, wait_for
from tests.integration.keys import SECRETS_KEY
from tests.integration.pipeline import wait_drained
from tests.integration.test_ingest import ingest_settings as base_ingest_settings
from tests.integration.test_trust import rows
from tests.support.poison import good_signal, poison_changes, poison_signals, raw_event
from vigil.cli import app as vigil

pytestmark = pytest.mark.asyncio(loop_scope="session")
TOKEN = "test-token-redrive-0123456789abcdef0123456789abcdef"
BIG = "acct-big"


def ingest_settings(infra: Any, topics: TopicNames, **more: Any) -> IngestSettings:
    """One consumer group for the strict ingest and the fixed one: the fixed one must not
    read the raw topics again (the redrive is what brings the dead letters back)."""
    update = {"group_id": f"ingest-{topics.signals}", **more}
    return base_ingest_settings(infra, topics).model_copy(update=update)


def scoring_settings(infra: Any, topics: TopicNames, database: str) -> ScoringSettings:
    return ScoringSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        database_url=database,
        api_token=TOKEN,
        topics=topics,
        group_id=f"scoring-{uuid.uuid4().hex[:6]}",
        clock_enabled=False,
        outbox_poll_interval_s=0.1,
    )


def cli_env(infra: Any, topics: TopicNames, database: str) -> dict[str, str]:
    """What ``vigil dlq`` reads: the broker, the database and the topic names."""
    env = {f"VIGIL_TOPICS__{k.upper()}": v for k, v in topics.model_dump().items()}
    env |= {"VIGIL_KAFKA_BOOTSTRAP": infra.kafka_bootstrap, "VIGIL_DATABASE_URL": database}
    return env


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://s", headers=headers, timeout=60
        ) as client:
            yield client


async def dead_letters(infra: Any, topic: str, count: int) -> list[dict[str, Any]]:
    records = await read_topic(infra.kafka_bootstrap, topic, until=lambda r: len(r) >= count)
    return [orjson.loads(r.value) for r in records]


async def test_redrive_applies_a_fixed_record_once_and_a_bad_one_goes_back_once(
    infra, topic_names, database
) -> None:
    topics = topic_names
    await ensure_topics(infra.kafka_bootstrap, topics.model_dump().values())
    usage = topics.topic_of_source()["usage"]
    big = orjson.dumps(raw_event(1, account_id=BIG, event_id="ev-big", note="x" * 1500))
    bad = b'{"event_id": "ev-bad", "account_id": "acct-bad", not json'
    good = orjson.dumps(raw_event(2, account_id="acct-good", event_id="ev-good"))
    await produce(infra.kafka_bootstrap, [(usage, b"k", v) for v in (big, bad, good)])
    strict = ingest_settings(infra, topics, max_event_bytes=1024)
    async with running(create_ingest(strict)):
        first = await dead_letters(infra, topics.dlq, 2)
    assert sorted(d["reason"]["code"] for d in first) == ["not_json", "too_large"]
    assert {d["attempt"] for d in first} == {1}

    scoring = scoring_settings(infra, topics, database)
    # the fix: today's ingest takes events up to the default size
    async with (
        running(create_ingest(ingest_settings(infra, topics))),
        running(create_scoring(scoring)) as api,
    ):
        await wait_drained(database, infra.kafka_bootstrap, scoring.group_id, topics.signals)
        listed = (await api.get("/v1/dlq", params={"topic": "ingest.dlq"})).json()["items"]
        assert len(listed) == 2 and {d["attempt"] for d in listed} == {1}
        ids = {d["reason"]["code"]: d["id"] for d in listed}
        shown = (await api.get(f"/v1/dlq/ingest.dlq/{ids['too_large']}")).json()
        assert orjson.loads(shown["payload"])["event_id"] == "ev-big"
        assert shown["times_redriven"] == 0

        dry = await api.post("/v1/dlq/redrive", json={"topic": "ingest.dlq", "dry_run": True})
        assert dry.json()["counts"] == {"sent": 2}
        real = await api.post("/v1/dlq/redrive", json={"topic": "ingest.dlq"})
        assert real.status_code == 200, real.text
        assert real.json()["counts"] == {"sent": 2}

        # the fixed one is applied; the bad one is back once, as attempt 2
        after = await dead_letters(infra, topics.dlq, 3)
        assert [d["attempt"] for d in after].count(2) == 1
        again = next(d for d in after if d["attempt"] == 2)
        assert again["reason"]["code"] == "not_json"
        await wait_for(lambda: applied(database, BIG), what="the redriven event applied")
        activity = await rows(
            database, "SELECT day, events FROM daily_activity WHERE account_id = :a", a=BIG
        )

        # run again by filter: what was sent is skipped, attempt 2 is at the limit
        second = await api.post("/v1/dlq/redrive", json={"topic": "ingest.dlq"})
        assert second.json()["counts"] == {"already_redriven": 2, "exhausted": 1}
        # and by id, explicitly: sent, and applied once all the same
        by_id = await api.post(
            "/v1/dlq/redrive", json={"topic": "ingest.dlq", "ids": [ids["too_large"]]}
        )
        assert by_id.json()["counts"] == {"sent": 1}
        await read_topic(
            infra.kafka_bootstrap,
            topics.signals,
            until=lambda rs: sum(orjson.loads(r.value)["event_id"] == "ev-big" for r in rs) >= 2,
        )
        await wait_drained(database, infra.kafka_bootstrap, scoring.group_id, topics.signals)
        assert await applied(database, BIG) == 1
        assert (
            await rows(
                database, "SELECT day, events FROM daily_activity WHERE account_id = :a", a=BIG
            )
            == activity
        )
        # nothing removed, nothing new: the attempt-2 record was not sent again
        assert len(await dead_letters(infra, topics.dlq, 3)) == 3

        record = (await api.get("/v1/dlq/redrives", params={"topic": "ingest.dlq"})).json()
        assert [r["dry_run"] for r in record["items"]] == [False, False, False, True]
        assert all(r["requested_by"].startswith("admin token sha256:") for r in record["items"])
        shown = (await api.get(f"/v1/dlq/ingest.dlq/{ids['too_large']}")).json()
        assert shown["times_redriven"] == 2

    # the command reads the same topic and record
    env = cli_env(infra, topics, database)
    # in a thread: the command runs its own event loop
    listed_cli = await asyncio.to_thread(
        CliRunner().invoke, vigil, ["dlq", "list", "--topic", "ingest.dlq"], env=env
    )
    assert listed_cli.exit_code == 0, listed_cli.output
    assert "3 dead letters selected" in listed_cli.output
    assert listed_cli.output.count("redrive ") == 3 and "dry run" in listed_cli.output
    dry_cli = await asyncio.to_thread(
        CliRunner().invoke, vigil, ["dlq", "redrive", "--topic", "ingest.dlq", "--dry-run"], env=env
    )
    assert dry_cli.exit_code == 0, dry_cli.output
    assert '"already_redriven": 2' in dry_cli.output and '"exhausted": 1' in dry_cli.output


async def applied(database: str, account: str) -> int:
    found = await rows(
        database, "SELECT count(*) FROM applied_events WHERE account_id = :a", a=account
    )
    return int(found[0][0])


async def test_a_scoring_dead_letter_still_bad_goes_back_once_as_attempt_2(
    infra, topic_names, database
) -> None:
    """The stage's own dead-lettering (through the outbox) counts the attempt too."""
    topics = topic_names
    await ensure_topics(infra.kafka_bootstrap, [topics.signals, topics.scoring_dlq])
    poison = dict(poison_signals())["seats over int32"]
    await produce(
        infra.kafka_bootstrap, [(topics.signals, b"acct-1", v) for v in (good_signal(1), poison)]
    )
    scoring = scoring_settings(infra, topics, database)
    async with running(create_scoring(scoring)) as api:
        first = await dead_letters(infra, topics.scoring_dlq, 1)
        assert [(d["stage"], d["attempt"]) for d in first] == [("scoring", 1)]
        sent = await api.post("/v1/dlq/redrive", json={"topic": "scoring.dlq"})
        assert sent.json()["counts"] == {"sent": 1}
        both = await dead_letters(infra, topics.scoring_dlq, 2)
        assert [d["attempt"] for d in both] == [1, 2]
        assert both[1]["payload_sha256"] == first[0]["payload_sha256"]
        again = await api.post("/v1/dlq/redrive", json={"topic": "scoring.dlq"})
        assert again.json()["counts"] == {"already_redriven": 1, "exhausted": 1}
        await wait_drained(database, infra.kafka_bootstrap, scoring.group_id, topics.signals)
    assert len(await dead_letters(infra, topics.scoring_dlq, 2)) == 2


async def test_vigil_dlq_redrives_a_triggers_dead_letter_and_triggers_counts_the_attempt(
    infra, topic_names, database
) -> None:
    """The command needs only the broker and the database; triggers counts the attempt."""
    topics = topic_names
    await ensure_topics(infra.kafka_bootstrap, [topics.health_changes, topics.triggers_dlq])
    poison = dict(poison_changes())["score 1e308"]
    await produce(infra.kafka_bootstrap, [(topics.health_changes, b"acct-1", poison)])
    settings = TriggersSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        database_url=database,
        api_token=TOKEN,
        secrets_key=SECRETS_KEY,
        topics=topics,
        group_id=f"triggers-{uuid.uuid4().hex[:6]}",
        clock_enabled=False,
        outbox_poll_interval_s=0.1,
    )
    env = cli_env(infra, topics, database)

    async def vigil_dlq(*argv: str) -> str:
        result = await asyncio.to_thread(CliRunner().invoke, vigil, ["dlq", *argv], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    async with running(create_triggers(settings)):
        first = await dead_letters(infra, topics.triggers_dlq, 1)
        assert [(d["stage"], d["attempt"]) for d in first] == [("triggers", 1)]
        listed = await vigil_dlq("list", "--topic", "triggers.dlq")
        first_id = listed.split()[0]  # each line starts with partition/offset
        assert "attempt 1" in listed and "1 dead letters selected" in listed
        sent = await vigil_dlq("redrive", "--topic", "triggers.dlq", "--id", first_id)
        assert '"sent": 1' in sent
        both = await dead_letters(infra, topics.triggers_dlq, 2)
    assert [d["attempt"] for d in both] == [1, 2]
    partition, offset = first_id.split("/")
    shown = orjson.loads(await vigil_dlq("show", "triggers.dlq", f"{partition}/{int(offset) + 1}"))
    assert shown["attempt"] == 2 and shown["payload_sha256"] == first[0]["payload_sha256"]
    second = await vigil_dlq("redrive", "--topic", "triggers.dlq")
    assert '"already_redriven": 1' in second and '"exhausted": 1' in second
