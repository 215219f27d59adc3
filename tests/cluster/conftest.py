"""The cluster tier: a 3-node KRaft cluster of its own (and a PostgreSQL) under .vigil/cluster-test.

These tests kill brokers, so they never use the broker given by
``VIGIL_KAFKA_BOOTSTRAP``. ``make test-cluster`` runs them; ``make test``
leaves them out (marker ``cluster``). ``VIGIL_CLUSTER_KEEP=1`` keeps the
cluster running after the session, to iterate on a test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from shared import stack
from shared.database.engine import migrate
from tests.conftest import REPO_ROOT, Infra, _say


@pytest.fixture(scope="session")
def infra(pytestconfig: pytest.Config) -> Iterator[Infra]:
    """Overrides the suite's ``infra``: the same fixtures, on a cluster of three brokers."""
    base = stack.StackConfig.from_env(REPO_ROOT)
    config = stack.StackConfig(
        stack_dir=REPO_ROOT / ".vigil" / "cluster-test",
        kafka_version=base.kafka_version,
        kafka_home=base.kafka_home,
        kafka_cache=base.kafka_cache,
        brokers=3,
    )
    info = stack.up(config, echo=lambda line: _say(pytestconfig, f"[cluster] {line}"))
    try:
        migrate(info.database_url)
        yield Infra(info.kafka_bootstrap, info.database_url, config)
    finally:
        if not os.environ.get("VIGIL_CLUSTER_KEEP"):
            stack.down(config, echo=lambda line: _say(pytestconfig, f"[cluster] {line}"))
