"""HTTP routes of scoring: parse, call, map."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Request

from services.scoring.api_models import (
    AccountHealth,
    AccountPage,
    AccountSummary,
    HistoryPoint,
    ModelConfigDocument,
    ModelConfigPut,
    ModelConfigView,
    RescoreResult,
)
from services.scoring.domain import cursor as page_cursor
from services.scoring.repository import scores
from services.scoring.runtime import RuntimeDep
from shared.contracts import Explanation, Segment
from shared.errors import NotFound
from shared.http.auth import actor
from shared.http.deps import SessionDep
from shared.http.openapi import errors
from shared.http.params import IsoDateTime, require_near_now
from shared.http.server import cursor_query

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/accounts/{account_id}/health", response_model=AccountHealth, responses=errors(404))
async def get_health(account_id: str, session: SessionDep, runtime: RuntimeDep) -> AccountHealth:
    row = await scores.account_health(session, account_id)
    if row is None or row.score is None:
        raise NotFound(f"no health score for account {account_id!r}")
    health = AccountHealth.from_row(row)
    if runtime.scorer is None or row.scored_as_of is None:
        return health
    explained = await runtime.scorer.explain(session, account_id, row.scored_as_of)
    if explained is None:
        return health
    return health.model_copy(update={"explanation": Explanation.model_validate(explained)})


@router.get(
    "/accounts/{account_id}/health/history",
    response_model=list[HistoryPoint],
    responses=errors(404, 422),
)
async def get_history(
    account_id: str,
    session: SessionDep,
    since: IsoDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[HistoryPoint]:
    if await scores.account_health(session, account_id) is None:
        raise NotFound(f"unknown account {account_id!r}")
    rows = await scores.health_history(session, account_id, since, limit)
    return [HistoryPoint.from_row(row) for row in rows]


@router.get("/accounts", response_model=AccountPage, responses=errors(422))
async def list_accounts(
    session: SessionDep,
    band: Literal["green", "yellow", "red"] | None = None,
    segment: Segment | None = None,
    sort: Literal["account_id", "score", "-score"] = "account_id",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, cursor_query(page_cursor.PATTERN, page_cursor.MAX_LENGTH)] = None,
) -> AccountPage:
    position = page_cursor.decode(cursor) if cursor else None
    rows = await scores.list_accounts(
        session, band=band, segment=segment, sort=sort, limit=limit, cursor=position
    )
    items = [AccountSummary.from_row(row) for row in rows]
    next_cursor = None
    if len(rows) == limit:
        next_cursor = page_cursor.encode(rows[-1].score, rows[-1].account_id)
    return AccountPage(items=items, next_cursor=next_cursor)


@router.get("/config/scoring", response_model=ModelConfigView)
async def get_config(runtime: RuntimeDep, session: SessionDep) -> ModelConfigView:
    store = runtime.model_store
    config = await store.refresh(session)
    return ModelConfigView.of(store.version, config, await store.stored(session))


@router.put("/config/scoring", response_model=ModelConfigView, responses=errors(409, 422))
async def put_config(
    body: Annotated[ModelConfigPut, Body()],
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
) -> ModelConfigView:
    store = runtime.model_store
    config, read = (
        (body.config, body.version) if isinstance(body, ModelConfigDocument) else (body, None)
    )
    await store.update(session, config, changed_by=actor(request), read=read)
    return ModelConfigView.of(store.version, config, await store.stored(session))


@router.post("/clock/rescore", response_model=RescoreResult, responses=errors(422))
async def rescore_now(runtime: RuntimeDep, as_of: IsoDateTime | None = None) -> RescoreResult:
    """Re-score every account at ``as_of`` (default: the service's now), what the clock
    does periodically."""
    settings = runtime.settings
    if as_of is None:
        as_of = runtime.clock.now()
    else:
        require_near_now(
            "as_of", as_of, settings.clock_max_skew_s, settings.clock_any_time, runtime.clock.now
        )
    count = await runtime.clock.run_pass(as_of)
    runtime.relay.wake()
    return RescoreResult(accounts=count, as_of=as_of)
