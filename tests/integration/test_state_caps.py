"""One account flooded with new feature names, ticket ids and invoice ids (what a write token
could send) keeps at most its caps of each, the evictions counted; an account under its caps
keeps every row (real broker and database)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from services.scoring.app import create_app
from shared.database.engine import create_engine
from tests.integration.pipeline import END, produce_signals, wait_drained
from tests.integration.test_scoring import settings_for
from tests.integration.test_trust import TOKEN, signal

pytestmark = pytest.mark.asyncio(loop_scope="session")
CAP, FLOOD = 20, 30


def flood(prefix: str, account: str, n: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        at = END - timedelta(hours=n - i)
        out.append(signal(prefix, account, "usage", at, f"feature_{i}", user_id="u1"))
        out.append(signal(prefix, account, "ticket", at, "opened", ticket_id=f"t{i}"))
        out.append(
            signal(
                prefix,
                account,
                "payment",
                at,
                "invoice_overdue",
                invoice_id=f"i{i}",
                due_at=(at - timedelta(days=3)).date().isoformat(),
            )
        )
    return out


async def test_an_account_over_its_caps_keeps_the_most_recent_rows_and_counts_the_rest(
    infra, topic_names, database
) -> None:
    group = f"caps-{uuid.uuid4().hex[:6]}"
    settings = settings_for(infra, topic_names, database, group).model_copy(
        update={
            "max_features_per_account": CAP,
            "max_open_tickets_per_account": CAP,
            "max_overdue_invoices_per_account": CAP,
            "batch_max_records": 25,  # the flood arrives over several batches
        }
    )
    prefix = uuid.uuid4().hex[:4]
    await produce_signals(
        infra.kafka_bootstrap,
        settings.topics.signals,
        flood(prefix, "big", FLOOD) + flood(prefix, "small", CAP - 5),
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await wait_drained(database, infra.kafka_bootstrap, group, settings.topics.signals)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
            metrics = (await client.get("/metrics", headers=TOKEN)).text
    engine = create_engine(database, pool_size=1)
    try:
        async with engine.connect() as conn:
            counts = {
                (table, account): int(
                    await conn.scalar(
                        text(f"SELECT count(*) FROM {table} WHERE account_id = :a"),
                        {"a": prefix + account},
                    )
                    or 0
                )
                for table in ("account_features", "tickets", "invoices")
                for account in ("big", "small")
            }
            newest = await conn.scalar(
                text("SELECT min(feature) FROM account_features WHERE account_id = :a"),
                {"a": prefix + "big"},
            )
    finally:
        await engine.dispose()
    for table in ("account_features", "tickets", "invoices"):
        assert counts[(table, "big")] == CAP, (table, counts)
        assert counts[(table, "small")] == CAP - 5, (table, counts)
    assert newest == f"feature_{FLOOD - CAP}", "the oldest features are the ones evicted"
    for kind in ("feature", "open_ticket", "overdue_invoice"):
        evicted = f'vigil_scoring_state_evicted_total{{kind="{kind}"}} {float(FLOOD - CAP)}'
        assert evicted in metrics, kind
