"""The console: a fourth, small service that shows and acts on Vigil through the
other three services' HTTP APIs only.

It holds no database credentials and no API token (each person signs in with
theirs), so exposing it exposes nothing the APIs do not; it scales and fails
apart from the pipeline (a console down stops no event, a service down is a
panel saying so); and every page exercises the public API that integrators use.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from services.console import actions, auth, pages
from services.console.config import ConsoleSettings
from services.console.session import SessionCodec
from services.console.upstream import TtlCache, Upstream, track_waiting
from services.console.web import Console, Forbidden, SignInRequired, render, session_of, templates
from shared.http.server import serve
from shared.logging import configure_logging

STATIC = Path(__file__).parent / "static"
# no script at all, styles from this origin only, forms post here only, never framed
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def create_app(
    settings: ConsoleSettings, *, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """``transport``: how the console reaches the services (tests pass an ASGI one)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timeout = httpx.Timeout(settings.console_upstream_timeout_s)
        async with httpx.AsyncClient(timeout=timeout, transport=transport) as client:
            app.state.console = Console(
                settings,
                Upstream(client, settings.service_urls()),
                SessionCodec(
                    settings.console_session_key.get_secret_value(),
                    settings.console_session_max_age_s,
                ),
                templates(),
                TtlCache(settings.console_cache_s),
            )
            yield

    app = FastAPI(
        title="Vigil console", version="1", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (auth, pages, actions):
        app.include_router(module.router)
    _probes(app)
    _handlers(app)
    app.middleware("http")(_headers)
    return app


def _probes(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> dict[str, bool]:
        # ready as soon as it serves: a service it reads being down is a panel, not a failure
        return {"ready": True}


def _handlers(app: FastAPI) -> None:
    async def sign_in(_request: Request, _error: Exception) -> Response:
        return RedirectResponse("/login", status_code=303)

    async def forbidden(request: Request, error: Exception) -> HTMLResponse:
        return render(request, "refused.html", session_of(request), 403, error=str(error), back="")

    app.add_exception_handler(SignInRequired, sign_in)
    app.add_exception_handler(Forbidden, forbidden)


async def _headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """The security headers, and the page's server time (Server-Timing, read by the bench):
    in all, and from the first call to the services to the end of the last."""
    started = time.perf_counter()
    waited = track_waiting()
    response = await call_next(request)
    total = (time.perf_counter() - started) * 1000
    upstream = (waited[1] - waited[0]) * 1000 if waited else 0.0
    response.headers["Server-Timing"] = f"app;dur={total:.1f}, upstream;dur={upstream:.1f}"
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def run() -> None:
    settings = ConsoleSettings()
    configure_logging(
        "console",
        level=settings.log_level,
        json=settings.log_json,
        secrets=[settings.console_session_key.get_secret_value()],
    )
    serve(create_app(settings), settings.http_host, settings.http_port)
