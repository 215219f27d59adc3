"""HTTP routes of overrides: list (read token); create and remove (write token).

Creating or removing an override re-scores the account in the same transaction, so
the health change that says so is in the outbox when the response is sent.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.domain.overrides import Override
from services.scoring.repository import overrides as repo
from services.scoring.runtime import RuntimeDep, ScoringRuntime
from shared.contracts.fields import Timestamp
from shared.errors import InvalidInput, NotFound
from shared.http.auth import actor
from shared.http.deps import NowDep, SessionDep
from shared.http.openapi import errors
from shared.schema_rules import Window, WindowAt

read_router = APIRouter(prefix="/v1", tags=["overrides"])
write_router = APIRouter(prefix="/v1", tags=["overrides"])

Band = Literal["green", "yellow", "red"]
Component = Literal["usage", "adoption", "support", "payment", "sentiment"]
Delta = Annotated[float, Field(ge=-100, le=100, allow_inf_nan=False)]


class _OverrideBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]
    expires_at: Timestamp


class PinBand(_OverrideBody):
    kind: Literal["pin_band"]
    band: Band


class AdjustScore(_OverrideBody):
    kind: Literal["adjust_score"]
    delta: Delta


class AdjustComponent(_OverrideBody):
    kind: Literal["adjust_component"]
    delta: Delta
    component: Component


def windows(max_days: int) -> list[WindowAt]:
    """``expires_at``'s window (``VIGIL_OVERRIDE_MAX_DAYS``), in each kind's schema."""
    window = Window(after_s=0, before_s=max_days * 86_400)
    kinds = (PinBand, AdjustScore, AdjustComponent)
    return [WindowAt(window, schema=k.__name__, property="expires_at") for k in kinds]


# each kind its own schema (``oneOf`` on ``kind``): the fields a kind takes are in the
# OpenAPI document, not only in the code
OverrideIn = Annotated[PinBand | AdjustScore | AdjustComponent, Field(discriminator="kind")]


class OverrideOut(BaseModel):
    override_id: str
    account_id: str
    kind: Literal["pin_band", "adjust_score", "adjust_component"]
    band: Band | None
    delta: float | None
    component: str | None
    reason: str
    expires_at: datetime
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, override: Override) -> OverrideOut:
        return cls(
            override_id=override.override_id,
            account_id=override.account_id,
            kind=override.kind,
            band=override.band,
            delta=override.delta,
            component=override.component,
            reason=override.reason,
            expires_at=override.expires_at,
            created_at=override.created_at,
            created_by=override.created_by,
        )

    @classmethod
    def from_row(cls, row: Any) -> OverrideOut:
        return cls.of(repo.override_of(row))


class OverrideList(BaseModel):
    items: list[OverrideOut]


@read_router.get(
    "/accounts/{account_id}/overrides", response_model=OverrideList, responses=errors(404, 422)
)
async def list_overrides(
    account_id: str, session: SessionDep, now: NowDep, include_expired: bool = False
) -> OverrideList:
    if not await repo.account_exists(session, account_id):
        raise NotFound(f"no health score for account {account_id!r}")
    rows = await repo.account_overrides(
        session, account_id, now=now, include_expired=include_expired
    )
    return OverrideList(items=[OverrideOut.from_row(row) for row in rows])


@write_router.post(
    "/accounts/{account_id}/overrides",
    response_model=OverrideOut,
    status_code=201,
    responses=errors(404, 422),
)
async def create_override(
    account_id: str,
    body: OverrideIn,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    now: NowDep,
    after: BackgroundTasks,
) -> OverrideOut:
    longest = timedelta(days=runtime.settings.override_max_days)
    if not now < body.expires_at <= now + longest:
        raise InvalidInput(
            f"expires_at must be in the future and at most {longest.days} days ahead"
        )
    if not await repo.account_exists(session, account_id):
        raise NotFound(f"no health score for account {account_id!r}")
    override = Override(
        override_id=str(uuid.uuid4()),
        account_id=account_id,
        kind=body.kind,
        band=getattr(body, "band", None),
        delta=getattr(body, "delta", None),
        component=getattr(body, "component", None),
        reason=body.reason,
        expires_at=body.expires_at,
        created_at=now,
        created_by=actor(request)[:200],
    )
    await repo.insert_override(session, override)
    await _rescore(runtime, session, account_id, now)
    after.add_task(runtime.relay.wake)  # after the commit: the change is in the outbox
    return OverrideOut.of(override)


@write_router.delete(
    "/accounts/{account_id}/overrides/{override_id}",
    status_code=204,
    responses=errors(404, 422),
)
async def delete_override(
    account_id: str,
    override_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    now: NowDep,
    after: BackgroundTasks,
) -> Response:
    removed = await repo.remove_override(
        session, account_id, override_id, by=actor(request), at=now
    )
    if not removed:
        raise NotFound(f"no override {override_id} on account {account_id!r}")
    await _rescore(runtime, session, account_id, now)
    after.add_task(runtime.relay.wake)
    return Response(status_code=204)


async def _rescore(
    runtime: ScoringRuntime, session: AsyncSession, account_id: str, now: datetime
) -> None:
    """Re-score the account at the time it was last judged, with the overrides in force
    now; the relay publishes the change once the request's transaction commits."""
    assert runtime.scorer is not None  # the service always wires one
    await runtime.scorer.rescore(session, [account_id], as_of=None, trigger="override", now=now)
