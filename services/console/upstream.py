"""The console's only way to the pipeline: the services' public HTTP APIs.

Every call carries the signed-in person's token; an answer the page cannot use
becomes one of the exceptions below, which a page shows as a panel of its own
(a service down, a route not there yet, a request refused) instead of failing.

UpstreamError
 ├── ServiceDown     connection refused, timeout: the service does not answer
 └── Refused         it answered 4xx/5xx; ``status`` and ``detail`` say what
      └── NotAvailable  404: the route (or the object) is not there
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx


class UpstreamError(Exception):
    def __init__(self, service: str, detail: str, status: int | None = None) -> None:
        super().__init__(f"{service}: {detail}")
        self.service = service
        self.detail = detail
        self.status = status


class ServiceDown(UpstreamError):
    pass


class Refused(UpstreamError):
    pass


class NotAvailable(Refused):
    pass


# (first start, last end) of the calls to the services during the current request
_WAITED: ContextVar[list[float] | None] = ContextVar("console_upstream_waited", default=None)


def track_waiting() -> list[float]:
    """Start recording, for this request, when calls to the services began and ended."""
    span: list[float] = []
    _WAITED.set(span)
    return span


def _record(started: float) -> None:
    span = _WAITED.get()
    if span is not None:
        now = time.perf_counter()
        span[:] = [min(span[0], started), max(span[1], now)] if span else [started, now]


def segment(value: str) -> str:
    """One path segment: an account id may hold anything, ``/`` included."""
    return quote(value, safe="")


@dataclass(frozen=True)
class Probe:
    """A service's ``/readyz``: ready, its checks, and why not."""

    service: str
    answered: bool
    ready: bool
    checks: dict[str, bool]
    reasons: dict[str, str]


class Upstream:
    def __init__(self, client: httpx.AsyncClient, urls: dict[str, str]) -> None:
        self._client = client
        self.urls = urls

    async def request(
        self,
        service: str,
        method: str,
        path: str,
        token: str | None,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        started = time.perf_counter()
        try:
            response = await self._client.request(
                method, self.urls[service] + path, params=clean, json=json, headers=headers
            )
        except httpx.HTTPError as error:
            raise ServiceDown(service, f"not answering ({type(error).__name__})") from error
        finally:
            _record(started)
        if response.status_code >= 400:
            kind = NotAvailable if response.status_code == 404 else Refused
            raise kind(service, _detail(response), response.status_code)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def get(
        self, service: str, path: str, token: str, params: dict[str, Any] | None = None
    ) -> Any:
        return await self.request(service, "GET", path, token, params=params)

    async def post(self, service: str, path: str, token: str, body: Any = None) -> Any:
        return await self.request(service, "POST", path, token, json=body)

    async def status_of(self, service: str, method: str, path: str, token: str) -> int:
        """Only the status code of a call (the sign-in's role probe)."""
        try:
            response = await self._client.request(
                method, self.urls[service] + path, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as error:
            raise ServiceDown(service, f"not answering ({type(error).__name__})") from error
        return response.status_code

    async def metrics(self, service: str) -> str:
        started = time.perf_counter()
        try:
            response = await self._client.get(self.urls[service] + "/metrics")
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise ServiceDown(
                service, f"/metrics not answering ({type(error).__name__})"
            ) from error
        finally:
            _record(started)
        return response.text

    async def readiness(self, service: str) -> Probe:
        started = time.perf_counter()
        try:
            response = await self._client.get(self.urls[service] + "/readyz")
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            why = {"reachable": f"not answering ({type(error).__name__})"}
            return Probe(service, False, False, {"reachable": False}, why)
        finally:
            _record(started)
        return Probe(
            service,
            True,
            bool(body.get("ready")) and response.status_code == 200,
            dict(body.get("checks") or {}),
            dict(body.get("reasons") or {}),
        )


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    detail = body.get("detail") if isinstance(body, dict) else None
    return f"HTTP {response.status_code}: {detail}" if detail else f"HTTP {response.status_code}"


class TtlCache:
    """Values shared by every viewer, kept ``ttl_s``: what is costly to compute upstream."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._values: dict[str, tuple[float, Any]] = {}

    async def get(self, key: str, load: Callable[[], Awaitable[Any]]) -> Any:
        now = self._clock()
        hit = self._values.get(key)
        if hit is not None and now - hit[0] < self._ttl_s:
            return hit[1]
        value = await load()
        self._values[key] = (now, value)
        return value
