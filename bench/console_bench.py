"""Row 10: the console's page server time with a million accounts in the database.

The accounts (and a history for each) are written by PostgreSQL itself with
``generate_series``; scoring and triggers run as processes over that database,
the console as a third; the pages are fetched signed in, and each one's server
time is the console's ``Server-Timing`` header (the request in, every call to
the services, the page rendered).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from shared.settings.common import TopicNames
from tests.support.accounts_seed import HISTORY_EVERY, HISTORY_POINTS, SEED_SQL, seed_accounts
from tests.support.databases import create_database, drop_database
from tests.support.services import Service

MIGRATIONS = Path(__file__).resolve().parents[1] / "shared" / "migrations" / "versions"

TOKEN = "bench-console-token-0123456789abcdef0123456789"
SESSION_KEY = "bench-console-session-0123456789abcdef0123456789"
REQUESTS = 300  # of each kind of page
# the account list: the first page, filtered, sorted, searched, and a page deep in
# each order (a cursor 90% of the way through: keyset, so as cheap as the first)
LIST_PAGES = (
    "/accounts",
    "/accounts?band=red",
    "/accounts?segment=smb",
    "/accounts?band=yellow&segment=enterprise",
    "/accounts?sort=score",
    "/accounts?sort=-score",
    "/accounts?band=red&sort=-score",
)
SEARCHES = ("/accounts?q=acct-05", "/accounts?q=acct-0123", "/accounts?q=acct-09999")
OTHER_PAGES = {"model": "/model", "pipeline": "/pipeline", "playbooks": "/playbooks"}


def deep_pages(accounts: int) -> list[str]:
    """Keyset pages 90% of the way through the list by id, and by score either way."""
    deep = f"acct-{accounts * 9 // 10:07d}".encode().hex()
    return [
        f"/accounts?cursor=0~{deep}",
        f"/accounts?sort=score&cursor=90.0~{deep}",
        f"/accounts?sort=-score&cursor=10.0~{deep}",
        f"/accounts?band=green&segment=smb&cursor=0~{deep}",
    ]


def fingerprint(accounts: int) -> str:
    """Names a seeded database by what it holds: the seed and the migrations."""
    migrations = sorted(p.name for p in MIGRATIONS.glob("*.py"))
    digest = hashlib.sha256(json.dumps([accounts, SEED_SQL, migrations]).encode())
    return f"bench_console_{accounts}_{digest.hexdigest()[:10]}"


async def seed(database_url: str, accounts: int, say: Callable[[str], None]) -> None:
    started = time.monotonic()
    await seed_accounts(database_url, accounts)
    points, took = accounts // HISTORY_EVERY * HISTORY_POINTS, time.monotonic() - started
    say(f"    seeded {accounts:,} accounts, {points:,} history points in {took:.0f} s")


def _processes(bootstrap: str, database_url: str, logs: Path) -> tuple[dict[str, Service], Service]:
    suffix = uuid.uuid4().hex[:6]
    topics = TopicNames(**{k: f"bench.{v}.{suffix}" for k, v in TopicNames().model_dump().items()})
    env = {f"VIGIL_TOPICS__{k.upper()}": v for k, v in topics.model_dump().items()} | {
        "VIGIL_KAFKA_BOOTSTRAP": bootstrap,
        "VIGIL_DATABASE_URL": database_url,
        "VIGIL_API_TOKEN": TOKEN,
        "VIGIL_GROUP_ID": f"bench-console-{suffix}",
        "VIGIL_CLOCK_ENABLED": "false",
        "VIGIL_SECRETS_KEY": "GNt-HK2kEVhQHMI6ZZU3skIqUssuhE2ZxLBudhYFutY=",
    }
    names = ("ingest", "scoring", "triggers")
    services = {n: Service(n, env, logs / f"console-{n}.log") for n in names}
    urls = {f"VIGIL_{n.upper()}_URL": s.url for n, s in services.items()}
    console_env = urls | {"VIGIL_CONSOLE_SESSION_KEY": SESSION_KEY}
    return services, Service("console", console_env, logs / "console.log")


async def _signed_in(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    answer = await client.post("/login", data={"csrf": csrf.group(1), "token": TOKEN})
    assert answer.status_code == 303, answer.text


async def _server_ms(client: httpx.AsyncClient, path: str) -> tuple[float, float]:
    """The page's server time, and the part spent waiting for the services (ms)."""
    response = await client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    assert "not available" not in response.text, (path, response.text[:2000])
    parts = dict(p.strip().split(";dur=") for p in response.headers["server-timing"].split(","))
    return float(parts["app"]), float(parts["upstream"])


async def _until_shown(client: httpx.AsyncClient, path: str) -> float:
    """Seconds until ``path`` shows every panel: the reports a service computes on start
    (the accuracy report replays the history before every outcome, tens of seconds
    here) answer 503 until then, and a page shows that panel as "not available"."""
    started = time.monotonic()
    while True:
        if "not available" not in (await client.get(path)).text:
            return round(time.monotonic() - started, 1)
        await asyncio.sleep(1)  # polling a page: nothing to wait on but its answer


async def _times(client: httpx.AsyncClient, paths: list[str]) -> list[tuple[float, float]]:
    for path in dict.fromkeys(paths[:10]):  # warm the pools and the database's cache
        await _server_ms(client, path)
    return [await _server_ms(client, path) for path in paths]


def _cycle(paths: list[str] | tuple[str, ...], n: int) -> list[str]:
    return [paths[i % len(paths)] for i in range(n)]


def opened_ids(accounts: int, requests: int) -> list[str]:
    """Accounts with a history (one in HISTORY_EVERY), spread over the whole id range."""
    with_history = max(accounts // HISTORY_EVERY, 1)
    step = max(with_history // requests, 1)
    return [f"acct-{1 + HISTORY_EVERY * ((i * step) % with_history):07d}" for i in range(requests)]


async def measure(
    bootstrap: str, database_url: str, logs: Path, accounts: int, requests: int
) -> dict[str, Any]:
    services, console = _processes(bootstrap, database_url, logs)
    everything = [*services.values(), console]
    for service in everything:
        service.start()
    try:
        for service in everything:
            await asyncio.to_thread(service.wait_ready, 300)
        async with httpx.AsyncClient(base_url=console.url, timeout=300) as client:
            await _signed_in(client)
            first = {k: await _until_shown(client, v) for k, v in OTHER_PAGES.items()}
            ids = opened_ids(accounts, requests)
            kinds = {
                "list_ms": _cycle(LIST_PAGES, requests),
                "deep_ms": _cycle(deep_pages(accounts), requests // 3),
                "search_ms": _cycle(SEARCHES, requests // 3),
                "account_ms": [f"/accounts/{quote(a, safe='')}" for a in ids],
                **{f"{k}_ms": _cycle([v], requests // 3) for k, v in OTHER_PAGES.items()},
            }
            times = {kind: await _times(client, paths) for kind, paths in kinds.items()}
    finally:
        for service in everything:
            service.stop()
    by_path = {
        p: _quantiles([t[0] for t in times["list_ms"][i :: len(LIST_PAGES)]])
        for i, p in enumerate(LIST_PAGES)
    }
    return {"accounts": accounts, "first_shown_s": first, "list_by_page_ms": by_path, **times}


PAGES = ("list_ms", "deep_ms", "search_ms", "account_ms", "model_ms", "pipeline_ms", "playbooks_ms")


async def row(
    bootstrap: str,
    database_url: str,
    logs: Path,
    accounts: int,
    say: Callable[[str], None],
    *,
    seeded: bool = False,
) -> dict[str, Any]:
    """Seed (unless ``seeded``), measure, and the figures of row 10 (p50 and p99 of each
    page's server time, and of the part waiting for the services, in ms)."""
    say(f"10. console page server time with {accounts:,} accounts")
    if not seeded:
        await seed(database_url, accounts, say)
    times = await measure(bootstrap, database_url, logs, accounts, REQUESTS)
    result: dict[str, Any] = {"accounts": accounts, "requests": REQUESTS}
    for page in PAGES:
        for part, name in ((0, page), (1, page.replace("_ms", "_upstream_ms"))):
            result[name] = _quantiles([t[part] for t in times[page]])
            say(f"    {name}: {json.dumps(result[name])}")
    for extra in ("first_shown_s", "list_by_page_ms"):
        result[extra] = times[extra]
        say(f"    {extra}: {json.dumps(times[extra])}")
    return result


def _quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        **{q: _quantile(ordered, f) for q, f in (("p50", 0.5), ("p99", 0.99))},
    }


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _exists(base_url: str, name: str) -> bool:
    conn = await asyncpg.connect(
        make_url(base_url).set(drivername="postgresql").render_as_string(False)
    )
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


def main() -> None:
    """``python -m bench.console_bench --accounts N``: row 10 alone, on the stack that
    VIGIL_KAFKA_BOOTSTRAP and VIGIL_DATABASE_URL name. The seeded database is kept
    (named by the seed and the migrations) and reused by the next run; ``--fresh``
    seeds it again, ``--drop`` removes it after."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--drop", action="store_true")
    parser.add_argument("--out", type=Path, help="write the row's figures (JSON) here")
    args = parser.parse_args()
    base = os.environ["VIGIL_DATABASE_URL"]
    name = fingerprint(args.accounts)

    async def run() -> None:
        seeded = not args.fresh and await _exists(base, name)
        if not seeded:
            await drop_database(base, name)
            url = await create_database(base, name)
        else:
            url = make_url(base).set(database=name).render_as_string(hide_password=False)
            say(f"    reusing the seeded database {name}")
        try:
            with tempfile.TemporaryDirectory() as logs:
                bootstrap = os.environ["VIGIL_KAFKA_BOOTSTRAP"]
                result = await row(bootstrap, url, Path(logs), args.accounts, say, seeded=seeded)
            if args.out:
                args.out.write_text(json.dumps(result, indent=2) + "\n")
        finally:
            if args.drop:
                await drop_database(base, name)

    asyncio.run(run())


def say(line: str) -> None:
    print(line, flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
