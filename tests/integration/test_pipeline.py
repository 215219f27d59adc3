"""The three services end to end on the real broker and database; metrics pass promtool."""

from __future__ import annotations

import subprocess
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import text

from services.ingest.app import create_app as ingest_app
from services.ingest.config import IngestSettings
from services.scoring.app import create_app as scoring_app
from services.scoring.config import ScoringSettings
from services.triggers.app import create_app as triggers_app
from services.triggers.config import TriggersSettings
from shared.database.engine import create_engine
from shared.kafka.clients import ensure_topics
from tests.integration.kafka_io import produce
from tests.integration.keys import SECRETS_KEY
from tests.support.drain import wait_drained
from tests.support.workload import events, make_workload

REPO = Path(__file__).resolve().parents[2]
PROMTOOL = "promtool"


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMTOOL, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def test_alert_rules_pass_promtool() -> None:
    result = promtool("check", "rules", str(REPO / "deploy" / "prometheus" / "alerts.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 8 rules found" in result.stdout


def test_stalled_consumer_and_watermark_alerts_fire_in_promtool_unit_tests() -> None:
    """A stalled consumer and a stalled source alert; a backfill catching up and a live source do
    not (deploy/prometheus/alerts_test.yml)."""
    result = promtool("test", "rules", str(REPO / "deploy" / "prometheus" / "alerts_test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


async def test_raw_events_to_playbooks_and_every_metric_page_passes_promtool(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    workload = make_workload(30, 40, seed=5, end=datetime.now(UTC))
    raw = list(events(workload, seed=5))
    by_source = topic_names.topic_of_source()
    await produce(
        infra.kafka_bootstrap,
        [(by_source[s], e["account_id"].encode(), orjson.dumps(e)) for s, e in raw],
    )
    suffix = uuid.uuid4().hex[:6]
    groups = {name: f"{name}-{suffix}" for name in ("ingest", "scoring", "triggers")}
    common = {
        "kafka_bootstrap": infra.kafka_bootstrap,
        "database_url": database,
        "api_token": "test-token-pipeline-0123456789abcdef0123456789abcdef",
        "topics": topic_names,
    }
    apps = [
        ingest_app(IngestSettings(**common, group_id=groups["ingest"], instance_id=suffix)),
        scoring_app(
            ScoringSettings(
                **common,
                group_id=groups["scoring"],
                clock_enabled=False,
                outbox_poll_interval_s=0.1,
            )
        ),
        triggers_app(
            TriggersSettings(
                **common,
                group_id=groups["triggers"],
                secrets_key=SECRETS_KEY,
                clock_enabled=False,
                outbox_poll_interval_s=0.1,
            )
        ),
    ]
    engine = create_engine(database, pool_size=1)
    pages = []
    try:
        async with AsyncExitStack() as stack:
            for app in apps:
                await stack.enter_async_context(app.router.lifespan_context(app))
            await wait_drained(
                engine, infra.kafka_bootstrap, topic_names.model_dump(), groups, timeout_s=240
            )
            for app in apps:
                async with httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://svc"
                ) as client:
                    pages.append((await client.get("/metrics")).text)
        async with engine.connect() as conn:
            scored = await conn.scalar(
                text("SELECT count(*) FROM accounts WHERE score IS NOT NULL")
            )
            applied = await conn.scalar(text("SELECT count(*) FROM applied_events"))
            episodes = await conn.scalar(text("SELECT count(*) FROM playbook_episodes"))
    finally:
        await engine.dispose()

    assert scored == 30
    assert applied == len(raw), "every valid raw event is applied to state exactly once"
    assert episodes and episodes > 0
    for page in pages:
        result = promtool("check", "metrics", stdin=page)
        assert result.returncode == 0, result.stdout + result.stderr
    assert 'vigil_ingest_produced_events_total{outcome="signal"' in pages[0]
    assert "vigil_scoring_events_applied_total" in pages[1]
    assert 'vigil_scoring_transaction_duration_seconds_count{kind="batch"}' in pages[1]
    assert "vigil_triggers_playbook_events_total" in pages[2]
    for page, service in zip(pages, ("ingest", "scoring", "triggers"), strict=True):
        assert "vigil_build_info{python=" in page and f'service="{service}"' in page


@pytest.fixture(autouse=True)
def _promtool_available() -> None:
    if subprocess.run(["which", PROMTOOL], capture_output=True, check=False).returncode != 0:
        pytest.fail("promtool missing: `make test` installs Debian's prometheus package")
