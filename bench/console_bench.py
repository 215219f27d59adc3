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
import json
import os
import re
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy.engine import make_url

from shared.settings import TopicNames
from tests.support.accounts_seed import HISTORY_EVERY, seed_accounts
from tests.support.databases import create_database, drop_database
from tests.support.services import Service

TOKEN = "bench-console-token-0123456789abcdef0123456789"
SESSION_KEY = "bench-console-session-0123456789abcdef0123456789"
REQUESTS = 300  # of each page
LIST_PAGES = (
    "/accounts",
    "/accounts?band=red",
    "/accounts?segment=smb",
    "/accounts?band=yellow&segment=enterprise",
    "/accounts?sort=score",
    "/accounts?sort=-score",
    "/accounts?band=red&sort=-score",
    "/accounts?q=acct-05",
)


async def seed(database_url: str, accounts: int, say: Callable[[str], None]) -> None:
    await seed_accounts(database_url, accounts)
    say(f"    seeded {accounts:,} accounts, {accounts // HISTORY_EVERY * 30:,} history points")


def _processes(bootstrap: str, database_url: str, logs: Path) -> tuple[dict[str, Service], Service]:
    suffix = uuid.uuid4().hex[:6]
    topics = TopicNames(**{k: f"bench.{v}.{suffix}" for k, v in TopicNames().model_dump().items()})
    env = {f"VIGIL_TOPICS__{k.upper()}": v for k, v in topics.model_dump().items()} | {
        "VIGIL_KAFKA_BOOTSTRAP": bootstrap,
        "VIGIL_DATABASE_URL": database_url,
        "VIGIL_API_TOKEN": TOKEN,
        "VIGIL_GROUP_ID": f"bench-console-{suffix}",
        "VIGIL_CLOCK_ENABLED": "false",
        "VIGIL_ACCURACY_INTERVAL_S": "0",
        "VIGIL_SECRETS_KEY": "GNt-HK2kEVhQHMI6ZZU3skIqUssuhE2ZxLBudhYFutY=",
    }
    services = {n: Service(n, env, logs / f"console-{n}.log") for n in ("scoring", "triggers")}
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
    parts = dict(p.strip().split(";dur=") for p in response.headers["server-timing"].split(","))
    return float(parts["app"]), float(parts["upstream"])


async def _times(client: httpx.AsyncClient, paths: list[str]) -> list[tuple[float, float]]:
    for path in paths[:10]:  # warm the pools and the database's cache of these pages
        await _server_ms(client, path)
    return [await _server_ms(client, path) for path in paths]


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
        async with httpx.AsyncClient(base_url=console.url, timeout=30) as client:
            await _signed_in(client)
            first = (await client.get("/accounts")).text
            cursor = re.search(r"cursor=([^\"&]+)", first)
            pages = [*LIST_PAGES, *([f"/accounts?cursor={cursor.group(1)}"] if cursor else [])]
            with_history = max(accounts // HISTORY_EVERY, 1)
            step = max(with_history // requests, 1)
            ids = [
                f"acct-{1 + HISTORY_EVERY * ((i * step) % with_history):07d}"
                for i in range(requests)
            ]
            lists = await _times(client, [pages[i % len(pages)] for i in range(requests)])
            opened = await _times(client, [f"/accounts/{quote(a, safe='')}" for a in ids])
    finally:
        for service in everything:
            service.stop()
    return {"accounts": accounts, "list_ms": lists, "account_ms": opened}


async def row(
    bootstrap: str, database_url: str, logs: Path, accounts: int, say: Callable[[str], None]
) -> dict[str, Any]:
    """Seed, measure, and the figures of row 10 (p50 and p99 of each page, in ms)."""
    say(f"10. console page server time with {accounts:,} accounts")
    await seed(database_url, accounts, say)
    times = await measure(bootstrap, database_url, logs, accounts, REQUESTS)
    result: dict[str, Any] = {"accounts": accounts, "requests": REQUESTS}
    for page in ("list_ms", "account_ms"):
        for part, name in ((0, page), (1, page.replace("_ms", "_upstream_ms"))):
            ordered = sorted(t[part] for t in times[page])
            result[name] = {q: _quantile(ordered, f) for q, f in (("p50", 0.5), ("p99", 0.99))}
            say(f"    {name}: {json.dumps(result[name])}")
    return result


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    """``python -m bench.console_bench --accounts N``: row 10 alone, on the stack that
    VIGIL_KAFKA_BOOTSTRAP and VIGIL_DATABASE_URL name (a throwaway database on it)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    args = parser.parse_args()
    base = os.environ["VIGIL_DATABASE_URL"]

    async def run() -> None:
        url = await create_database(base, f"bench_console_{uuid.uuid4().hex[:8]}")
        try:
            with tempfile.TemporaryDirectory() as logs:
                await row(os.environ["VIGIL_KAFKA_BOOTSTRAP"], url, Path(logs), args.accounts, say)
        finally:
            await drop_database(base, make_url(url).database or "")

    asyncio.run(run())


def say(line: str) -> None:
    print(line, flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
