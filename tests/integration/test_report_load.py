"""Read-token requests cannot starve the consumers: while many accuracy reports are in
flight (held inside their computation by the test), the consumer applies a batch; the reports
then answer, computed one at a time; horizons are bounded (real broker and database)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import pytest

from services.scoring.trust import service as trust
from services.scoring.trust.api import MAX_HORIZONS
from tests.integration.kafka_io import wait_for
from tests.integration.pipeline import produce_signals
from tests.integration.test_poison_keys import canary
from tests.integration.test_scoring import settings_for
from tests.integration.test_shadow_isolation import scored
from tests.integration.test_trust import scoring_api

pytestmark = pytest.mark.asyncio(loop_scope="session")
REQUESTS = 15
CANARIES = 8


class Gate:
    """Holds every report computation until released; counts how many ran at once."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.inside = 0
        self.most_inside = 0

    def wrap(self, build: Any) -> Any:
        def held(*args: Any) -> Any:
            with self._lock:
                self.inside += 1
                self.most_inside = max(self.most_inside, self.inside)
            self.entered.set()
            try:
                self.release.wait(120)
                return build(*args)
            finally:
                with self._lock:
                    self.inside -= 1

        return held


async def test_the_consumer_applies_a_batch_while_reports_are_in_flight(
    infra, topic_names, database, monkeypatch
) -> None:
    gate = Gate()
    monkeypatch.setattr(trust, "build_report", gate.wrap(trust.build_report))  # type: ignore[attr-defined]
    settings = settings_for(infra, topic_names, database, f"reports-{uuid.uuid4().hex[:6]}")
    async with scoring_api(settings) as api:
        requests = [
            asyncio.ensure_future(
                api.get("/v1/model/accuracy", params={"horizon": [i + 1, i + 2, i + 3]})
            )
            for i in range(REQUESTS)
        ]
        try:
            # the synchronization point: a report is inside its computation, held there
            assert await asyncio.to_thread(gate.entered.wait, 30), "no report started"
            await produce_signals(
                infra.kafka_bootstrap, settings.topics.signals, [canary(i) for i in range(CANARIES)]
            )

            async def applied() -> bool:
                return await scored(database) >= CANARIES

            await wait_for(applied, timeout_s=30, what="the consumer applied the canaries")
            assert not any(r.done() for r in requests), "the reports were held meanwhile"
        finally:
            gate.release.set()
        answers = await asyncio.gather(*requests)
        too_many = await api.get(
            "/v1/model/accuracy", params={"horizon": list(range(1, MAX_HORIZONS + 2))}
        )
    assert [a.status_code for a in answers] == [200] * REQUESTS
    assert gate.most_inside == 1, "reports are computed one at a time"
    assert too_many.status_code == 422
    assert f"at most {MAX_HORIZONS} items" in too_many.text
