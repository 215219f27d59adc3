"""A receiver's answer is data it controls: a NUL byte in a failure body, a Retry-After that
is neither delta-seconds nor a usable HTTP date. Each attempt is still recorded, and the
delivery goes on to its retries and its failure, and the endpoint's failure clock runs, as
for any other
(real receivers on loopback, real broker and database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from shared.kafka import ensure_topics
from tests.integration.kafka_io import wait_for
from tests.integration.test_triggers import change, running, send, settings_for
from tests.integration.test_webhooks import FAST, subscribe
from tests.support.receiver import Receiver, serving

HOOKS = FAST.model_copy(
    update={
        "schedule_s": (0, 0.2, 0.2),  # three attempts, then the delivery fails
        "max_retry_after_s": 0.2,  # the receivers ask for more: the cap keeps the test short
    }
)


@dataclass
class HostileReceiver(Receiver):
    """Answers every request with the same scripted status, body and headers."""

    status: int = 500
    body: bytes = b""
    answer_headers: dict[str, str] = field(default_factory=dict)

    async def handle(self, request: Request) -> Response:
        self.requests += 1
        return Response(self.body, status_code=self.status, headers=self.answer_headers)


CASES = {
    "NUL in a 500 body": HostileReceiver(status=500, body=b"broken\x00body \xff\xfe"),
    "Retry-After date at -0000": HostileReceiver(
        status=429, answer_headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 -0000"}
    ),
    "Retry-After superscript two": HostileReceiver(
        status=503, answer_headers={"Retry-After": "\u00b2"}
    ),
}


async def test_hostile_answers_are_recorded_and_the_deliveries_retry_then_fail(
    infra, topic_names, database
) -> None:
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    settings = settings_for(infra, topic_names, database, webhooks=HOOKS)
    a, b, c = CASES.values()
    async with serving(a), serving(b), serving(c), running(settings) as client:
        subs = {name: (await subscribe(client, r.url))[0] for name, r in CASES.items()}
        await send(infra, topic_names.health_changes, [change("hostile", 0, 80, "green")])

        async def deliveries(sub_id: str) -> list[dict[str, Any]]:
            got = await client.get(f"/v1/webhooks/subscriptions/{sub_id}/deliveries")
            assert got.status_code == 200, got.text
            rows: list[dict[str, Any]] = got.json()
            return rows

        async def all_failed() -> bool:
            for sub_id in subs.values():
                rows = await deliveries(sub_id)
                if not rows or any(d["status"] != "failed" for d in rows):
                    return False
            return True

        await wait_for(all_failed, timeout_s=45, what="every hostile delivery failed")
        found = {name: await deliveries(sub_id) for name, sub_id in subs.items()}
        listed = await _subscriptions(client)
    for name, rows in found.items():
        receiver = CASES[name]
        for d in rows:
            codes = [a["status_code"] for a in d["log"]]
            assert codes == [receiver.status] * 3, (name, codes)
        assert listed[subs[name]]["failing_since"] is not None, name
    bodies = [a["error"] for d in found["NUL in a 500 body"] for a in d["log"]]
    assert all(e.startswith("broken\ufffdbody") for e in bodies), bodies


async def _subscriptions(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    got = await client.get("/v1/webhooks/subscriptions")
    return {s["id"]: s for s in got.json()}
