"""`vigil stack up|status|down` on a stack dir of its own: real processes, none left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import orjson

from shared.stack.process import pid_alive, processes_mentioning


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
