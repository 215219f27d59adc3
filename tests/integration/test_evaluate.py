"""`make evaluate` in small: a labelled population through the real pipeline, thresholds held.

36 accounts over 60 days (about 11,000 events, every cohort, renewals inside and
outside their window), in the live order, both backfills, the event-time replay, and
the replay with the custom scorecard applied only once the history is in (its
measure computed from the rollups kept, without a replay), each on topics and a
database of its own; the services run as processes. Every order also checks
point-in-time truth: each published health change equals the live scorecard on the
account's events up to its time, and the default scorecard scores every account's
stored state as the built-in model does. The live scorecard is a custom one (the default
plus API calls in 14 days and the playbook ``integration_broken`` on it, segments on
the subscriptions' ``region`` and ``integration_broken_apac`` on those), so the
accounts whose integration broke must get exactly that playbook (and its copy in
``apac``); one backfill runs with
the default scorecard stored as the live one instead (``make evaluate`` runs every order
with each). (The ``kill`` and ``replay-kill`` orders, about a minute more each, run in
``make evaluate``.)

Thresholds the pipeline is known to miss, with the diagnosed cause, are listed in
``KNOWN``: when only those fail the test is an expected failure (reported by
``pytest -ra``), any other failed threshold fails it. Delete an entry once its
cause is fixed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.settings.common import TopicNames
from tests.conftest import Infra
from tests.support.evaluation.custom import CUSTOM, DEFAULT, scorecard_named
from tests.support.evaluation.run import Run, Target, run_order
from tests.support.evaluation.truth import truth_of
from tests.support.workload import CUSTOM_PLAYBOOK, REGIONAL_PLAYBOOK, events, make_workload

ACCOUNTS, DAYS, SEED = 36, 60, 3
# playbook -> why its precision may fall short, diagnosed; its recall must still be 1.0
KNOWN: dict[str, str] = {}


def _excused(name: str, detail: str) -> bool:
    return name.split()[0] in KNOWN and " R 1.00" in f" {detail}"


@pytest.mark.parametrize(
    ("order", "scorecard"),
    [
        ("live", CUSTOM),
        ("backfill", CUSTOM),
        ("backfill-payment-last", CUSTOM),
        ("replay", CUSTOM),
        ("scorecard-later", CUSTOM),
        ("backfill", DEFAULT),
    ],
)
async def test_every_arrival_order_meets_the_thresholds(
    order: str,
    scorecard: str,
    infra: Infra,
    database: str,
    topic_names: TopicNames,
    tmp_path: Path,
) -> None:
    workload = make_workload(ACCOUNTS, DAYS, seed=SEED, end=datetime.now(UTC), integrations=True)
    truth = truth_of(workload)
    assert {"healthy", "churning", "expanding", "onboarding"} <= set(truth.cohort.values())
    assert any(truth.labels["renewal"].values()), "the population must have a renewal due"
    assert any(truth.labels[CUSTOM_PLAYBOOK].values()), "and an integration that broke"
    assert any(truth.labels[REGIONAL_PLAYBOOK].values()), "one of them in the region"
    items = list(events(workload, seed=SEED))
    run = Run(
        order,
        workload,
        truth,
        items,
        rate=1000,
        horizon=timedelta(hours=24),
        scorecard=scorecard_named(scorecard),
        scorecard_name=scorecard,
    )
    target = Target(infra.kafka_bootstrap, database, topic_names, tmp_path, uuid.uuid4().hex[:8])

    result = await run_order(run, target)

    assert sum(result.bands["healthy"].values()) == len(
        [a for a in workload.accounts if a.cohort == "healthy"]
    )
    assert result.webhooks[0] > 0 and result.webhooks[0] == result.webhooks[1]
    failed = [c for c in result.checks if not c.ok]
    unknown = [f"{c.name}: {c.detail}" for c in failed if not _excused(c.name, c.detail)]
    assert not unknown, "\n".join(unknown)
    if failed:
        known = sorted({c.name.split()[0] for c in failed})
        pytest.xfail("; ".join(f"{p}: {KNOWN[p]}" for p in known))
