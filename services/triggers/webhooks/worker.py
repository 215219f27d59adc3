"""The delivery worker: lease due deliveries, POST them signed, log, reschedule.

A delivery is leased (``in_flight``) in one short transaction, sent without
holding a transaction, and its result recorded in another; a crash mid-send
lets the lease expire and the same ``webhook-id`` is sent again.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.triggers.webhooks import repository as repo
from services.triggers.webhooks.config import WebhookSettings
from services.triggers.webhooks.metrics import WebhookMetrics
from services.triggers.webhooks.schedule import due_at, next_attempt_delay, retry_after_seconds
from services.triggers.webhooks.service import secrets_in_use
from services.triggers.webhooks.signing import headers
from shared.clock import Now
from shared.db import transaction
from shared.logging import get_logger
from shared.retry import Backoff, wait_any, wait_or_stop

log = get_logger(__name__)


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    error: str | None
    latency_s: float
    retry_after: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class DeliveryWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: httpx.AsyncClient,
        settings: WebhookSettings,
        metrics: WebhookMetrics,
        *,
        now: Now,
        on_disabled: Callable[[str, str], None] = lambda _sub, _reason: None,
        rng: random.Random | None = None,
    ) -> None:
        self._sessions = sessions
        self._client = client
        self._settings = settings
        self._metrics = metrics
        self._now = now
        self._on_disabled = on_disabled
        self._rng = rng or random.Random()
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._wake = asyncio.Event()

    def wake(self, _count: int = 0) -> None:
        """New deliveries were committed: look for due ones now, not at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        backoff = Backoff()
        while not stop.is_set():
            try:
                self._wake.clear()
                sent = await self.deliver_due()
                backoff.reset()
                if sent == 0:
                    await wait_any(self._wake, stop, self._settings.poll_interval_s)
            except Exception as error:  # noqa: BLE001 - database outages are retried
                delay = backoff.next_delay()
                log.warning("webhook worker failed; retrying", error=repr(error), delay_s=delay)
                await wait_or_stop(stop, delay)

    async def deliver_due(self) -> int:
        """One round: lease what is due, send it all concurrently, record the results."""
        now = self._now()
        s = self._settings
        lease = now + timedelta(seconds=s.request_timeout_s + s.lease_margin_s)
        async with transaction(self._sessions) as session:
            due = await repo.claim_due(session, now, lease, self._settings.batch_size)
        if due:
            results = await asyncio.gather(*(self._send(row) for row in due))
            await self._record(list(zip(due, results, strict=True)))
        return len(due)

    async def _send(self, row: Any) -> AttemptResult:
        limit = self._limits.setdefault(
            row.subscription_id, asyncio.Semaphore(self._settings.per_endpoint_concurrency)
        )
        async with limit:
            return await self._post(row)

    async def _post(self, row: Any) -> AttemptResult:
        at = self._now()
        signed = headers(secrets_in_use(row, at), row.id, at, row.body)
        started = time.perf_counter()
        try:
            response = await self._client.post(
                row.url,
                content=row.body.encode(),
                headers=signed,
                timeout=self._settings.request_timeout_s,
            )
        except httpx.HTTPError as error:
            return AttemptResult(None, f"{type(error).__name__}: {error}"[:500], _since(started))
        return AttemptResult(
            response.status_code,
            None if response.is_success else response.text[:200],
            _since(started),
            response.headers.get("retry-after"),
        )

    async def _record(self, outcomes: list[tuple[Any, AttemptResult]]) -> None:
        """A round's results in one transaction: fewer commits, the same crash semantics."""
        now = self._now()
        attempts, finished, disabled, counted = [], [], [], []
        for row, result in outcomes:
            status, next_at, outcome = self._next_step(row, result, now)
            attempts.append(_attempt_values(row, result, now))
            finished.append(_finish_values(row, result, status, next_at, now))
            counted.append((outcome, result))
        async with transaction(self._sessions) as session:
            await repo.record_attempts(session, attempts)
            await repo.finish_deliveries(session, finished)
            for sub_id, results in _by_subscription(outcomes).items():
                reason = await self._endpoint_health(session, sub_id, results, now)
                if reason is not None:
                    disabled.append((sub_id, reason))
        # counted once recorded: a round whose transaction fails is retried and counted then
        for outcome, result in counted:
            self._metrics.deliveries.labels(outcome, _status_class(result.status_code)).inc()
            self._metrics.latency.observe(result.latency_s)
        for sub_id, reason in disabled:
            log.warning("webhook endpoint disabled", subscription_id=sub_id, reason=reason)
            self._on_disabled(sub_id, reason)

    def _next_step(
        self, row: Any, result: AttemptResult, now: datetime
    ) -> tuple[str, datetime, str]:
        if result.ok:
            return "delivered", now, "success"
        if result.status_code == 410:
            return "failed", now, "failed"
        s = self._settings
        delay = next_attempt_delay(row.attempts, s.schedule_s, s.jitter_ratio, self._rng)
        if result.status_code in (429, 503):
            honoured = retry_after_seconds(result.retry_after, now, s.max_retry_after_s)
            delay = honoured if honoured is not None and delay is not None else delay
        if delay is None:
            return "failed", now, "failed"
        return "pending", due_at(now, delay), "retry"

    async def _endpoint_health(
        self, session: AsyncSession, sub_id: str, results: list[AttemptResult], now: datetime
    ) -> str | None:
        if any(r.status_code == 410 for r in results):
            reason = "endpoint answered 410 Gone"
            await repo.disable(session, sub_id, reason, now)
            return reason
        return await repo.mark_endpoint(
            session,
            sub_id,
            ok=any(r.ok for r in results),  # one success: not failing continuously
            now=now,
            disable_after_s=self._settings.disable_after_s,
        )


def _by_subscription(outcomes: list[tuple[Any, AttemptResult]]) -> dict[str, list[AttemptResult]]:
    grouped: dict[str, list[AttemptResult]] = {}
    for row, result in outcomes:
        grouped.setdefault(row.subscription_id, []).append(result)
    return grouped


def _attempt_values(row: Any, result: AttemptResult, now: datetime) -> dict[str, Any]:
    return {
        "account_id": row.account_id,
        "delivery_id": row.id,
        "attempt": row.total_attempts,
        "at": now,
        "status_code": result.status_code,
        "latency_ms": result.latency_s * 1000,
        "error": result.error,
    }


def _finish_values(
    row: Any, result: AttemptResult, status: str, next_at: datetime, now: datetime
) -> dict[str, Any]:
    return {
        "account_id": row.account_id,
        "delivery_id": row.id,
        "status": status,
        "next_at": next_at,
        "status_code": result.status_code,
        "error": result.error,
        "at": now,
    }


def _since(started: float) -> float:
    return time.perf_counter() - started


def _status_class(code: int | None) -> str:
    return "error" if code is None else f"{code // 100}xx"
