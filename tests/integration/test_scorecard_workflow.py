"""The CS-ops workflow with a scorecard on the real broker and database: diff the
population, backtest with per-measure AUC, shadow a scorecard (one that raises on some
accounts never fails live scoring)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from typer.testing import CliRunner

from services.scoring.domain.account_state import AccountState
from services.scoring.scorecard.default import DEFAULT_PATH
from services.scoring.trust import shadow as shadow_module
from services.scoring.trust.cli import backtest
from shared.settings.common import TopicNames
from tests.integration.kafka_io import wait_for
from tests.integration.pipeline import END, produce_signals, wait_drained, workload_signals
from tests.integration.test_poison_keys import canary
from tests.integration.test_scoring import settings_for
from tests.integration.test_trust import labels, rows, scoring_api
from vigil.cli import app

pytestmark = pytest.mark.asyncio(loop_scope="session")
ACCOUNTS, DAYS, SEED = 70, 75, 21  # the population and labels of test_trust
CANARIES = 12


def card_file(tmp_path: Path, name: str, change: Any) -> Path:
    data = yaml.safe_load(DEFAULT_PATH.read_text())
    change(data)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def strict_bands(data: dict[str, Any]) -> None:
    """Green only at 100, yellow from 99, no hysteresis: every band follows from the score."""
    data["version"] = "strict"
    data["bands"] = {"green_min": 100, "yellow_min": 99, "hysteresis": 0, "min_coverage": 0}


def expected_band(score: float) -> str:
    return "green" if score >= 100 else "yellow" if score >= 99 else "red"


def with_seat_usage(data: dict[str, Any]) -> None:
    """A measure added later: events per seat over 30 days, in the usage component."""
    data["version"] = "seat-usage"
    data["measures"].append(
        {
            "name": "events_per_seat",
            "source": "usage",
            "aggregate": "count",
            "window_days": 30,
            "per_seat": 1,
            "points": [{"x": 0, "y": 0}, {"x": 20, "y": 100}],
        }
    )
    usage = next(c for c in data["components"] if c["name"] == "usage")
    usage["measures"].append({"measure": "events_per_seat", "weight": 1})


def invoke(args: list[str], database_url: str) -> Any:
    return CliRunner().invoke(app, args, env={"VIGIL_DATABASE_URL": database_url})


async def test_diff_and_backtest_on_a_scored_population(infra, make_database, tmp_path) -> None:
    suffix = uuid.uuid4().hex[:8]
    prefix = f"w{suffix}-"
    topics = TopicNames(**{k: f"{v}.{suffix}" for k, v in TopicNames().model_dump().items()})
    signals = workload_signals(ACCOUNTS, DAYS, SEED, prefix)
    signals.sort(key=lambda item: orjson.loads(item[1])["occurred_at"])
    await produce_signals(infra.kafka_bootstrap, topics.signals, signals)
    database_url = await asyncio.to_thread(make_database)
    group = f"card-{suffix}"
    settings = settings_for(infra, topics, database_url, group).model_copy(
        update={"clock_any_time": True}
    )
    async with scoring_api(settings) as api:
        await wait_drained(database_url, infra.kafka_bootstrap, group, topics.signals)
        rescored = await api.post("/v1/clock/rescore", params={"as_of": END.isoformat()})
        assert rescored.status_code == 200, rescored.text
        posted = await api.post("/v1/outcomes", json={"outcomes": labels(prefix)})
        assert posted.json()["accepted"] == ACCOUNTS

    # the live scorecard against itself: nothing moves
    same = await asyncio.to_thread(
        invoke, ["scorecard", "diff", str(DEFAULT_PATH), "--json"], database_url
    )
    assert same.exit_code == 0, same.output
    data = orjson.loads(same.stdout)
    assert (data["accounts"], data["changed_band"], data["failed"]) == (ACCOUNTS, 0, 0)
    # named as the scores name the live model
    named = await rows(database_url, "SELECT DISTINCT model_version FROM accounts")
    assert [data["live"]] == [r[0] for r in named]

    # stricter bands: every account's band follows from its stored score
    strict = card_file(tmp_path, "strict.yaml", strict_bands)
    run = await asyncio.to_thread(
        invoke,
        ["scorecard", "diff", str(strict), "--json", "--chunk", "7", "--samples", "2"],
        database_url,
    )
    assert run.exit_code == 0, run.output
    assert f"diff: {ACCOUNTS} of {ACCOUNTS} accounts" in run.stderr  # progress, at the end
    stored = await rows(
        database_url,
        "SELECT segment, COALESCE(model_band, band), COALESCE(model_score, score)"
        " FROM accounts WHERE account_id LIKE :p",
        p=prefix + "%",
    )
    expected = Counter(
        (segment, band, expected_band(score))
        for segment, band, score in stored
        if band != expected_band(score)
    )
    assert expected, "the stricter bands move some accounts"
    diff = orjson.loads(run.stdout)
    got = Counter(
        {
            (segment, move["from"], move["to"]): move["accounts"]
            for segment, part in diff["segments"].items()
            for move in part["moves"]
        }
    )
    assert got == expected
    assert diff["changed_band"] == sum(expected.values())
    for part in diff["segments"].values():
        for move in part["moves"]:
            assert 1 <= len(move["sample"]) <= 2
            assert all(account.startswith(prefix) for account in move["sample"])

    # a measure added today is backtested at once, from the state kept
    printed: list[str] = []
    seat_usage = card_file(tmp_path, "seat-usage.yaml", with_seat_usage)
    await asyncio.to_thread(backtest, database_url, seat_usage, [30], printed.append)
    text = "\n".join(printed)
    assert "(point in time)" in printed[0]
    [auc_line] = [line for line in printed if "AUC live" in line]
    # a sample per labelled account that existed at the cut-off
    known = await rows(
        database_url,
        "SELECT count(*) FROM accounts WHERE account_id LIKE :p AND first_seen_at <= :t",
        p=prefix + "%",
        t=END - timedelta(days=30),
    )
    assert "candidate" in auc_line and f"n={known[0][0]} " in auc_line, text
    measure_lines = [line.split() for line in printed if line.startswith("      ")]
    measured = {parts[0]: parts for parts in measure_lines}
    assert "events_per_seat" in measured and measured["events_per_seat"][1] != "0", text

    # and the same scorecard as the live one gives the live AUC
    printed.clear()
    await asyncio.to_thread(backtest, database_url, DEFAULT_PATH, [30], printed.append)
    [line] = [line for line in printed if "AUC live" in line]
    live, candidate = line.split("AUC live ")[1].split("  candidate ")
    assert live == candidate.split("  n=")[0]


async def test_a_scorecard_shadow_that_raises_on_some_accounts_never_fails_live_scoring(
    infra, topic_names, database, monkeypatch
) -> None:
    settings = settings_for(infra, topic_names, database, f"card-{uuid.uuid4().hex[:6]}")
    real = shadow_module.evaluate  # type: ignore[attr-defined]
    poisoned = {f"canary-{i}" for i in (2, 5, 11)}

    def fails_on_some(card: Any, state: AccountState, as_of: datetime) -> Any:
        if state.account_id in poisoned:
            raise ZeroDivisionError("a candidate's bug on this account's data")
        return real(card, state, as_of)

    monkeypatch.setattr(shadow_module, "evaluate", fails_on_some)
    document = yaml.safe_load(DEFAULT_PATH.read_text())
    with_seat_usage(document)
    async with scoring_api(settings) as api:
        live = yaml.safe_load(DEFAULT_PATH.read_text()) | {"version": "live-1"}
        assert (await api.put("/v1/config/scorecard", json=live)).status_code == 200
        bad = dict(document, default_segment="nowhere")
        refused = await api.put("/v1/model/shadow", json=bad)
        assert refused.status_code == 422
        assert "weights.nowhere: missing" in refused.text, refused.text
        put = await api.put("/v1/model/shadow", json=document)
        assert put.status_code == 200, put.text
        version = put.json()["model_version"]
        assert version.startswith("seat-usage+")
        signals = [canary(i) for i in range(CANARIES)]
        await produce_signals(infra.kafka_bootstrap, settings.topics.signals, signals)

        async def all_scored() -> bool:
            got = await rows(
                database,
                "SELECT count(*) FROM accounts WHERE account_id LIKE 'canary-%' AND score >= 0",
            )
            return int(got[0][0]) >= CANARIES

        await wait_for(all_scored, timeout_s=60, what="every canary scored live")
        status = (await api.get("/v1/model/shadow", params={"horizon": [30]})).json()
        metrics = (await api.get("/metrics")).text
        promote = await api.post("/v1/model/shadow/promote")
    shadowed = await rows(
        database, "SELECT account_id FROM shadow_scores WHERE model_version = :m", m=version
    )
    assert {r[0] for r in shadowed} == {f"canary-{i}" for i in range(CANARIES)} - poisoned
    assert f'vigil_shadow_errors_total{{where="scoring"}} {float(len(poisoned))}' in metrics
    assert 'vigil_scoring_dead_letters_total{reason="handler_error"}' not in metrics
    assert status["candidate_model_version"] == version
    assert status["live_model_version"].startswith("live-1+")  # the scorecard scores name
    assert status["band_changes"]["scored"] == CANARIES - len(poisoned)
    assert status["candidate"]["version"] == "seat-usage"
    assert promote.status_code == 409 and "vigil scorecard apply" in promote.text
