"""HTTP routes of scoring: parse, call, map."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Query

from services.scoring.api_models import (
    AccountHealth,
    AccountPage,
    AccountSummary,
    HistoryPoint,
    ModelConfigView,
    RescoreResult,
)
from services.scoring.model_config import HealthModelConfig
from services.scoring.repository import scores
from services.scoring.runtime import RuntimeDep
from shared.deps import SessionDep

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/accounts/{account_id}/health", response_model=AccountHealth)
async def get_health(account_id: str, session: SessionDep) -> AccountHealth:
    row = await scores.account_health(session, account_id)
    if row is None or row.score is None:
        raise HTTPException(404, f"no health score for account {account_id!r}")
    return AccountHealth.from_row(row)


@router.get("/accounts/{account_id}/health/history", response_model=list[HistoryPoint])
async def get_history(
    account_id: str,
    session: SessionDep,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[HistoryPoint]:
    if await scores.account_health(session, account_id) is None:
        raise HTTPException(404, f"unknown account {account_id!r}")
    rows = await scores.health_history(session, account_id, since, limit)
    return [HistoryPoint.from_row(row) for row in rows]


@router.get("/accounts", response_model=AccountPage)
async def list_accounts(
    session: SessionDep,
    band: Literal["green", "yellow", "red"] | None = None,
    segment: Literal["enterprise", "mid_market", "smb", "self_serve"] | None = None,
    sort: Literal["account_id", "score", "-score"] = "account_id",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> AccountPage:
    rows = await scores.list_accounts(
        session, band=band, segment=segment, sort=sort, limit=limit, cursor=_decode(cursor)
    )
    items = [AccountSummary.from_row(row) for row in rows]
    next_cursor = None
    if len(rows) == limit:
        last = rows[-1]
        next_cursor = _encode([last.score if sort != "account_id" else None, last.account_id])
    return AccountPage(items=items, next_cursor=next_cursor)


@router.get("/config/scoring", response_model=ModelConfigView)
async def get_config(runtime: RuntimeDep, session: SessionDep) -> ModelConfigView:
    config = await runtime.model_store.refresh(session)
    return ModelConfigView.of(runtime.model_store.version, config)


@router.put("/config/scoring", response_model=ModelConfigView)
async def put_config(
    config: HealthModelConfig, runtime: RuntimeDep, session: SessionDep
) -> ModelConfigView:
    version = await runtime.model_store.update(session, config)
    return ModelConfigView.of(version, config)


@router.post("/clock/rescore", response_model=RescoreResult)
async def rescore_now(runtime: RuntimeDep, as_of: datetime) -> RescoreResult:
    """Re-score every account at ``as_of`` now (what the clock does periodically)."""
    if as_of.tzinfo is None:
        raise HTTPException(422, "as_of must include a UTC offset")
    count = await runtime.clock.run_pass(as_of)
    runtime.relay.wake()
    return RescoreResult(accounts=count, as_of=as_of)


def _encode(value: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode()


def _decode(cursor: str | None) -> tuple[Any, str] | None:
    if not cursor:
        return None
    try:
        key, account_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as error:
        raise HTTPException(422, "invalid cursor") from error
    return key, str(account_id)
