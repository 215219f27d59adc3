"""HTTP routes of score trust: outcomes in, accuracy out, shadow and promote."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from services.scoring import trust
from services.scoring.accuracy.outcomes import OutcomeBatch
from services.scoring.accuracy.render import as_data
from services.scoring.model_config import HealthModelConfig
from services.scoring.repository.trust import insert_outcomes
from services.scoring.runtime import RuntimeDep
from shared.deps import SessionDep
from shared.http import actor

router = APIRouter(prefix="/v1", tags=["trust"])
Horizons = Annotated[list[int] | None, Query(description="days before each outcome")]


def _horizons(horizon: list[int] | None) -> list[int]:
    return sorted(set(horizon)) if horizon else list(trust.DEFAULT_HORIZONS)


@router.post("/outcomes")
async def post_outcomes(
    batch: OutcomeBatch, runtime: RuntimeDep, session: SessionDep
) -> dict[str, int]:
    """Churn/renewal labels from outside (a CRM); a repeat (same key or id) counts once."""
    new = await insert_outcomes(session, [o.to_outcome() for o in batch.outcomes])
    for outcome in new:
        runtime.metrics.outcomes.labels(outcome.kind, outcome.source).inc()
    return {"accepted": len(new), "duplicates": len(batch.outcomes) - len(new)}


@router.get("/model/accuracy")
async def get_accuracy(
    runtime: RuntimeDep, session: SessionDep, horizon: Horizons = None
) -> dict[str, Any]:
    """The live model against recorded outcomes: AUC, bands, lift, deciles, suggested weights."""
    live = await runtime.model_store.refresh(session)
    report = await trust.accuracy(session, live, _horizons(horizon), runtime.metrics)
    return as_data(report)


@router.put("/model/shadow")
async def put_shadow(
    config: HealthModelConfig, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Score ``config`` beside the live model from now on (stored, never published)."""
    config = runtime.model_store.validated(config)  # what could break the loop is refused (422)
    shadow_id = await trust.set_shadow(session, runtime.shadow, config)
    return {"shadow_id": shadow_id, "model_version": config.model_version}


@router.get("/model/shadow")
async def get_shadow(
    runtime: RuntimeDep, session: SessionDep, horizon: Horizons = None
) -> dict[str, Any]:
    """Band changes the shadow would make, and its AUC beside the live one's."""
    live = await runtime.model_store.refresh(session)
    return await trust.shadow_status(session, live, runtime.shadow, _horizons(horizon))


@router.delete("/model/shadow", status_code=204)
async def delete_shadow(runtime: RuntimeDep, session: SessionDep) -> None:
    await trust.clear_shadow(session, runtime.shadow)


@router.post("/model/shadow/promote")
async def promote_shadow(
    request: Request, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Make the shadow the live model: the next config version, recorded on the shadow row."""
    version, config = await trust.promote(
        session, runtime.model_store, runtime.shadow, actor(request)
    )
    return {"version": version, "model_version": config.model_version}
