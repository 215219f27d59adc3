"""HTTP pieces every service shares: bearer auth, probes, metrics, error mapping."""

from __future__ import annotations

import hmac
import os
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated, Any

import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from shared.errors import VigilError, http_status_for
from shared.logging import get_logger
from shared.metrics import render

log = get_logger(__name__)
# the watchdog fires this long before the bound, to leave time for the exit itself
WATCHDOG_MARGIN_S = 0.5

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]
ReadinessReasons = Callable[[], dict[str, str]]


def bearer_auth(expected: SecretStr) -> Callable[[str | None], None]:
    """A dependency that answers 401 unless ``Authorization: Bearer <token>`` matches."""
    wanted = expected.get_secret_value().encode()

    def check(authorization: Annotated[str | None, Header()] = None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), wanted):
            raise HTTPException(
                status_code=401,
                detail="missing or invalid bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return check


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

    @router.get("/readyz")
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

    @router.get("/metrics")
    async def metrics() -> Response:
        body, content_type = render(registry)
        return Response(body, media_type=content_type)

    return router


def protected(expected: SecretStr) -> list[Any]:
    """Router dependencies for everything under ``/v1``."""
    return [Depends(bearer_auth(expected))]


def install_error_handlers(app: FastAPI) -> None:
    """Map the one exception tree to HTTP in one place."""

    async def handle(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, VigilError)
        return JSONResponse({"detail": str(error)}, status_code=http_status_for(error))

    app.add_exception_handler(VigilError, handle)


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM after a graceful shutdown; we exit 0 instead.

    A watchdog armed by the signal ends the process at the shutdown bound: after
    the lifespan, asyncio.run still cancels and awaits leftover tasks, and a
    Kafka client's cleanup can wait for a broker that is gone (each
    ``stop_bounded`` again), which would break the bound the README promises.
    """

    shutdown_timeout_s: float = 10.0
    _watchdog: threading.Timer | None = None

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                self._captured_signals.clear()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._watchdog is None:
            delay = max(self.shutdown_timeout_s - WATCHDOG_MARGIN_S, 0.5)
            self._watchdog = threading.Timer(delay, self._exit_now)
            self._watchdog.daemon = True  # never keeps a finished process alive
            self._watchdog.start()

    def _exit_now(self) -> None:
        lifespan = getattr(self, "lifespan", None)
        finished = bool(
            lifespan is not None
            and lifespan.shutdown_event.is_set()
            and not lifespan.shutdown_failed
        )
        log.warning("shutdown bound reached; exiting now", lifespan_finished=finished)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0 if finished else 1)


def serve(app: FastAPI, host: str, port: int, shutdown_timeout_s: float = 10.0) -> None:
    """Run ``app`` until SIGTERM/SIGINT; the lifespan finishes the work in hand."""
    server = _Server(
        uvicorn.Config(app, host=host, port=port, log_config=None, timeout_graceful_shutdown=2)
    )
    server.shutdown_timeout_s = shutdown_timeout_s
    server.run()
