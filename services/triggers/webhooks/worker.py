"""The delivery worker: lease due deliveries, POST them signed, log, reschedule.

A delivery is leased (``in_flight``) in one short transaction, sent without
holding a transaction, and its result recorded in another; a crash mid-send
lets the lease expire and the same ``webhook-id`` is sent again.

Subscriptions are independent: each one's leased deliveries (at most
``per_endpoint_concurrency``) are sent and recorded by a task of their own, and
the loop goes on leasing for the other subscriptions meanwhile, so a slow or
hanging receiver holds up only itself. Each attempt has one overall deadline
(connect, send, response) and reads at most ``max_response_bytes`` of the answer.
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
from services.triggers.webhooks.secrets import SecretBox
from services.triggers.webhooks.service import secrets_in_use
from services.triggers.webhooks.signing import headers
from shared.clock.periodic import Now
from shared.database.engine import transaction
from shared.logging import get_logger
from shared.retry import Backoff, wait_any, wait_or_stop
from shared.text import storable

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
        box: SecretBox,
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
        self._box = box
        self._busy: set[str] = set()  # subscriptions with deliveries in flight here
        self._tasks: set[asyncio.Task[None]] = set()
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
        # a short grace for answers in hand; what is cut off is resent when its lease expires
        await self.settle(1.0)
        for task in set(self._tasks):
            task.cancel()

    async def settle(self, timeout_s: float | None = None) -> None:
        """Wait for the deliveries in flight to be sent and recorded (tests, shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)

    async def deliver_due(self) -> int:
        """Lease what is due for the idle subscriptions; each one's batch runs on its own."""
        now = self._now()
        s = self._settings
        lease = now + timedelta(seconds=s.request_timeout_s + s.lease_margin_s)
        async with transaction(self._sessions) as session:
            due = await repo.claim_due(
                session,
                now,
                lease,
                s.batch_size,
                per_subscription=s.per_endpoint_concurrency,
                busy=sorted(self._busy),
            )
        for sub_id, rows in _group(due).items():
            self._busy.add(sub_id)
            task = asyncio.create_task(self._deliver(sub_id, rows), name=f"webhooks-{sub_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(due)

    async def _deliver(self, sub_id: str, rows: list[Any]) -> None:
        try:
            results = await asyncio.gather(*(self._post(row) for row in rows))
            await self._record(list(zip(rows, results, strict=True)))
        except Exception as error:  # noqa: BLE001 - the leases expire and the rows are resent
            log.warning("webhook results not recorded", subscription_id=sub_id, error=repr(error))
        finally:
            self._busy.discard(sub_id)
            self.wake()

    async def _post(self, row: Any) -> AttemptResult:
        at = self._now()
        started = time.perf_counter()
        try:
            signed = headers(secrets_in_use(row, at, self._box), row.id, at, row.body)
        except ValueError as error:  # a secret that does not decrypt: the key is wrong
            return AttemptResult(None, storable(f"signing failed: {error}", 500), _since(started))
        try:
            async with asyncio.timeout(self._settings.request_timeout_s):
                return await self._exchange(row, signed, started)
        except TimeoutError:
            limit = self._settings.request_timeout_s
            return AttemptResult(None, f"no complete answer within {limit} s", _since(started))
        except httpx.HTTPError as error:
            error_text = storable(f"{type(error).__name__}: {error}", 500)
            return AttemptResult(None, error_text, _since(started))

    async def _exchange(self, row: Any, signed: dict[str, str], started: float) -> AttemptResult:
        """POST and read at most ``max_response_bytes`` of the answer, then hang up."""
        request = self._client.build_request(
            "POST",
            row.url,
            content=row.body.encode(),
            headers=signed,
            timeout=self._settings.request_timeout_s,
        )
        response = await self._client.send(request, stream=True)
        try:
            head = bytearray()
            async for chunk in response.aiter_raw():
                head += chunk
                if len(head) >= self._settings.max_response_bytes:
                    break
        finally:
            await response.aclose()
        # the receiver writes the body: stored as text only once it is text PostgreSQL holds
        text = bytes(head[: self._settings.max_response_bytes]).decode(errors="replace")
        return AttemptResult(
            response.status_code,
            None if response.is_success else storable(text, 200),
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
        if result.status_code in (429, 503) and delay is not None:
            # a receiver may ask for a longer wait (up to the cap), never for a shorter one
            # than the backoff: "Retry-After: 0" on every answer must not hammer it
            honoured = retry_after_seconds(result.retry_after, now, s.max_retry_after_s)
            delay = max(delay, honoured or 0.0)
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


def _group(rows: list[Any]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.subscription_id, []).append(row)
    return grouped


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
