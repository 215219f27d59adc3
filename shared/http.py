"""HTTP pieces every service shares: bearer auth, probes, metrics, error mapping, hardening.

Every error a service answers has one shape, :class:`ErrorBody`, whatever raised
it (a :class:`~shared.errors.VigilError`, request validation, an unknown route,
a body over its cap); the OpenAPI document declares exactly that.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import FrameType
from typing import Annotated, Any, Literal

import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, BeforeValidator, SecretStr
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.body_limit import BodyLimit
from shared.clock import Now, utc_now
from shared.db import is_transient_db_error
from shared.errors import (
    DatabaseUnavailable,
    InvalidInput,
    Unauthorized,
    VigilError,
    http_status_for,
)
from shared.logging import get_logger
from shared.metrics import render
from shared.openapi import ErrorBody, ErrorItem, document_errors
from shared.schema_rules import Window, WindowAt, state_windows
from shared.settings import CommonSettings

log = get_logger(__name__)
# the watchdog fires this long before the bound, to leave time for the exit itself
WATCHDOG_MARGIN_S = 0.5

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]
ReadinessReasons = Callable[[], dict[str, str]]
# read: GET routes; write: posting events and acting on playbook episodes; admin:
# everything (config, clock, webhooks).
# ``auto`` picks read for GET/HEAD and admin for any other method.
Access = Literal["read", "write", "admin", "auto"]
SAFE_METHODS = frozenset({"GET", "HEAD"})


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, bool]
    reasons: dict[str, str] | None = None  # when not ready: why, per failing check


def _tokens_for(
    settings: CommonSettings, access: Literal["read", "write", "admin"]
) -> list[tuple[bytes, str]]:
    """(token, who) pairs that open ``access``; who names the role and a token fingerprint."""
    tokens: list[tuple[str, SecretStr | None]] = [("admin", settings.api_token)]
    if access == "read":
        tokens.append(("read", settings.read_token))
    if access == "write":
        tokens.append(("write", settings.write_token))
    return [(t.get_secret_value().encode(), _who(role, t)) for role, t in tokens if t is not None]


def _who(role: str, token: SecretStr) -> str:
    digest = hashlib.sha256(token.get_secret_value().encode()).hexdigest()[:12]
    return f"{role} token sha256:{digest}"


def actor(request: Request) -> str:
    """Who made this request (recorded with config changes): the role and token fingerprint."""
    return str(getattr(request.state, "actor", "unknown"))


def bearer_auth(settings: CommonSettings, access: Access = "auto") -> Callable[[Request], None]:
    """A dependency that raises 401 unless ``Authorization: Bearer <token>`` opens the route."""
    by_access = {level: _tokens_for(settings, level) for level in ("read", "write", "admin")}

    def check(request: Request) -> None:
        level = access
        if level == "auto":
            level = "read" if request.method in SAFE_METHODS else "admin"
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        given = token.strip().encode()
        # every candidate compared in constant time, none skipped: timing says nothing
        matches = [(hmac.compare_digest(given, t), who) for t, who in by_access[level]]
        matched = [who for ok, who in matches if ok]
        if scheme.lower() != "bearer" or not matched:
            raise Unauthorized("missing or invalid bearer token")
        request.state.actor = matched[0]

    return check


def no_nul_characters(request: Request) -> None:
    """PostgreSQL text cannot hold NUL: refuse it in the path or query with 422, not a 500."""
    if "\x00" in request.url.path or "%00" in str(request.url.query):
        raise InvalidInput("NUL characters are not allowed in the path or query")


def protected(settings: CommonSettings, access: Access = "auto") -> list[Any]:
    """Router dependencies for everything under ``/v1``: auth first, then input hygiene."""
    return [Depends(bearer_auth(settings, access)), Depends(no_nul_characters)]


def require_near_now(
    name: str,
    value: datetime,
    max_skew_s: float,
    any_time: bool,
    now: Now = utc_now,
) -> None:
    """A clock endpoint's time: with an offset, and within ``max_skew_s`` of ``now`` (the
    service's clock, the wall clock unless a test injects one).

    ``any_time`` (``VIGIL_CLOCK_ANY_TIME``, for tests and replays) lifts the window.
    """
    if value.tzinfo is None:
        raise InvalidInput(f"{name} must include a UTC offset")
    try:
        skew = abs((value - now()).total_seconds())
    except OverflowError:
        skew = float("inf")
    if not any_time and skew > max_skew_s:
        raise InvalidInput(
            f"{name} is {skew:.0f} s from the wall clock, over the {max_skew_s:.0f} s allowed"
            " (set VIGIL_CLOCK_ANY_TIME=true to allow any time, for tests and replays)"
        )


def near_now(path: str, parameter: str, settings: CommonSettings) -> list[WindowAt]:
    """The window :func:`require_near_now` enforces on a clock endpoint's time, for the
    OpenAPI document (none when ``VIGIL_CLOCK_ANY_TIME`` lifts it)."""
    skew = getattr(settings, "clock_max_skew_s", None)
    if skew is None or getattr(settings, "clock_any_time", False):
        return []
    return [WindowAt(Window(-skew, skew), path=path, parameter=parameter)]


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


def _error(status: int, detail: str, **extra: Any) -> JSONResponse:
    body = ErrorBody(detail=detail, **extra).model_dump(mode="json", exclude_none=True)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map the one exception tree (and FastAPI's own errors) to :class:`ErrorBody`."""

    async def vigil(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, VigilError)
        return _error(http_status_for(error), str(error))

    async def invalid(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        items = [
            ErrorItem(loc=list(e["loc"]), msg=str(e["msg"]), type=str(e["type"]))
            for e in error.errors()
        ]
        summary = "; ".join(f"{'.'.join(map(str, i.loc))}: {i.msg}" for i in items)
        return _error(422, f"invalid request: {summary}"[:2000], errors=items)

    async def starlette(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 400:  # FastAPI's "error parsing the body": a validation error
            return _error(422, f"invalid request body: {error.detail}")
        response = _error(error.status_code, str(error.detail))
        response.headers.update(error.headers or {})
        if error.status_code == 405:
            response.headers["Allow"] = ", ".join(_allowed_methods(request))
        return response

    async def database(_request: Request, error: Exception) -> JSONResponse:
        if not is_transient_db_error(error):
            raise error  # a bug: the server error it is
        return _error(503, str(DatabaseUnavailable("the database is unavailable; retry later")))

    app.add_exception_handler(VigilError, vigil)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, starlette)
    app.add_exception_handler(DBAPIError, database)


def _allowed_methods(request: Request) -> list[str]:
    """Every method of every route on this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def _iso_datetime(value: Any) -> Any:
    # lax pydantic reads "0.5" or "-1e-07" as seconds since 1970; a time here is RFC 3339
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
    if isinstance(value, str | int | float):
        raise ValueError("must be an RFC 3339 date-time, e.g. 2026-03-01T00:00:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]


def cursor_query(pattern: str, max_length: int) -> Any:
    """A list's ``cursor`` parameter: a position whose whole rule the pattern states."""
    return Query(
        pattern=pattern, max_length=max_length, description="`next_cursor` of the previous page"
    )


def harden(
    app: FastAPI,
    *,
    max_body_bytes: int,
    database: bool = False,
    windows: Sequence[WindowAt] = (),
) -> None:
    """What every service app gets: error mapping, the body cap, a truthful OpenAPI.

    ``database``: routes under ``/v1`` use PostgreSQL, so they may answer 503 in an outage.
    ``windows``: the time windows the settings give (an override's longest expiry).
    """
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.openapi = _truthful_openapi(app, database, windows)  # type: ignore[method-assign]


def _truthful_openapi(
    app: FastAPI, database: bool, windows: Sequence[WindowAt]
) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            state_windows(schema, windows)
            app.openapi_schema = document_errors(schema, database=database)
        return app.openapi_schema

    return build


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
