"""HTTP pieces every service shares: bearer auth, body caps, probes, metrics, errors, OpenAPI.

Every error a service answers has one shape, :class:`ErrorBody`, whatever raised
it (a :class:`~shared.errors.VigilError`, request validation, an unknown route,
a body over its cap); the OpenAPI document declares exactly that.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, BeforeValidator, SecretStr
from pydantic.json_schema import models_json_schema
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.db import is_transient_db_error
from shared.errors import (
    DatabaseUnavailable,
    InvalidInput,
    Unauthorized,
    VigilError,
    http_status_for,
)
from shared.metrics import render
from shared.settings import CommonSettings

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]
# read: GET routes; write: posting events; admin: everything (config, clock, webhooks).
# ``auto`` picks read for GET/HEAD and admin for any other method.
Access = Literal["read", "write", "admin", "auto"]
SAFE_METHODS = frozenset({"GET", "HEAD"})
ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


class ErrorItem(BaseModel):
    """One field that failed request validation."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """The one error shape of every Vigil API: a message, and per field when validation failed."""

    detail: str
    errors: list[ErrorItem] | None = None


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, bool]


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the error statuses it answers, each with :class:`ErrorBody`."""
    return {status: {"model": ErrorBody, "description": _REASONS[status]} for status in statuses}


_REASONS = {
    401: "missing or invalid bearer token",
    404: "no such resource",
    409: "conflicts with the stored state",
    413: "request body over its cap",
    422: "the request failed validation",
    503: "a dependency is unavailable; retry later",
}


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
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """A clock endpoint's time: with an offset, and within ``max_skew_s`` of the wall clock.

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


def probe_router(registry: CollectorRegistry, readiness: ReadinessCheck) -> APIRouter:
    """``/healthz`` (alive), ``/readyz`` (dependencies and partitions), ``/metrics``."""
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
        ready = all(checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @router.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics() -> Response:
        body, content_type = render(registry)
        return Response(body, media_type=content_type)

    return router


class BodyLimit:
    """Refuse a request body over ``max_bytes`` with 413 before any route, auth included, runs.

    A declared ``Content-Length`` over the cap is refused unread; a streamed body
    is read only up to the cap.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(scope, send)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = ErrorBody(detail=f"request body over {self.max_bytes} bytes")
        response = JSONResponse(body.model_dump(exclude_none=True), status_code=413)
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


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


def harden(app: FastAPI, *, max_body_bytes: int, database: bool = False) -> None:
    """What every service app gets: error mapping, the body cap, a truthful OpenAPI.

    ``database``: routes under ``/v1`` use PostgreSQL, so they may answer 503 in an outage.
    """
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.openapi = _truthful_openapi(app, database)  # type: ignore[method-assign]


def _truthful_openapi(app: FastAPI, database: bool) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            app.openapi_schema = document_errors(schema, database=database)
        return app.openapi_schema

    return build


def document_errors(schema: dict[str, Any], *, database: bool = False) -> dict[str, Any]:
    """Declare the bearer scheme, 401 under ``/v1``, 413 everywhere, one error body."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    _, defs = models_json_schema(
        [(ErrorBody, "serialization")], ref_template="#/components/schemas/{model}"
    )
    schemas.update(defs["$defs"])
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            if path.startswith("/v1/"):
                operation["security"] = [{"bearer": []}]
                responses["401"] = _error_response(401)
                if database:
                    responses["503"] = _error_response(503)
            responses["413"] = _error_response(413)
            for code in list(responses):
                if code.startswith("4") or (code == "503" and path.startswith("/v1/")):
                    responses[code] = _error_response(int(code), responses[code])
    return schema


def _error_response(status: int, declared: dict[str, Any] | None = None) -> dict[str, Any]:
    description = (declared or {}).get("description") or _REASONS.get(status, "error")
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM after a graceful shutdown; we exit 0 instead."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                self._captured_signals.clear()


def serve(app: FastAPI, host: str, port: int) -> None:
    """Run ``app`` until SIGTERM/SIGINT; the lifespan finishes the work in hand."""
    _Server(
        uvicorn.Config(app, host=host, port=port, log_config=None, timeout_graceful_shutdown=2)
    ).run()
