"""A receiver's answer is data it controls: a NUL byte in a failure body, a Retry-After that
is neither delta-seconds nor a usable HTTP date. Each attempt is still recorded, and the
delivery goes on to its retries and its failure, and the endpoint's failure clock runs, as
for any other
(real receivers on loopback, real broker and database)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from services.triggers.webhooks.config import WebhookSettings
from shared.kafka.clients import ensure_topics
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


def cases() -> dict[str, HostileReceiver]:
    return {
        "NUL in a 500 body": HostileReceiver(status=500, body=b"broken\x00body \xff\xfe"),
        "Retry-After date at -0000": HostileReceiver(
            status=429, answer_headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 -0000"}
        ),
        "Retry-After superscript two": HostileReceiver(
            status=503, answer_headers={"Retry-After": "\u00b2"}
        ),
    }


Deliveries = dict[str, list[dict[str, Any]]]
Done = Callable[[Deliveries, dict[str, dict[str, Any]]], bool]


async def hostile_round(
    infra,
    topic_names,
    database,
    hooks: WebhookSettings,
    receivers: dict[str, HostileReceiver],
    done: Done,
) -> tuple[Deliveries, dict[str, dict[str, Any]]]:
    """Subscribe each receiver, send one health change; the deliveries and subscriptions by
    case once ``done`` holds of them."""
    await ensure_topics(infra.kafka_bootstrap, topic_names.model_dump().values())
    settings = settings_for(infra, topic_names, database, webhooks=hooks)
    a, b, c = receivers.values()
    async with serving(a), serving(b), serving(c), running(settings) as client:
        subs = {name: (await subscribe(client, r.url))[0] for name, r in receivers.items()}
        await send(infra, topic_names.health_changes, [change("hostile", 0, 80, "green")])

        async def state() -> tuple[Deliveries, dict[str, dict[str, Any]]]:
            found = {}
            for name, sub_id in subs.items():
                got = await client.get(f"/v1/webhooks/subscriptions/{sub_id}/deliveries")
                assert got.status_code == 200, got.text
                found[name] = got.json()
            listed = {s["id"]: s for s in (await client.get("/v1/webhooks/subscriptions")).json()}
            return found, {name: listed[sub_id] for name, sub_id in subs.items()}

        async def reached() -> bool:
            return done(*await state())

        await wait_for(reached, timeout_s=45, what="the hostile deliveries' end")
        return await state()


def assert_recorded(found: Deliveries, receivers: dict[str, HostileReceiver], least: int) -> None:
    for name, rows in found.items():
        for d in rows:
            codes = [a["status_code"] for a in d["log"]]
            assert len(codes) >= least and set(codes) == {receivers[name].status}, (name, codes)
    bodies = [a["error"] for d in found["NUL in a 500 body"] for a in d["log"]]
    assert all(e.startswith("broken\ufffdbody") for e in bodies), bodies


async def test_hostile_answers_are_recorded_and_the_deliveries_retry_then_fail(
    infra, topic_names, database
) -> None:
    def all_failed(found: Deliveries, _subs: dict[str, dict[str, Any]]) -> bool:
        return all(rows and all(d["status"] == "failed" for d in rows) for rows in found.values())

    receivers = cases()
    found, subs = await hostile_round(infra, topic_names, database, HOOKS, receivers, all_failed)
    assert_recorded(found, receivers, least=3)
    assert all(len(d["log"]) == 3 for rows in found.values() for d in rows)
    assert all(s["failing_since"] is not None for s in subs.values())


async def test_an_endpoint_answering_only_hostile_failures_is_disabled(
    infra, topic_names, database
) -> None:
    def all_disabled(_found: Deliveries, subs: dict[str, dict[str, Any]]) -> bool:
        return all(s["disabled_at"] is not None for s in subs.values())

    # failing for longer than 0.3 s disables: after the second or third round, never the first
    hooks = HOOKS.model_copy(update={"schedule_s": (0, 0.2, 0.2, 0.2, 0.2), "disable_after_s": 0.3})
    receivers = cases()
    found, subs = await hostile_round(infra, topic_names, database, hooks, receivers, all_disabled)
    assert_recorded(found, receivers, least=2)
    assert all("failing continuously" in (s["disabled_reason"] or "") for s in subs.values())
