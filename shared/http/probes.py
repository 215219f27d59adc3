"""``/healthz``, ``/readyz`` and ``/metrics``: what operators and orchestrators ask."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from shared.metrics import render

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]
ReadinessReasons = Callable[[], dict[str, str]]


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, bool]
    reasons: dict[str, str] | None = None  # when not ready: why, per failing check


def probe_router(
    registry: CollectorRegistry,
    readiness: ReadinessCheck,
    reasons: ReadinessReasons = dict,
) -> APIRouter:
    """``/healthz`` (alive), ``/readyz`` (dependencies and partitions), ``/metrics``.

    ``/readyz`` says why it is not ready: ``reasons`` maps a check to a sentence
    (the consumer's last failure, a stall), and a failing check without one is
    named as such.
    """
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "not ready; checks say why"}},
    )
    async def readyz() -> JSONResponse:
        checks = await readiness()
        why = reasons()
        checks |= dict.fromkeys(why, False)
        ready = all(checks.values())
        body: dict[str, object] = {"ready": ready, "checks": checks}
        if not ready:
            failing = {name: "check failed" for name, ok in checks.items() if not ok}
            body["reasons"] = failing | why
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics() -> Response:
        body, content_type = render(registry)
        return Response(body, media_type=content_type)

    return router
