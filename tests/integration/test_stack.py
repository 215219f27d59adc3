"""`vigil stack up|status|down` on a stack dir of its own: real processes, none left behind."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError

from shared.kafka.clients import Brokers, client_options
from shared.stack.process import pid_alive, processes_mentioning
from shared.stack.secure_kafka import connection_from_env


def vigil(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigil", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_stack_up_status_down_leaves_nothing_running(tmp_path) -> None:
    env = {"VIGIL_STACK_DIR": str(tmp_path / "stack")}
    try:
        up = vigil("stack", "up", env=env)
        assert up.returncode == 0, up.stdout + up.stderr
        assert "kafka 4.1.1 (KRaft) ready at 127.0.0.1:" in up.stdout
        assert "postgresql" in up.stdout and "ready at postgresql+asyncpg://" in up.stdout

        status = vigil("stack", "status", env=env)
        lines = status.stdout.splitlines()
        assert any(line.startswith("kafka: running at 127.0.0.1:") for line in lines), status.stdout
        assert any(line.startswith("postgresql: running at postgresql") for line in lines)
        state = orjson.loads((tmp_path / "stack" / "stack.json").read_bytes())
        assert pid_alive(state["kafka_pid"]) and pid_alive(state["postgres_pid"])

        # a crashed run: the broker dies under us; `up` notices and starts a fresh stack
        os.kill(state["kafka_pid"], signal.SIGKILL)
        again = vigil("stack", "up", env=env)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "cleaning leftovers" in again.stdout
        state = orjson.loads((tmp_path / "stack" / "stack.json").read_bytes())
        assert pid_alive(state["kafka_pid"])
    finally:
        down = vigil("stack", "down", env=env)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not pid_alive(state["kafka_pid"]) and not pid_alive(state["postgres_pid"])
    assert processes_mentioning(str(tmp_path / "stack")) == []
    status = vigil("stack", "status", env=env)
    assert "kafka: stopped" in status.stdout and "postgresql: stopped" in status.stdout


def test_a_secure_stack_takes_only_authenticated_tls_clients() -> None:
    """`vigil stack up --secure`: its topics are made over SASL_SSL, stack.env holds what a
    client needs (the password not printed), a PLAINTEXT client is refused."""
    # not pytest's tmp_path: a concurrent pytest run may remove its older folders
    with tempfile.TemporaryDirectory(prefix="vigil-secure-stack-") as folder:
        _secure_stack(Path(folder))


def _secure_stack(tmp_path: Path) -> None:
    env = {"VIGIL_STACK_DIR": str(tmp_path / "stack")}
    try:
        up = vigil("stack", "up", "--secure", env=env)
        assert up.returncode == 0, up.stdout + up.stderr
        assert "(KRaft, SASL_SSL) ready at localhost:" in up.stdout
        assert "kafka: topics ready" in up.stdout
        stack_env = dict(
            line.split("=", 1) for line in (tmp_path / "stack" / "stack.env").read_text().split()
        )
        assert stack_env["VIGIL_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert stack_env["VIGIL_KAFKA_SASL_PASSWORD"] not in up.stdout
        assert (tmp_path / "stack" / "stack.env").stat().st_mode & 0o077 == 0
        secure = connection_from_env(stack_env["VIGIL_KAFKA_BOOTSTRAP"], stack_env)
        assert "signals" in asyncio.run(_topics(secure))
        with pytest.raises(KafkaConnectionError):
            asyncio.run(_topics(stack_env["VIGIL_KAFKA_BOOTSTRAP"]))
        state = orjson.loads((tmp_path / "stack" / "stack.json").read_bytes())
    finally:
        down = vigil("stack", "down", env=env)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not pid_alive(state["kafka_pid"])
    assert processes_mentioning(str(tmp_path / "stack")) == []


async def _topics(brokers: Brokers) -> list[str]:
    admin = AIOKafkaAdminClient(**client_options(brokers), request_timeout_ms=5000)
    try:
        await admin.start()
        return list(await admin.list_topics())
    finally:
        await admin.close()
