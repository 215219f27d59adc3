"""A served app exits by its shutdown bound even when a task ignores cancellation."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import httpx

from shared.stack.process import free_port

APP = """
import asyncio, contextlib
from fastapi import FastAPI
from shared.http.server import serve

async def stubborn():
    while True:  # like a Kafka client's cleanup waiting for a broker that is gone
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            continue

@contextlib.asynccontextmanager
async def lifespan(app):
    app.state.task = asyncio.create_task(stubborn())
    yield
    print("lifespan finished", flush=True)

app = FastAPI(lifespan=lifespan)

@app.get("/healthz")
async def healthz():
    return {"status": "ok"}

serve(app, "127.0.0.1", PORT, shutdown_timeout_s=3.0)
"""


def test_sigterm_exits_within_the_bound_though_a_task_never_finishes(tmp_path) -> None:
    port = free_port()
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(APP).replace("PORT", str(port)))
    with subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "app did not start"
                time.sleep(0.1)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(15)
        took = time.monotonic() - started
        output = process.stdout.read() if process.stdout else ""
    assert code == 0, output
    assert "lifespan finished" in output and "shutdown bound reached" in output, output
    assert 2.0 < took < 3.5, took
