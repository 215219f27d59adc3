"""Account attributes from subscription events' extra fields, on the real database and
broker: per name the latest event carrying it wins in any arrival order, and a segment of
a live scorecard reads a declared one (an account moves when its region does)."""

from __future__ import annotations

import copy
import itertools
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from services.scoring.app import create_app
from services.scoring.config import ScoringSettings
from services.scoring.domain.attributes import latest_values
from services.scoring.domain.fold import fold_signals
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.domain.signal_decode import ScoringSignal, decode_signal
from services.scoring.repository.reads import lock_accounts
from services.scoring.repository.writes import apply_changes
from services.scoring.scorecard.default import scorecard_from_config
from shared.database.engine import create_engine, create_sessionmaker, transaction
from shared.kafka.clients import ensure_topics
from tests.integration.kafka_io import produce, wait_for
from tests.integration.pipeline import END, wait_drained
from tests.integration.test_trust import signal

pytestmark = pytest.mark.asyncio(loop_scope="session")
TOKEN = "test-token-attributes-0123456789abcdef0123456789abcdef"


def subscription_events(prefix: str) -> list[ScoringSignal]:
    """One account's subscription history: each event names some attributes, not all."""
    at = END - timedelta(days=30)
    bodies: list[tuple[str, dict[str, Any]]] = [
        ("subscription_started", {"region": "emea", "industry": "retail", "employees": 40}),
        ("subscription_updated", {"region": "apac", "note": {"nested": True}, "flag": True}),
        ("subscription_updated", {"industry": "fintech", "Bad-Name": "x", "empty": ""}),
    ]
    return [
        decode_signal(
            signal(prefix, "a", "payment", at + timedelta(days=i), kind, arr="50000", **extra)[1]
        )
        for i, (kind, extra) in enumerate(bodies)
    ]


async def test_the_latest_event_carrying_each_attribute_wins_in_any_order(database) -> None:
    orders = list(itertools.permutations(range(3)))
    engine = create_engine(database, pool_size=1)
    try:
        sessions = create_sessionmaker(engine)
        for n, order in enumerate(orders):
            events = subscription_events(f"p{n}")
            for i in order:  # one batch per event: every merge runs in SQL
                async with transaction(sessions) as session:
                    await apply_changes(session, fold_signals([events[i]]))
        async with transaction(sessions) as session:
            stored = await lock_accounts(session, [f"p{n}a" for n in range(len(orders))])
    finally:
        await engine.dispose()
    folded = fold_signals(subscription_events("whole")).accounts["wholea"].attributes
    expected = {"region": "apac", "industry": "fintech", "employees": 40.0}
    assert latest_values(folded) == expected  # nested, boolean, badly named, empty: left out
    assert [latest_values(row.attributes) for row in stored] == [expected] * len(orders)


def segmented_scorecard() -> dict[str, Any]:
    """The default with the ARR segments' weights for APAC accounts in a segment of its own."""
    data = copy.deepcopy(scorecard_from_config(HealthModelConfig()).model_dump(mode="json"))
    data["version"] = "regions-1"
    data["attributes"] = [{"name": "region", "type": "text"}]
    data["segments"].insert(
        0, {"name": "apac", "when": [{"attribute": "region", "op": "in", "value": ["apac"]}]}
    )
    data["weights"]["apac"] = data["weights"]["mid_market"]
    return data


async def test_a_live_segment_reads_a_declared_attribute(infra, topic_names, database) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    settings = ScoringSettings(
        kafka_bootstrap=infra.kafka_bootstrap,
        database_url=database,
        api_token=TOKEN,
        topics=topic_names,
        group_id=f"attributes-{uuid.uuid4().hex[:6]}",
        clock_enabled=False,
        outbox_poll_interval_s=0.1,
        config_poll_interval_s=0.2,
    )
    prefix, at = uuid.uuid4().hex[:4], END - timedelta(days=2)
    sydney, paris = prefix + "sydney", prefix + "paris"

    def subscribed(account: str, day: int, kind: str, region: str) -> tuple[str, bytes]:
        at_day = at + timedelta(days=day)
        message: tuple[str, bytes] = signal(prefix, account, "payment", at_day, kind, region=region)
        return message

    first = [
        signal(prefix, account, "usage", at, "session_started", user_id="u1")
        for account in ("sydney", "paris")
    ]
    first += [
        subscribed("sydney", 0, "subscription_started", "apac"),
        subscribed("paris", 0, "subscription_started", "emea"),
    ]
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://vigil", headers=headers
        ) as client,
    ):
        stored = await client.put("/v1/config/scorecard", json=segmented_scorecard())
        assert stored.status_code == 200, stored.text
        version = stored.json()["scorecard_version"]
        messages = [(topic_names.signals, key.encode(), value) for key, value in first]
        await produce(infra.kafka_bootstrap, messages)
        await wait_drained(database, infra.kafka_bootstrap, settings.group_id, topic_names.signals)

        async def segments() -> dict[str, str]:
            out = {}
            for account in (sydney, paris):
                health = (await client.get(f"/v1/accounts/{account}/health")).json()
                out[account] = health["segment"]
                if health["model_version"] == version:
                    assert health["explanation"]["segment"] == health["segment"]
            return out

        await wait_for(
            lambda: _equals(segments, {sydney: "apac", paris: "self_serve"}),
            timeout_s=60,
            what="each account in its region's segment",
        )
        # the account moves to APAC: a later subscription event says so
        moved = subscribed("paris", 1, "subscription_updated", "apac")
        await produce(infra.kafka_bootstrap, [(topic_names.signals, moved[0].encode(), moved[1])])
        await wait_drained(database, infra.kafka_bootstrap, settings.group_id, topic_names.signals)
        await wait_for(
            lambda: _equals(segments, {sydney: "apac", paris: "apac"}),
            timeout_s=60,
            what="the moved account in the APAC segment",
        )


async def _equals(read: Any, expected: dict[str, str]) -> bool:
    return bool(await read() == expected)
