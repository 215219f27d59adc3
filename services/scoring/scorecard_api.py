"""``/v1/config/scorecard``: the live scorecard, read and replaced as the configs are.

PUT checks a document with the checks of ``vigil scorecard validate`` (every error
with its path, 422) and then as a stored config is checked (it compiles and scores
sample accounts); the stored version is followed by every replica, and one of them
re-scores every account (``services.scoring.scorecard_sync``). DELETE goes back to
the built-in model the same way.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from services.scoring.live_scorecard import LiveScorecard
from services.scoring.runtime import RuntimeDep
from services.scoring.scorecard.checks import cross_reference_errors
from services.scoring.scorecard.compiled import canonical_json, version_of
from services.scoring.scorecard.document import Scorecard
from shared.http.auth import actor
from shared.http.deps import SessionDep
from shared.http.openapi import errors

router = APIRouter(prefix="/v1", tags=["config"])


class ScorecardView(BaseModel):
    """The scorecard in force. ``live`` is ``model`` while none is stored: the built-in
    model scores, shown here as the scorecard it equals (the model's config as data)."""

    version: int  # of the stored scorecard config (1: the built-in model, stored on first start)
    scorecard_version: str  # the document's own version and a hash of it, as scores name it
    digest: str  # sha256 of the document's canonical JSON
    live: Literal["model", "scorecard"]
    changed_by: str | None
    created_at: datetime | None
    scorecard: Scorecard


def digest_of(card: Scorecard) -> str:
    return hashlib.sha256(canonical_json(card)).hexdigest()


async def _view(runtime: RuntimeDep, session: SessionDep) -> ScorecardView:
    store = runtime.scorecard_store
    await store.refresh(session)
    stored = await store.stored(session)
    engine = runtime.scorer.engine if runtime.scorer is not None else None
    card = store.current.scorecard
    if card is None and engine is not None:
        card = engine.live_card()
    assert card is not None  # the service always has a scorer
    return ScorecardView(
        version=store.version,
        scorecard_version=version_of(card),
        digest=digest_of(card),
        live="model" if store.current.scorecard is None else "scorecard",
        changed_by=stored.changed_by,
        created_at=stored.created_at,
        scorecard=card,
    )


@router.get("/config/scorecard", response_model=ScorecardView)
async def get_scorecard(runtime: RuntimeDep, session: SessionDep) -> ScorecardView:
    return await _view(runtime, session)


@router.put("/config/scorecard", response_model=ScorecardView, responses=errors(409, 422))
async def put_scorecard(
    body: Annotated[Scorecard, Body()],
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
) -> ScorecardView:
    """Replace the live scorecard; every account is re-scored with it shortly after."""
    problems = cross_reference_errors(body)
    if problems:
        raise RequestValidationError([_item(problem) for problem in problems])
    await runtime.scorecard_store.update(
        session, LiveScorecard(scorecard=body), changed_by=actor(request)
    )
    return await _view(runtime, session)


@router.delete("/config/scorecard", response_model=ScorecardView)
async def reset_scorecard(
    request: Request, runtime: RuntimeDep, session: SessionDep
) -> ScorecardView:
    """Go back to the built-in model: stored as a new version (the history keeps the
    scorecard it replaces), followed by every replica, every account re-scored with it."""
    await runtime.scorecard_store.update(session, LiveScorecard(), changed_by=actor(request))
    return await _view(runtime, session)


def _item(problem: str) -> dict[str, object]:
    """``measures[3].points[1]: x must increase`` as a validation error at that path."""
    path, _, message = problem.partition(": ")
    return {"loc": ("body", path), "msg": message or problem, "type": "scorecard"}
