"""Triggers routes: playbook rules (read/update) and the clock. Parse, call, map."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from services.triggers.rules_config import PlaybookConfig
from services.triggers.runtime import RuntimeDep
from shared.deps import SessionDep
from shared.http import IsoDateTime, actor, require_near_now
from shared.openapi import errors

router = APIRouter(prefix="/v1", tags=["playbooks"])


class RulesView(BaseModel):
    version: int
    rules_version: str
    config: PlaybookConfig


class ClockResult(BaseModel):
    now: IsoDateTime
    events: int


@router.get("/config/playbooks", response_model=RulesView)
async def get_rules(runtime: RuntimeDep, session: SessionDep) -> RulesView:
    config = await runtime.rules.refresh(session)
    return RulesView(
        version=runtime.rules.version, rules_version=config.rules_version, config=config
    )


@router.put("/config/playbooks", response_model=RulesView, responses=errors(409, 422))
async def put_rules(
    config: PlaybookConfig, request: Request, runtime: RuntimeDep, session: SessionDep
) -> RulesView:
    version = await runtime.rules.update(session, config, changed_by=actor(request))
    return RulesView(version=version, rules_version=config.rules_version, config=config)


@router.post("/clock/tick", response_model=ClockResult, responses=errors(422))
async def tick(runtime: RuntimeDep, now: IsoDateTime) -> ClockResult:
    """Evaluate the time-based playbooks of every account at ``now``."""
    settings = runtime.settings
    require_near_now("now", now, settings.clock_max_skew_s, settings.clock_any_time)
    events = await runtime.clock.run_pass(now)
    runtime.relay.wake()
    return ClockResult(now=now, events=events)
