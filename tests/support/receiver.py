"""A webhook receiver on loopback that verifies every delivery with `standardwebhooks`.

Used by the demo and by the tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
import uvicorn
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.stack.process import free_port


@dataclass
class Received:
    webhook_id: str
    event_type: str
    account_id: str
    event_id: str
    at: datetime
    verified: bool
    as_of: datetime | None = None


@dataclass
class Receiver:
    """Answers 500 to the first ``fail_first`` requests, then 200 (after ``delay_s``)."""

    fail_first: int = 0
    delay_s: float = 0.0
    secrets: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    requests: int = 0
    accepted: list[Received] = field(default_factory=list)
    rejected: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, request: Request) -> Response:
        body = (await request.body()).decode()
        verified = any(self._verifies(secret, body, request) for secret in self.secrets)
        data = orjson.loads(body)
        item = Received(
            request.headers["webhook-id"],
            data["type"],
            data["data"]["account_id"],
            data["data"]["event_id"],
            datetime.now(UTC),
            verified,
            _as_of(data["data"]),
        )
        self.requests += 1
        if self.requests <= self.fail_first:
            self.rejected.append(item)
            return Response("try again", status_code=500)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)  # a slow endpoint, on purpose
        self.accepted.append(item)
        return Response(status_code=204)

    @staticmethod
    def _verifies(secret: str, body: str, request: Request) -> bool:
        try:
            Webhook(secret).verify(body, dict(request.headers))
            return True
        except Exception:  # noqa: BLE001 - any failure means not verified
            return False


class _InTestServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the test process keeps its own signal handling


@contextlib.asynccontextmanager
async def serving(receiver: Receiver) -> AsyncIterator[Receiver]:
    app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
    server = _InTestServer(
        uvicorn.Config(app, host="127.0.0.1", port=receiver.port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn only exposes a flag
        await asyncio.sleep(0.02)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task


def _as_of(data: dict[str, object]) -> datetime | None:
    value = data.get("as_of")
    return datetime.fromisoformat(value) if isinstance(value, str) else None
