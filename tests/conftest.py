"""Test fixtures: the real Kafka broker and PostgreSQL server for integration tests.

When ``VIGIL_KAFKA_BOOTSTRAP`` and ``VIGIL_DATABASE_URL`` are both set, the
suite uses them; otherwise it starts the local stack under ``.vigil/test-stack``
once per session and stops it at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.settings.common import TopicNames
from shared.stack import StackConfig

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Infra:
    kafka_bootstrap: str
    database_url: str
    stack: StackConfig | None = None  # set when the suite started the stack itself


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
        if "tests/cluster" in str(item.fspath):
            item.add_marker(pytest.mark.cluster)


def _say(config: pytest.Config, line: str) -> None:
    """A progress line on the terminal, past pytest's output capture."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    if capture is None:
        reporter.write_line(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


@pytest.fixture(scope="session")
def infra(pytestconfig: pytest.Config) -> Iterator[Infra]:
    """The broker and database: given by the environment, or started here."""
    bootstrap = os.environ.get("VIGIL_KAFKA_BOOTSTRAP")
    database_url = os.environ.get("VIGIL_DATABASE_URL")
    if bootstrap and database_url:
        _say(pytestconfig, f"using given Kafka {bootstrap} and PostgreSQL {database_url}")
        from shared.database.engine import migrate

        migrate(database_url)
        yield Infra(bootstrap, database_url)
        return
    from shared import stack
    from shared.database.engine import migrate

    config = stack.StackConfig.from_env(REPO_ROOT)
    config = stack.StackConfig(
        stack_dir=REPO_ROOT / ".vigil" / "test-stack",
        kafka_version=config.kafka_version,
        kafka_home=config.kafka_home,
        kafka_cache=config.kafka_cache,
    )
    info = stack.up(config, echo=lambda line: _say(pytestconfig, f"[stack] {line}"))
    try:
        migrate(info.database_url)
        _say(pytestconfig, "[stack] postgresql: migrations applied")
        yield Infra(info.kafka_bootstrap, info.database_url, config)
    finally:
        stack.down(config, echo=lambda line: _say(pytestconfig, f"[stack] {line}"))


@pytest.fixture
def topic_names() -> TopicNames:
    """Topic names unique to one test, so tests never read each other's messages."""
    suffix = uuid.uuid4().hex[:8]
    return TopicNames(
        **{name: f"{default}.{suffix}" for name, default in TopicNames().model_dump().items()}
    )


@pytest.fixture(scope="session")
def make_database(infra: Infra) -> Iterator[Callable[[], str]]:
    """Creates fresh, migrated databases (one per call); drops them at the end."""
    import asyncio

    from tests.support.databases import create_database, drop_database

    created: list[str] = []

    def create() -> str:
        name = f"vigil_t_{uuid.uuid4().hex[:10]}"
        created.append(name)
        return asyncio.run(create_database(infra.database_url, name))

    yield create
    for name in created:
        asyncio.run(drop_database(infra.database_url, name))


@pytest.fixture
def database(make_database: Callable[[], str]) -> str:
    """A fresh, migrated database of its own for one test."""
    return make_database()
