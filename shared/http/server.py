"""The HTTP server every service runs: its hardening (error mapping, the body cap, a
truthful OpenAPI) and a shutdown within its bound."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI, Query
from fastapi.openapi.utils import get_openapi

from shared.http._body_limit import BodyLimit
from shared.http.error_handlers import install_error_handlers
from shared.http.openapi import document_errors
from shared.logging import get_logger
from shared.schema_rules import Window, WindowAt, state_windows
from shared.settings.common import CommonSettings

log = get_logger(__name__)
# the watchdog fires this long before the bound, to leave time for the exit itself
WATCHDOG_MARGIN_S = 0.5


def near_now(path: str, parameter: str, settings: CommonSettings) -> list[WindowAt]:
    """The window :func:`require_near_now` enforces on a clock endpoint's time, for the
    OpenAPI document (none when ``VIGIL_CLOCK_ANY_TIME`` lifts it)."""
    skew = getattr(settings, "clock_max_skew_s", None)
    if skew is None or getattr(settings, "clock_any_time", False):
        return []
    return [WindowAt(Window(-skew, skew), path=path, parameter=parameter)]


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
