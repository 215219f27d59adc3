"""``vigil scorecard apply`` against a running scoring service: the version it stored,
and the service's refusal, every error with its path, when its own checks fail."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from services.scoring.scorecard.default import DEFAULT_PATH
from shared.kafka.clients import ensure_topics
from tests.integration.keys import SECRETS_KEY
from tests.integration.processes import ServiceProcess
from vigil.cli import app

TOKEN = "test-token-apply-0123456789abcdef0123456789abcdef"


@pytest.mark.asyncio(loop_scope="session")
async def test_apply_stores_a_version_and_shows_a_refusal(
    infra, topic_names, database, tmp_path: Path
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    env = {f"VIGIL_TOPICS__{k.upper()}": v for k, v in topic_names.model_dump().items()} | {
        "VIGIL_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "VIGIL_DATABASE_URL": database,
        "VIGIL_API_TOKEN": TOKEN,
        "VIGIL_SECRETS_KEY": SECRETS_KEY,
        "VIGIL_CLOCK_ENABLED": "false",
        "VIGIL_LOG_LEVEL": "WARNING",
    }
    process = ServiceProcess("scoring", env, tmp_path).start()
    try:
        await asyncio.to_thread(process.wait_ready)
        card = yaml.safe_load(DEFAULT_PATH.read_text())
        card["version"] = "ops-1"
        path = tmp_path / "card.yaml"
        path.write_text(yaml.safe_dump(card))
        run = CliRunner().invoke(
            app, ["scorecard", "apply", str(path), "--url", process.url, "--token", TOKEN]
        )
        assert run.exit_code == 0, run.output
        assert run.output.startswith("applied: version 2 (ops-1+")
        wrong = CliRunner().invoke(
            app, ["scorecard", "apply", str(path), "--url", process.url, "--token", "x" * 40]
        )
        assert wrong.exit_code == 1 and "refused (401)" in wrong.output
        # passes the document's checks, fails the service's: it cannot score a sample
        # account (a busy one at ARR 250,000, whose usage per seat is infinite here)
        card["measures"].append(
            {
                "name": "per_seat",
                "source": "usage",
                "aggregate": "sum_quantity",
                "window_days": 7,
                "per_seat": 5e-324,
            }
        )
        usage = next(c for c in card["components"] if c["name"] == "usage")
        usage["reasons"].insert(
            0,
            {"when": [{"measure": "arr", "op": "==", "value": 250000}], "text": "{per_seat:int}"},
        )
        path.write_text(yaml.safe_dump(card))
        refused = CliRunner().invoke(
            app, ["scorecard", "apply", str(path), "--url", process.url, "--token", TOKEN]
        )
        assert refused.exit_code == 1
        assert "refused (422)" in refused.output and "sample-healthy" in refused.output, (
            refused.output
        )
        reset = CliRunner().invoke(
            app, ["scorecard", "reset", "--url", process.url, "--token", TOKEN]
        )
        assert reset.exit_code == 0, reset.output
        assert reset.output == "applied: version 3 (the built-in model)\n"
    finally:
        process.stop()
