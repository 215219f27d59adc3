"""Rows of another commit beside this tree's: `make bench BENCH_ARGS="--baseline REF"`.

"No worse than before on the same machine" can only be judged side by side: a
shared 2-core machine moves a row by a factor of two between runs. So each run
measures the baseline, then this tree, on the same warm broker and database,
each in a process of its own started in its own tree (a git worktree of REF),
with its own migrations, topics and database. Both use this virtualenv.

Side by side: row 6 (latency), rows 2 and 3 (ingest alone, scoring end to end;
the ceiling and the peer run no Vigil code) and row 7 (the clock re-score).
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

# Runs inside either tree: only names both have had since the benchmark's first version
# (under the module each layout gives them).
# Each row gets a database of its own, made and migrated by that tree.
PROBE = """
import asyncio, json, sys, uuid
from pathlib import Path
import asyncpg
from sqlalchemy.engine import make_url
from bench import latency, throughput
from bench.run import topics
try:  # the layout since shared/ has subpackages
    from shared.database.engine import migrate
    from shared.kafka.clients import ensure_topics
except ImportError:  # a release from before it
    from shared.db import migrate
    from shared.kafka import ensure_topics

async def database(base_url):
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
    return url

async def main(row, bootstrap, base_url, logs, given):
    given, logs = json.loads(given), Path(logs)
    url = await database(base_url)
    own = topics(uuid.uuid4().hex[:6])
    if row == "database":
        result = {"url": url}
    elif row == "latency":
        await ensure_topics(bootstrap, own.model_dump().values())
        result = await latency.measure(bootstrap, url, own.model_dump(), logs)
    elif row == "scoring":
        await ensure_topics(bootstrap, [own.health_changes])
        names = {"signals": given["signals"], "health_changes": own.health_changes}
        rate = await throughput.scoring(bootstrap, url, names, given["total"], logs)
        result = {"events_per_s": rate}
    elif row == "ingest":
        await ensure_topics(bootstrap, [own.signals, own.dlq])
        out = {"signals": own.signals, "dlq": own.dlq}
        rate = await throughput.ingest(bootstrap, url, given["raw"], out, given["total"], logs)
        result = {"events_per_s": rate}
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


async def probe(
    tree: Path,
    row: str,
    bootstrap: str,
    database_url: str,
    logs: Path,
    given: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``row`` ("latency", "scoring", "ingest" or "database") run by the code in ``tree``:
    its last output line, a JSON object."""
    await asyncio.to_thread(logs.mkdir, parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        PROBE,
        row,
        bootstrap,
        database_url,
        str(logs),
        json.dumps(given or {}),
        cwd=tree,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"{row} in {tree} failed: {err.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def measure(tree: Path, bootstrap: str, database_url: str, logs: Path) -> dict[str, Any]:
    """Row 6 of the code in ``tree`` (as bench.latency.measure gives it)."""
    return await probe(tree, "latency", bootstrap, database_url, logs)


def clock_probe(tree: Path, url: str, extra: list[str]) -> str:
    """bench.clock_probe run by the code in ``tree``; its last JSON line, if any."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.clock_probe", "--database", url, *extra],
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
        cwd=tree,
    )
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("{")]
    return lines[-1] if lines else ""


def p99_line(label: str, runs: list[dict[str, Any]]) -> str:
    def ms(target: str) -> str:
        return " / ".join(f"{r[target]['p99'] * 1000:,.0f}" for r in runs)

    changes, hooks = ms("health_changes"), ms("webhooks")
    return f"{label}: p99 -> health change {changes} ms, -> webhook {hooks} ms"
