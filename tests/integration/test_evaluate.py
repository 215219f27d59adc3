"""`make evaluate` in small: a labelled population through the real pipeline, thresholds held.

36 accounts over 60 days (about 11,000 events, every cohort, renewals inside and
outside their window), in each arrival order, each on topics and a database of
its own; the services run as processes, one of them killed with SIGKILL mid-stream
in the ``kill`` order.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.evaluate_orders import ORDERS
from bench.evaluate_run import Run, Target, run_order
from bench.evaluate_truth import truth_of
from bench.workload import events, make_workload
from shared.settings import TopicNames
from tests.conftest import Infra

ACCOUNTS, DAYS, SEED = 36, 60, 3


@pytest.mark.parametrize("order", ORDERS)
async def test_every_arrival_order_meets_the_thresholds(
    order: str,
    infra: Infra,
    database: str,
    topic_names: TopicNames,
    tmp_path: Path,
) -> None:
    workload = make_workload(ACCOUNTS, DAYS, seed=SEED, end=datetime.now(UTC))
    truth = truth_of(workload)
    assert {"healthy", "churning", "expanding", "onboarding"} <= set(truth.cohort.values())
    assert any(truth.labels["renewal"].values()), "the population must have a renewal due"
    items = list(events(workload, seed=SEED))
    run = Run(order, workload, truth, items, rate=1000, horizon=timedelta(hours=24))
    target = Target(infra.kafka_bootstrap, database, topic_names, tmp_path, uuid.uuid4().hex[:8])

    result = await run_order(run, target)

    failed = [f"{c.name}: {c.detail}" for c in result.checks if not c.ok]
    assert not failed, "\n".join(failed)
    assert sum(result.bands["healthy"].values()) == len(
        [a for a in workload.accounts if a.cohort == "healthy"]
    )
    assert result.webhooks[0] > 0 and result.webhooks[0] == result.webhooks[1]
