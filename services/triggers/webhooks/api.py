"""Webhook routes: subscriptions, deliveries, replay. Parse, call, map."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Response
from pydantic import AnyHttpUrl, BaseModel, Field

from services.triggers.runtime import RuntimeDep
from services.triggers.webhooks import repository as repo
from services.triggers.webhooks.service import (
    EVENT_TYPES,
    EventType,
    NewSubscription,
    create_subscription,
    rotate,
)
from shared.errors import NotFound
from shared.http.deps import NowDep, SessionDep
from shared.http.openapi import errors
from shared.http.params import IsoDateTime
from shared.text import Name

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class Filters(BaseModel):
    playbooks: list[Name] | None = Field(default=None, max_length=100)
    segments: list[Literal["enterprise", "mid_market", "smb", "self_serve"]] | None = None
    bands: list[Literal["green", "yellow", "red"]] | None = None


class SubscriptionIn(BaseModel):
    url: Annotated[AnyHttpUrl, Field(max_length=2048)]
    event_types: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))
    filters: Filters = Filters()


class SubscriptionOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    filters: Filters
    created_at: datetime
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    failing_since: IsoDateTime | None = None

    @classmethod
    def from_row(cls, row: Any) -> SubscriptionOut:
        return cls(
            id=row.id,
            url=row.url,
            event_types=row.event_types,
            filters=Filters(
                playbooks=row.filter_playbooks, segments=row.filter_segments, bands=row.filter_bands
            ),
            created_at=row.created_at,
            disabled_at=row.disabled_at,
            disabled_reason=row.disabled_reason,
            failing_since=row.failing_since,
        )


class CreatedSubscription(SubscriptionOut):
    secret: str = Field(description="whsec_ signing secret; shown only in this response")


class RotatedSecret(BaseModel):
    secret: str
    previous_valid_until: datetime


class Attempt(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None
    latency_ms: float
    error: str | None


class DeliveryOut(BaseModel):
    id: str
    account_id: str
    event_type: str
    event_id: str
    status: str
    attempts: int
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    log: list[Attempt]

    @classmethod
    def from_row(cls, row: Any) -> DeliveryOut:
        values = dict(row._mapping)
        if isinstance(values["log"], str):
            values["log"] = orjson.loads(values["log"])
        return cls(**values)


class Replayed(BaseModel):
    replayed: int


@router.post(
    "/subscriptions", status_code=201, response_model=CreatedSubscription, responses=errors(422)
)
async def create(
    body: SubscriptionIn, runtime: RuntimeDep, session: SessionDep, now: NowDep
) -> CreatedSubscription:
    new = NewSubscription(
        str(body.url),
        body.event_types,
        body.filters.playbooks,
        body.filters.segments,
        body.filters.bands,
    )
    sub_id, secret = await create_subscription(
        session, new, runtime.settings.webhooks, runtime.box, now=now, lookup=runtime.lookup
    )
    row = await repo.get_subscription(session, sub_id)
    return CreatedSubscription(**SubscriptionOut.from_row(row).model_dump(), secret=secret)


@router.get("/subscriptions", response_model=list[SubscriptionOut])
async def list_all(session: SessionDep) -> list[SubscriptionOut]:
    return [SubscriptionOut.from_row(r) for r in await repo.list_subscriptions(session)]


@router.delete("/subscriptions/{sub_id}", status_code=204, responses=errors(404))
async def delete(sub_id: str, session: SessionDep, now: NowDep) -> Response:
    if not await repo.delete_subscription(session, sub_id, now):
        raise NotFound(f"no subscription {sub_id}")
    return Response(status_code=204)


@router.post(
    "/subscriptions/{sub_id}/rotate-secret", response_model=RotatedSecret, responses=errors(404)
)
async def rotate_secret(
    sub_id: str, runtime: RuntimeDep, session: SessionDep, now: NowDep
) -> RotatedSecret:
    hooks = runtime.settings.webhooks
    secret, until = await rotate(session, sub_id, hooks, runtime.box, now=now)
    return RotatedSecret(secret=secret, previous_valid_until=until)


@router.get(
    "/subscriptions/{sub_id}/deliveries",
    response_model=list[DeliveryOut],
    responses=errors(404, 422),
)
async def deliveries(
    sub_id: str,
    session: SessionDep,
    status: Literal["pending", "in_flight", "delivered", "failed", "canceled"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    if await repo.get_subscription(session, sub_id) is None:
        raise NotFound(f"no subscription {sub_id}")
    rows = await repo.list_deliveries(session, sub_id, status, limit)
    return [DeliveryOut.from_row(r) for r in rows]


@router.post(
    "/deliveries/{delivery_id}/replay",
    status_code=202,
    response_model=Replayed,
    responses=errors(404),
)
async def replay_one(delivery_id: str, session: SessionDep, now: NowDep) -> Replayed:
    count = await repo.replay(session, now, delivery_id=delivery_id)
    if count == 0:
        raise NotFound(f"no replayable delivery {delivery_id}")
    return Replayed(replayed=count)


@router.post(
    "/subscriptions/{sub_id}/replay-failed",
    status_code=202,
    response_model=Replayed,
    responses=errors(422),
)
async def replay_failed(
    sub_id: str, session: SessionDep, now: NowDep, since: IsoDateTime | None = None
) -> Replayed:
    count = await repo.replay(session, now, sub_id=sub_id, failed_since=since)
    return Replayed(replayed=count)
