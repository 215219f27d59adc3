"""HTTP routes of ingest: parse, call, map. No logic here."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel

from services.ingest.domain.http_batch import ItemOutcome, validate_batch
from services.ingest.domain.routing import Limits
from services.ingest.runtime import ProducerDep, RuntimeDep, SettingsDep
from shared.contracts import signal_to_json
from shared.errors import BrokerUnavailable, InvalidInput, PayloadTooLarge
from shared.http.openapi import errors
from shared.kafka.clients import key_bytes, send_all

router = APIRouter(prefix="/v1", tags=["events"])


class Reason(BaseModel):
    code: str
    message: str


class EventResult(BaseModel):
    index: int
    event_id: str | None
    status: str
    reason: Reason | None = None


class BatchResponse(BaseModel):
    accepted: int
    rejected: int
    results: list[EventResult]


@router.post(
    "/events",
    response_model=BatchResponse,
    responses=errors(413, 422, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["events"],
                        # any item: each is accepted or rejected on its own, with a reason
                        "properties": {"events": {"type": "array", "items": {}}},
                    }
                }
            },
        }
    },
)
async def post_events(
    request: Request, settings: SettingsDep, producer: ProducerDep, runtime: RuntimeDep
) -> BatchResponse:
    """Validate a batch of up to 1,000 events; accepted ones are on Kafka before we answer.

    Body: ``{"events": [{"source": "usage", "event_id": ..., ...}, ...]}``.
    """
    items = await _read_items(request, settings.http_max_batch_events)
    outcomes = validate_batch(
        items,
        now=runtime.now(),
        limits=Limits(settings.max_event_bytes, settings.max_json_depth),
    )
    accepted = [o for o in outcomes if o.signal is not None]
    messages = [
        (settings.topics.signals, key_bytes(s.account_id), signal_to_json(s))
        for s in (o.signal for o in accepted)
        if s is not None
    ]
    try:
        await send_all(producer, messages)
    except Exception as error:  # the client must retry the whole batch
        raise BrokerUnavailable(f"Kafka did not acknowledge the events: {error!r}") from error
    runtime.metrics.http_events.labels("accepted").inc(len(accepted))
    runtime.metrics.http_events.labels("rejected").inc(len(outcomes) - len(accepted))
    return BatchResponse(
        accepted=len(accepted),
        rejected=len(outcomes) - len(accepted),
        results=[_result(o) for o in outcomes],
    )


async def _read_items(request: Request, max_events: int) -> list[Any]:
    # the body is capped at VIGIL_HTTP_MAX_BODY_BYTES before any route runs (BodyLimit)
    try:
        parsed = orjson.loads(await request.body())
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"body is not valid JSON: {error}") from error
    if not isinstance(parsed, dict) or not isinstance(parsed.get("events"), list):
        raise InvalidInput('body must be an object {"events": [...]}')
    items: list[Any] = parsed["events"]
    if len(items) > max_events:
        raise PayloadTooLarge(f"batch of {len(items)} events is over the limit of {max_events}")
    return items


def _result(outcome: ItemOutcome) -> EventResult:
    if outcome.accepted:
        return EventResult(index=outcome.index, event_id=outcome.event_id, status="accepted")
    return EventResult(
        index=outcome.index,
        event_id=outcome.event_id,
        status="rejected",
        reason=Reason(code=outcome.reason_code or "", message=outcome.reason_message or ""),
    )
