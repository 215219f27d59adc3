"""`schemathesis run --checks all` against each service's OpenAPI document: 0 failures.

Each service runs as a real process on the real broker and a fresh database. The
number of examples is bounded so the three runs take about two minutes
(``VIGIL_SCHEMATHESIS_EXAMPLES``, 15 per operation; 30 takes about three and a half);
``VIGIL_SCHEMATHESIS_SEED`` replays a run (the default seed keeps CI repeatable). No
status is excused for the configs or the accounts list: their OpenAPI schemas say
everything validation requires (orders between fields under ``x-vigil-order``, which
``schemathesis_hooks.py`` applies to generated bodies).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.kafka.clients import ensure_topics
from tests.integration.keys import SECRETS_KEY
from tests.integration.processes import ServiceProcess

TOKEN = "test-token-openapi-0123456789abcdef0123456789abcdef"
CONFIG = Path(__file__).with_name("schemathesis.toml")
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", ["ingest", "scoring", "triggers"])
async def test_schemathesis_finds_no_failure(
    service, infra, topic_names, database, tmp_path
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
    process = ServiceProcess(service, env, tmp_path).start()
    try:
        await asyncio.to_thread(process.wait_ready)
        run = await asyncio.to_thread(_schemathesis, process.url, tmp_path)
    finally:
        process.stop()
    report = run.stdout[-6000:]
    assert run.returncode == 0, f"schemathesis found failures:\n{report}\n{process.log_tail()}"
    assert "No issues found" in run.stdout or " passed" in run.stdout, report


def _schemathesis(url: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    seed = os.environ.get("VIGIL_SCHEMATHESIS_SEED", "20261124")
    argv = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--no-color",
        "--config-file",
        str(CONFIG),
        "run",
        f"{url}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {TOKEN}",
        "--max-examples",
        os.environ.get("VIGIL_SCHEMATHESIS_EXAMPLES", "15"),
        "--seed",
        seed,
        "--workers",
        "1",
        "--warnings",
        "off",
        "--report-dir",
        str(workdir / "schemathesis-report"),
    ]
    env = os.environ | {
        "SCHEMATHESIS_HOOKS": "tests.integration.schemathesis_hooks",
        "PYTHONPATH": str(REPO_ROOT),
    }
    return subprocess.run(
        argv, cwd=workdir, capture_output=True, text=True, timeout=240, check=False, env=env
    )
