"""HTTP routes of score trust: outcomes in, accuracy out, shadow and promote."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, Discriminator, Tag

from services.scoring.domain.model_config import HealthModelConfig
from services.scoring.runtime import RuntimeDep
from services.scoring.scorecard.candidate import is_scorecard, scorecard_candidate
from services.scoring.scorecard.document import Scorecard
from services.scoring.trust import service as trust
from services.scoring.trust.accuracy.outcomes import OutcomeBatch
from services.scoring.trust.repository import insert_outcomes
from services.scoring.trust.shadow import Candidate
from shared.errors import InvalidInput
from shared.http.auth import actor
from shared.http.deps import SessionDep
from shared.http.openapi import errors

router = APIRouter(prefix="/v1", tags=["trust"])
# bounded: each horizon is a report over the whole history (a 422 names the bound)
MAX_HORIZONS = 6
Horizons = Annotated[
    list[Annotated[int, Query(ge=1, le=3650)]] | None,
    Query(
        description=f"days before each outcome (1 to 3650), at most {MAX_HORIZONS} of them",
        max_length=MAX_HORIZONS,
    ),
]


def _candidate_kind(body: Any) -> str:
    if isinstance(body, BaseModel):
        return "scorecard" if isinstance(body, Scorecard) else "config"
    return "scorecard" if is_scorecard(body) else "config"


ShadowCandidate = Annotated[
    Annotated[HealthModelConfig, Tag("config")] | Annotated[Scorecard, Tag("scorecard")],
    Discriminator(_candidate_kind),
    Body(description="A model config, or a scorecard document (it declares `measures`)"),
]


class OutcomeCounts(BaseModel):
    accepted: int
    duplicates: int


class ShadowSet(BaseModel):
    shadow_id: int
    model_version: str


class Promoted(BaseModel):
    version: int
    model_version: str


def _horizons(horizon: list[int] | None) -> list[int]:
    return sorted(set(horizon)) if horizon else list(trust.DEFAULT_HORIZONS)


@router.post("/outcomes", response_model=OutcomeCounts, responses=errors(422))
async def post_outcomes(
    batch: OutcomeBatch, runtime: RuntimeDep, session: SessionDep
) -> OutcomeCounts:
    """Churn/renewal labels from outside (a CRM); a repeat (same key or id) counts once."""
    new = await insert_outcomes(session, [o.to_outcome() for o in batch.outcomes])
    for outcome in new:
        runtime.metrics.outcomes.labels(outcome.kind, outcome.source).inc()
    return OutcomeCounts(accepted=len(new), duplicates=len(batch.outcomes) - len(new))


@router.get("/model/accuracy", responses=errors(422))
async def get_accuracy(
    runtime: RuntimeDep,
    horizon: Horizons = None,
    max_age_s: Annotated[
        float,
        Query(
            ge=0,
            le=86400,
            description="a report computed up to this many seconds ago will do (0: the"
            " current history's); a newer one is computed in the background",
        ),
    ] = 0,
) -> dict[str, Any]:
    """The live model against recorded outcomes: AUC, bands, lift, deciles, suggested weights."""
    return await trust.accuracy(runtime, _horizons(horizon), max_age_s)


@router.put("/model/shadow", response_model=ShadowSet, responses=errors(422))
async def put_shadow(
    config: ShadowCandidate, runtime: RuntimeDep, session: SessionDep
) -> ShadowSet:
    """Score ``config`` (a model config or a scorecard) beside the live model from now on
    (stored, never published)."""
    candidate: Candidate
    if isinstance(config, Scorecard):
        try:  # names resolved, windows in retention: every error with its path (422)
            candidate = scorecard_candidate(config.model_dump(mode="json"))
        except ValueError as error:
            raise InvalidInput(f"scorecard refused: {error}") from None
    else:  # what could break the loop is refused (422)
        candidate = runtime.model_store.validated(config)
    shadow_id = await trust.set_shadow(session, runtime.shadow, candidate)
    return ShadowSet(shadow_id=shadow_id, model_version=candidate.model_version)


@router.get("/model/shadow", responses=errors(404, 422))
async def get_shadow(runtime: RuntimeDep, horizon: Horizons = None) -> dict[str, Any]:
    """Band changes the shadow would make, and its AUC beside the live one's."""
    return await trust.shadow_status(runtime, _horizons(horizon))


@router.delete("/model/shadow", status_code=204)
async def delete_shadow(runtime: RuntimeDep, session: SessionDep) -> None:
    await trust.clear_shadow(session, runtime.shadow)


@router.post("/model/shadow/promote", response_model=Promoted, responses=errors(404, 409, 422))
async def promote_shadow(request: Request, runtime: RuntimeDep, session: SessionDep) -> Promoted:
    """Make the shadow the live model: the next config version, recorded on the shadow row."""
    version, config = await trust.promote(
        session, runtime.model_store, runtime.shadow, actor(request)
    )
    return Promoted(version=version, model_version=config.model_version)
