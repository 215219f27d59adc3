"""The service skeleton with fake parts: loops started and finished, state, probes, auth."""

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import httpx
from fastapi import APIRouter, FastAPI, Request
from pydantic import SecretStr

from shared.http.deps import get_runtime
from shared.metrics import new_registry
from shared.service.skeleton import Parts, ServiceSpec, create_service_app
from shared.settings.common import CommonSettings

TOKEN = "unit-test-token-0123456789abcdef0123456789"


@dataclass
class Runtime:
    closed: list[str] = field(default_factory=list)


class PoliteLoop:
    """Returns when stopped, as a consumer loop finishing its batch does."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.finished = False

    async def run(self, stop: asyncio.Event) -> None:
        self.started.set()
        await stop.wait()
        self.finished = True


class StubbornLoop:
    """Ignores ``stop``: the skeleton must cancel it after the shutdown timeout."""

    def __init__(self) -> None:
        self.cancelled = False

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


def make_app(loops: dict[str, PoliteLoop | StubbornLoop], runtime: Runtime) -> FastAPI:
    router = APIRouter(prefix="/v1")

    @router.get("/closed")
    async def closed(request: Request) -> list[str]:
        return list(get_runtime(request).closed)

    async def build(stack: AsyncExitStack) -> Parts[Runtime]:
        stack.callback(runtime.closed.append, "resource")

        async def readiness() -> dict[str, bool]:
            return {"fake": True}

        return Parts(runtime, readiness, loops)

    settings = CommonSettings(api_token=SecretStr(TOKEN), shutdown_timeout_s=2.5)
    spec = ServiceSpec("unit", settings, new_registry("unit"), build, [router])
    return create_service_app(spec)


async def test_loops_run_until_shutdown_then_resources_close() -> None:
    polite, stubborn, runtime = PoliteLoop(), StubbornLoop(), Runtime()
    app = make_app({"polite": polite, "stubborn": stubborn}, runtime)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")
    async with client:
        assert (await client.get("/readyz")).json() == {
            "ready": False,
            "checks": {"started": False},
            "reasons": {"started": "check failed"},  # /readyz says why it is not ready
        }
        async with app.router.lifespan_context(app):
            await asyncio.wait_for(polite.started.wait(), 5)
            ready = await client.get("/readyz")
            assert ready.status_code == 200 and ready.json()["checks"] == {"fake": True}
            assert app.state.runtime is runtime
            assert runtime.closed == []
        assert (await client.get("/readyz")).status_code == 503
    assert polite.finished
    assert stubborn.cancelled
    assert runtime.closed == ["resource"]


async def test_routes_need_the_token_and_probes_do_not() -> None:
    app = make_app({}, Runtime())
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://svc") as client,
    ):
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200
        assert (await client.get("/v1/closed")).status_code == 401
        authorized = {"Authorization": f"Bearer {TOKEN}"}
        assert (await client.get("/v1/closed", headers=authorized)).json() == []
