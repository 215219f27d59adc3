"""The pipeline as three processes, the console as a fourth, a small population, a browser."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.settings.common import TopicNames
from tests.integration.console import population
from tests.integration.keys import SECRETS_KEY
from tests.integration.processes import ServiceProcess
from tests.support.services import Service

ADMIN = "console-admin-token-0123456789abcdef0123456789"
READ = "console-read-token-0123456789abcdef01234567890"
SESSION_KEY = "console-session-key-0123456789abcdef0123456789"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# flags for a quiet, reproducible headless Chromium: no sandbox (containers), no GPU, no
# network of its own (QUIC, updates, sync), a fresh profile per run
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1400",
)


class Pipeline:
    def __init__(self, services: dict[str, Service], console: Service) -> None:
        self.services = services
        self.console = console

    def api(self, service: str, token: str = ADMIN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.services[service].url, headers=headers, timeout=10)


def wait_until(check: Callable[[], Any], what: str, timeout_s: float = 90) -> Any:
    """Poll ``check`` until it returns something true (the condition, not a guessed delay)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(f"{what}: not within {timeout_s:.0f} s")


def _env(infra: Any, database: str) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    topics = TopicNames(**{k: f"{v}.{suffix}" for k, v in TopicNames().model_dump().items()})
    return {f"VIGIL_TOPICS__{k.upper()}": v for k, v in topics.model_dump().items()} | {
        "VIGIL_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "VIGIL_DATABASE_URL": database,
        "VIGIL_API_TOKEN": ADMIN,
        "VIGIL_READ_TOKEN": READ,
        "VIGIL_SECRETS_KEY": SECRETS_KEY,
        "VIGIL_GROUP_ID": f"console-{suffix}",
        "VIGIL_INSTANCE_ID": f"console-{suffix}",
        "VIGIL_CLOCK_ENABLED": "false",
        "VIGIL_OUTBOX_POLL_INTERVAL_S": "0.1",
        "VIGIL_LAG_INTERVAL_S": "1",
        # a subscription to a closed local port: the pipeline page shows it failing
        "VIGIL_WEBHOOKS__ALLOW_HTTP": "true",
        "VIGIL_WEBHOOKS__ALLOWLIST": '["127.0.0.1"]',
    }


@pytest.fixture(scope="module")
def pipeline(infra, make_database, tmp_path_factory) -> Iterator[Pipeline]:
    logs = tmp_path_factory.mktemp("console-logs")
    env = _env(infra, make_database())
    services = {
        name: ServiceProcess(name, env, logs).start() for name in ("ingest", "scoring", "triggers")
    }
    urls = {f"VIGIL_{name.upper()}_URL": s.url for name, s in services.items()}
    console = ServiceProcess(
        "console",
        {**urls, "VIGIL_CONSOLE_SESSION_KEY": SESSION_KEY, "VIGIL_CONSOLE_CACHE_S": "0.5"},
        logs,
    ).start()
    everything = [*services.values(), console]
    try:
        with ThreadPoolExecutor(len(everything)) as pool:
            list(pool.map(lambda s: s.wait_ready(), everything))
        yield Pipeline(services, console)
    finally:
        for service in everything:
            service.stop()


def _health(pipeline: Pipeline, account: str) -> dict[str, Any] | None:
    with pipeline.api("scoring") as client:
        response = client.get(f"/v1/accounts/{population.segment(account)}/health")
    return response.json() if response.status_code == 200 else None


def _post(pipeline: Pipeline, events: list[dict[str, Any]]) -> None:
    with pipeline.api("ingest") as client:
        for start in range(0, len(events), 500):
            response = client.post("/v1/events", json={"events": events[start : start + 500]})
            assert response.status_code == 200, response.text
            assert response.json()["rejected"] == 0, response.text


@pytest.fixture(scope="module")
def fed(pipeline: Pipeline) -> Pipeline:
    """Healthy weeks first (a first point on every history), then the red account's bad days."""
    now = population.now()
    with pipeline.api("triggers") as client:
        closed_port = {"url": "http://127.0.0.1:9/hook", "event_types": ["health.changed"]}
        assert client.post("/v1/webhooks/subscriptions", json=closed_port).status_code == 201
    _post(pipeline, population.healthy_start(now) + population.cohort(now))
    for account in (population.RED, population.GREEN, population.XSS, *population.COHORT):
        wait_until(partial(_health, pipeline, account), f"{account} scored")
    with pipeline.api("scoring") as client:
        labels = {"outcomes": population.outcomes(now)}
        assert client.post("/v1/outcomes", json=labels).status_code == 200
    _post(pipeline, population.going_bad(now))
    wait_until(
        lambda: (_health(pipeline, population.RED) or {}).get("band") == "red", "the red account"
    )
    # scoring's band gauge (the console's distribution) counts it within a few seconds
    wait_until(partial(_counted_red, pipeline), "the red account in vigil_scoring_accounts")
    return pipeline


def _counted_red(pipeline: Pipeline) -> bool:
    text = httpx.get(f"{pipeline.services['scoring'].url}/metrics", timeout=5).text
    return 'vigil_scoring_accounts{band="red",segment="enterprise"} 1.0' in text


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()) and not (
        shutil.which("chromium") and shutil.which("chromedriver")
    ):
        pytest.skip("chromium and chromedriver are not installed (deploy/local/ensure-tools.sh)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM if Path(CHROMIUM).exists() else str(shutil.which("chromium"))
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver_path = CHROMEDRIVER if Path(CHROMEDRIVER).exists() else str(shutil.which("chromedriver"))
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
