"""Score trust on the real broker and database: outcomes, accuracy, shadow, promote."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text

from services.ingest.domain.validation import to_signal, validate_object
from services.scoring.app import create_app
from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.trust.cli import backtest, calibrate
from shared.contracts import signal_to_json
from shared.database.engine import create_engine
from shared.settings.common import TopicNames
from tests.integration.pipeline import END, produce_signals, wait_drained, workload_signals
from tests.integration.test_scoring import settings_for
from tests.support.workload import make_workload

pytestmark = pytest.mark.asyncio(loop_scope="session")
ACCOUNTS, DAYS, SEED = 70, 75, 21
TOKEN = {"Authorization": "Bearer test-token-scoring-0123456789abcdef0123456789abcdef"}


@asynccontextmanager
async def scoring_api(settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://scoring", headers=TOKEN, timeout=60
        ) as client:
            yield client


def signal(prefix: str, account: str, source: str, at: Any, type_: str, **fields: Any) -> Any:
    body = {
        "event_id": f"{prefix}{account}-{type_}-{at.isoformat()}",
        "account_id": prefix + account,
        "occurred_at": at.isoformat(),
        "type": type_,
        **fields,
    }
    event = validate_object(source, body, now=at)
    return event.account_id, signal_to_json(to_signal(event, source, at))


def labels(prefix: str) -> list[dict[str, str]]:
    """Churning and declining accounts churn at the end of the window, the others renew."""
    workload = make_workload(ACCOUNTS, DAYS, seed=SEED, end=END)
    return [
        {
            "account_id": prefix + a.account_id,
            "kind": "churn" if a.cohort in ("churning", "declining") else "renewal",
            "date": END.date().isoformat(),
            "id": f"crm-{a.account_id}",
        }
        for a in workload.accounts
    ]


async def rows(database_url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return [tuple(r) for r in await conn.execute(text(sql), params)]
    finally:
        await engine.dispose()


async def test_outcomes_accuracy_point_in_time_shadow_and_promote(
    infra, make_database, tmp_path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    prefix = f"t{suffix}-"
    topics = TopicNames(**{k: f"{v}.{suffix}" for k, v in TopicNames().model_dump().items()})
    signals = workload_signals(ACCOUNTS, DAYS, SEED, prefix)
    cancel_at = END - timedelta(days=1)
    signals.append(signal(prefix, "acct-00000", "payment", cancel_at, "subscription_canceled"))
    # acct-00001's renewal date passes and a subscription update moves it a year on
    renewed_on = (END - timedelta(days=15)).date()
    next_year = (END + timedelta(days=350)).date()
    for at, renewal in (
        (END - timedelta(days=20), renewed_on),
        (END - timedelta(days=14), next_year),
    ):
        update = signal(
            prefix,
            "acct-00001",
            "payment",
            at,
            "subscription_updated",
            renewal_at=renewal.isoformat(),
        )
        signals.append(update)
    # in event-time order, as a live stream: the history then holds scores along the way
    signals.sort(key=lambda item: orjson.loads(item[1])["occurred_at"])
    await produce_signals(infra.kafka_bootstrap, topics.signals, signals)
    database_url = await asyncio.to_thread(make_database)
    group = f"trust-{suffix}"
    # the test rescores at END (March 2026): clock times far from now need the replay switch
    settings = settings_for(infra, topics, database_url, group).model_copy(
        update={"clock_any_time": True}
    )
    async with scoring_api(settings) as api:
        await wait_drained(database_url, infra.kafka_bootstrap, group, topics.signals)
        # the cancellation on the payment stream is a churn outcome
        derived = await rows(database_url, "SELECT account_id, kind, outcome_date FROM outcomes")
        assert sorted(derived) == [
            (prefix + "acct-00000", "churn", cancel_at.date()),
            (prefix + "acct-00001", "renewal", renewed_on),
        ]

        # labels from outside: validated, idempotent by id
        posted = labels(prefix)
        first = (await api.post("/v1/outcomes", json={"outcomes": posted})).json()
        again = (await api.post("/v1/outcomes", json={"outcomes": posted})).json()
        assert first == {"accepted": ACCOUNTS, "duplicates": 0}
        assert again == {"accepted": 0, "duplicates": ACCOUNTS}
        bad = await api.post("/v1/outcomes", json={"outcomes": [{"account_id": "x"}]})
        assert bad.status_code == 422

        report = (await api.get("/v1/model/accuracy", params={"horizon": [30, 60]})).json()
        h30 = report["horizons"][0]
        assert h30["horizon_days"] == 30 and h30["message"] is None
        assert h30["auc"]["ci_low"] <= h30["auc"]["auc"] <= h30["auc"]["ci_high"]
        assert h30["auc"]["auc"] > 0.6
        assert set(h30["components"]) == {"usage", "adoption", "support", "payment", "sentiment"}
        metrics = (await api.get("/metrics")).text
        assert f'vigil_model_auc{{horizon="30",model_version="{report["model_version"]}"}}' in (
            metrics
        )

        await _late_event_changes_nothing(api, infra, database_url, topics, group, prefix, report)
        await _command_line(database_url, report, tmp_path)
        await _shadow_then_promote(api, database_url, report)


async def _command_line(database_url: str, report: dict[str, Any], tmp_path: Path) -> None:
    """`vigil calibrate --plot` and `vigil backtest --config` over the same database."""
    printed: list[str] = []
    png = tmp_path / "accuracy.png"
    measured = await asyncio.to_thread(
        calibrate, database_url, [30, 60], png, False, printed.append
    )
    text_ = "\n".join(printed)
    overall = measured.horizons[0].overall
    assert overall is not None
    # the API rounds to 4 places, the CLI prints 3: compare each with the unrounded value
    # (re-formatting the API's 0.9765 gives 0.977 where the CLI rightly prints 0.976)
    assert round(overall.auc, 4) == report["horizons"][0]["auc"]["auc"], (overall, report)
    assert f"AUC overall   {overall.auc:.3f}" in text_, text_
    assert "churn by band" in text_ and "suggested weights" in text_
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    config = tmp_path / "candidate.json"
    config.write_text(HealthModelConfig(green_min=80).model_dump_json())
    printed.clear()
    await asyncio.to_thread(backtest, database_url, config, [30], printed.append)
    assert any("AUC live" in line and "candidate" in line for line in printed), printed
    assert sum("at_risk episodes" in line for line in printed) == 2


async def _late_event_changes_nothing(
    api: httpx.AsyncClient,
    infra: Any,
    database_url: str,
    topics: TopicNames,
    group: str,
    prefix: str,
    report: dict[str, Any],
) -> None:
    """Events after the outcome move the live score, not the accuracy report."""
    workload = make_workload(ACCOUNTS, DAYS, seed=SEED, end=END)
    healthy = [a.account_id for a in workload.accounts if a.cohort == "healthy"][:3]
    at = END + timedelta(days=2)
    late = []
    for account in healthy:
        for n in range(2):
            late.append(
                signal(
                    prefix,
                    account,
                    "ticket",
                    at + timedelta(minutes=n),
                    "opened",
                    ticket_id=f"late-{n}",
                    severity="urgent",
                )
            )
        late.append(signal(prefix, account, "payment", at, "payment_failed", invoice_id="late"))
    await produce_signals(infra.kafka_bootstrap, topics.signals, late)
    await wait_drained(database_url, infra.kafka_bootstrap, group, topics.signals)
    after_outcome = await rows(
        database_url,
        "SELECT count(*) FROM score_history WHERE as_of > :t AND account_id = ANY(:ids)",
        t=END,
        ids=[prefix + a for a in healthy],
    )
    assert after_outcome[0][0] >= len(healthy)  # the late events did change the live scores
    again = (await api.get("/v1/model/accuracy", params={"horizon": [30, 60]})).json()
    assert again == report


async def _shadow_then_promote(
    api: httpx.AsyncClient, database_url: str, report: dict[str, Any]
) -> None:
    """A candidate with the suggested weights: scored in shadow, compared, promoted."""
    live = HealthModelConfig.model_validate((await api.get("/v1/config/scoring")).json()["config"])
    weights = {s["segment"]: s["weights"] for s in report["suggested_weights"] if s["weights"]}
    assert weights, report["suggested_weights"]
    data = live.model_dump(mode="json")
    data["weights"] = {**data["weights"], **weights}
    candidate = HealthModelConfig.model_validate(data)
    put = (await api.put("/v1/model/shadow", json=data)).json()
    assert put["model_version"] == candidate.model_version
    rescored = await api.post("/v1/clock/rescore", params={"as_of": END.isoformat()})
    assert rescored.status_code == 200
    status = (await api.get("/v1/model/shadow", params={"horizon": [30]})).json()
    assert status["band_changes"]["scored"] == rescored.json()["accounts"]
    assert status["band_changes"]["changed_band"] == sum(status["band_changes"]["moves"].values())
    [compared] = status["accuracy"]
    assert compared["live_auc"] == round(report["horizons"][0]["auc"]["auc"], 4)
    assert compared["candidate_auc"] is not None
    # the shadow is stored, never published: no health change carries its version
    published = await rows(
        database_url,
        "SELECT count(*) FROM score_history WHERE model_version = :m",
        m=candidate.model_version,
    )
    assert published == [(0,)]
    promoted = (await api.post("/v1/model/shadow/promote")).json()
    assert promoted == {"version": 2, "model_version": candidate.model_version}
    after = (await api.get("/v1/model/accuracy", params={"horizon": [30]})).json()
    assert after["model_version"] == candidate.model_version
    new_auc = after["horizons"][0]["auc"]["auc"]
    # the live model is now judged exactly as the shadow was (whether the suggested weights
    # raise the AUC is a property of the data: the unit test and the demo check it)
    assert new_auc == compared["candidate_auc"]
    recorded = await rows(database_url, "SELECT ended_as, promoted_version FROM model_shadow")
    assert recorded == [("promoted", 2)]
    assert (await api.get("/v1/model/shadow")).status_code == 404
