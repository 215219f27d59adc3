"""Triggers routes: playbook rules (read/update) and the clock. Parse, call, map."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from services.triggers.rules_config import PlaybookConfig
from services.triggers.runtime import RuntimeDep
from shared.deps import SessionDep

router = APIRouter(prefix="/v1", tags=["playbooks"])


class RulesView(BaseModel):
    version: int
    rules_version: str
    config: PlaybookConfig


class ClockResult(BaseModel):
    now: datetime
    events: int


@router.get("/config/playbooks", response_model=RulesView)
async def get_rules(runtime: RuntimeDep, session: SessionDep) -> RulesView:
    config = await runtime.rules.refresh(session)
    return RulesView(
        version=runtime.rules.version, rules_version=config.rules_version, config=config
    )


@router.put("/config/playbooks", response_model=RulesView)
async def put_rules(config: PlaybookConfig, runtime: RuntimeDep, session: SessionDep) -> RulesView:
    version = await runtime.rules.update(session, config)
    return RulesView(version=version, rules_version=config.rules_version, config=config)


@router.post("/clock/tick", response_model=ClockResult)
async def tick(runtime: RuntimeDep, now: datetime) -> ClockResult:
    """Evaluate the time-based playbooks of every account at ``now``."""
    if now.tzinfo is None:
        raise HTTPException(422, "now must include a UTC offset")
    events = await runtime.clock.run_pass(now)
    runtime.relay.wake()
    return ClockResult(now=now, events=events)
