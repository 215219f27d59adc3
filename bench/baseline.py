"""Row 6 of another commit beside this tree's: `make bench BENCH_ARGS="--baseline REF"`.

"No worse than before on the same machine" can only be judged side by side: a
shared 2-core machine moves row 6 by a factor of two between runs. So each run
measures the baseline, then this tree, on the same warm broker and database,
each in a process of its own started in its own tree (a git worktree of REF),
with its own migrations, topics and database. Both use this virtualenv.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Runs inside either tree: only names both have had since the benchmark's first version.
PROBE = """
import asyncio, json, sys, uuid
from pathlib import Path
import asyncpg
from sqlalchemy.engine import make_url
from bench import latency
from bench.run import topics
from shared.db import migrate
from shared.kafka import ensure_topics

async def main(bootstrap, base_url, logs):
    base = make_url(base_url)
    name = f"baseline_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(
        host=base.host, port=base.port, user=base.username, database=base.database
    )
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    url = base.set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(migrate, url)
    own = topics(uuid.uuid4().hex[:6])
    await ensure_topics(bootstrap, own.model_dump().values())
    result = await latency.measure(bootstrap, url, own.model_dump(), Path(logs))
    print(json.dumps(result))

asyncio.run(main(*sys.argv[1:]))
"""


@contextmanager
def checkout(repo: Path, ref: str) -> Iterator[Path]:
    """A detached worktree of ``ref``, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="vigil-baseline-"))
    subprocess.run(
        ["git", "worktree", "add", "--force", "--detach", str(path), ref],
        cwd=repo,
        check=True,
        capture_output=True,
    )
    try:
        yield path
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(path)], cwd=repo, capture_output=True
        )


async def measure(tree: Path, bootstrap: str, database_url: str, logs: Path) -> dict[str, Any]:
    """Row 6 of the code in ``tree`` (its last output line, as bench.latency.measure gives)."""
    await asyncio.to_thread(logs.mkdir, parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        PROBE,
        bootstrap,
        database_url,
        str(logs),
        cwd=tree,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"row 6 in {tree} failed: {err.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


def p99_line(label: str, runs: list[dict[str, Any]]) -> str:
    def ms(target: str) -> str:
        return " / ".join(f"{r[target]['p99'] * 1000:,.0f}" for r in runs)

    changes, hooks = ms("health_changes"), ms("webhooks")
    return f"{label}: p99 -> health change {changes} ms, -> webhook {hooks} ms"
