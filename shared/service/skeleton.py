"""The skeleton every service shares; a service's ``app.py`` only builds its parts.

``create_service_app`` returns the FastAPI app: probes and ``/metrics``
(:func:`shared.http.probes.probe_router`), the service's routers behind bearer auth
(:func:`shared.http.auth.protected`, each with its token access), the error handlers,
body cap and OpenAPI (:func:`shared.http.server.harden`), and a lifespan that

1. builds the service's :class:`Parts` (what it opens goes on an ``AsyncExitStack``),
2. stores the typed runtime on ``app.state.runtime`` (read by :mod:`shared.http.deps`),
3. starts every loop (``run(stop)``) as a task,
4. on shutdown sets ``stop``, lets the loops finish their batch within
   ``shutdown_timeout_s`` (cancelling what overruns), then closes the stack.

``run_service`` configures logging and serves the app until SIGTERM.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry

from shared.http.auth import Access, protected
from shared.http.probes import ReadinessCheck, ReadinessReasons, probe_router
from shared.http.server import harden, serve
from shared.kafka.topics import prepare_topics
from shared.logging import configure_logging, get_logger
from shared.retry import finish_tasks
from shared.schema_rules import WindowAt
from shared.service.gc_tuning import tune_for_batches
from shared.settings.common import CommonSettings

log = get_logger(__name__)

RuntimeT = TypeVar("RuntimeT")
SettingsT = TypeVar("SettingsT", bound=CommonSettings)
# Time left after the loops for closing clients (and exiting) within the shutdown timeout.
CLOSE_MARGIN_S = 3.0


class Loop(Protocol):
    """A long-running part of a service: it returns soon after ``stop`` is set."""

    async def run(self, stop: asyncio.Event) -> None: ...


@dataclass(frozen=True)
class Parts(Generic[RuntimeT]):
    """What a service built at start: its runtime (routes read it), its loops by name,
    and what ``/readyz`` checks."""

    runtime: RuntimeT
    readiness: ReadinessCheck
    loops: Mapping[str, Loop] = field(default_factory=dict)
    # why ``/readyz`` is not ready, beyond the failed checks (a stall, the last failure)
    reasons: ReadinessReasons = dict


Build = Callable[[AsyncExitStack], Awaitable[Parts[RuntimeT]]]


# A router, or a router and the token access it needs (``auto``: read for GET, else admin).
Routed = APIRouter | tuple[APIRouter, Access]


@dataclass(frozen=True)
class ServiceSpec(Generic[RuntimeT]):
    name: str
    settings: CommonSettings
    registry: CollectorRegistry
    build: Build[RuntimeT]
    routers: Sequence[Routed]
    run_loops: bool = True  # False in tests that drive the service through its API only
    database: bool = False  # /v1 routes use PostgreSQL: they may answer 503 in an outage
    # time windows the settings give, stated in the OpenAPI document
    windows: Sequence[WindowAt] = ()


def create_service_app(spec: ServiceSpec[RuntimeT]) -> FastAPI:
    started: dict[str, Parts[RuntimeT]] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            parts = await spec.build(stack)
            app.state.runtime = parts.runtime
            started["parts"] = parts
            stop = asyncio.Event()
            tasks = _start(parts.loops, stop) if spec.run_loops else []
            log.info(f"{spec.name} started", loops=sorted(parts.loops))
            try:
                yield
            finally:
                stop.set()
                await finish_tasks(tasks, spec.settings.shutdown_timeout_s - CLOSE_MARGIN_S)
                started.clear()
                log.info(f"{spec.name} stopped")

    async def readiness() -> dict[str, bool]:
        parts = started.get("parts")
        return {"started": False} if parts is None else await parts.readiness()

    def reasons() -> dict[str, str]:
        parts = started.get("parts")
        return {} if parts is None else parts.reasons()

    app = FastAPI(title=f"Vigil {spec.name}", version="1", lifespan=lifespan)
    app.include_router(probe_router(spec.registry, readiness, reasons))
    for entry in spec.routers:
        router, access = entry if isinstance(entry, tuple) else (entry, "auto")
        app.include_router(router, dependencies=protected(spec.settings, access))
    harden(
        app,
        max_body_bytes=spec.settings.http_max_body_bytes,
        database=spec.database,
        windows=spec.windows,
    )
    return app


def _start(loops: Mapping[str, Loop], stop: asyncio.Event) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(loop.run(stop), name=name) for name, loop in loops.items()]


async def create_topics(
    settings: CommonSettings, *topics: str, registry: CollectorRegistry | None = None
) -> None:
    """The topics a service reads and writes, created if missing, before anything starts,
    with the configured partitions, replication and min.insync.replicas; an existing
    topic that differs is logged and set in ``registry``'s mismatch gauge."""
    await prepare_topics(settings.kafka, topics, settings.topic_spec, registry)


def run_service(name: str, settings: SettingsT, create_app: Callable[[SettingsT], FastAPI]) -> None:
    """The ``vigil <name>`` entry point: logging (tokens and keys redacted), then serve."""
    configure_logging(
        name, level=settings.log_level, json=settings.log_json, secrets=settings.secrets()
    )
    app = create_app(settings)
    tune_for_batches()
    serve(app, settings.http_host, settings.http_port, settings.shutdown_timeout_s)
