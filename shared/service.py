"""The skeleton every service shares; a service's ``app.py`` only builds its parts.

``create_service_app`` returns the FastAPI app: probes and ``/metrics``
(:func:`shared.http.probe_router`), the service's routers behind bearer auth
(:func:`shared.http.protected`), the error handlers
(:func:`shared.http.install_error_handlers`), and a lifespan that

1. builds the service's :class:`Parts` (what it opens goes on an ``AsyncExitStack``),
2. stores the typed runtime on ``app.state.runtime`` (read by :mod:`shared.deps`),
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

from shared.http import ReadinessCheck, install_error_handlers, probe_router, protected, serve
from shared.kafka import ensure_topics
from shared.logging import configure_logging, get_logger
from shared.retry import finish_tasks
from shared.settings import CommonSettings

log = get_logger(__name__)

RuntimeT = TypeVar("RuntimeT")
SettingsT = TypeVar("SettingsT", bound=CommonSettings)
# Time left after the loops for closing clients within the shutdown timeout.
CLOSE_MARGIN_S = 2.0


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


Build = Callable[[AsyncExitStack], Awaitable[Parts[RuntimeT]]]


@dataclass(frozen=True)
class ServiceSpec(Generic[RuntimeT]):
    name: str
    settings: CommonSettings
    registry: CollectorRegistry
    build: Build[RuntimeT]
    routers: Sequence[APIRouter]
    run_loops: bool = True  # False in tests that drive the service through its API only


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

    app = FastAPI(title=f"Vigil {spec.name}", version="1", lifespan=lifespan)
    app.include_router(probe_router(spec.registry, readiness))
    for router in spec.routers:
        app.include_router(router, dependencies=protected(spec.settings.api_token))
    install_error_handlers(app)
    return app


def _start(loops: Mapping[str, Loop], stop: asyncio.Event) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(loop.run(stop), name=name) for name, loop in loops.items()]


async def create_topics(settings: CommonSettings, *topics: str) -> None:
    """The topics a service reads and writes, created if missing, before anything starts."""
    await ensure_topics(settings.kafka_bootstrap, topics, partitions=settings.topic_partitions)


def run_service(name: str, settings: SettingsT, create_app: Callable[[SettingsT], FastAPI]) -> None:
    """The ``vigil <name>`` entry point: logging (the API token redacted), then serve."""
    configure_logging(
        name,
        level=settings.log_level,
        json=settings.log_json,
        secrets=[settings.api_token.get_secret_value()],
    )
    serve(create_app(settings), settings.http_host, settings.http_port)
