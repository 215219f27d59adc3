"""Triggers routes: playbook rules (read/update) and the clock. Parse, call, map."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, Discriminator, Tag

from services.triggers.domain.playbook_config import PlaybookConfig
from services.triggers.runtime import RuntimeDep
from shared.database.config_store import ConfigDocument, Stored, document_or_config
from shared.http.auth import actor
from shared.http.deps import SessionDep
from shared.http.openapi import errors
from shared.http.params import IsoDateTime, require_near_now

router = APIRouter(prefix="/v1", tags=["playbooks"])


class RulesDocument(ConfigDocument[PlaybookConfig]):
    rules_version: str | None = None


class RulesView(RulesDocument):
    @classmethod
    def of(cls, version: int, config: PlaybookConfig, stored: Stored) -> RulesView:
        return cls(
            version=version,
            rules_version=config.rules_version,
            changed_by=stored.changed_by,
            created_at=stored.created_at,
            config=config,
        )


# PUT /v1/config/playbooks takes the GET document back, or the config alone.
RulesPut = Annotated[
    Annotated[RulesDocument, Tag("document")] | Annotated[PlaybookConfig, Tag("config")],
    Discriminator(document_or_config),
]


class ClockResult(BaseModel):
    now: IsoDateTime
    events: int


@router.get("/config/playbooks", response_model=RulesView)
async def get_rules(runtime: RuntimeDep, session: SessionDep) -> RulesView:
    config = await runtime.rules.refresh(session)
    return RulesView.of(runtime.rules.version, config, await runtime.rules.stored(session))


@router.put("/config/playbooks", response_model=RulesView, responses=errors(409, 422))
async def put_rules(
    body: Annotated[RulesPut, Body()], request: Request, runtime: RuntimeDep, session: SessionDep
) -> RulesView:
    config, read = (body.config, body.version) if isinstance(body, RulesDocument) else (body, None)
    await runtime.rules.update(session, config, changed_by=actor(request), read=read)
    return RulesView.of(runtime.rules.version, config, await runtime.rules.stored(session))


@router.post("/clock/tick", response_model=ClockResult, responses=errors(422))
async def tick(runtime: RuntimeDep, now: IsoDateTime | None = None) -> ClockResult:
    """Evaluate the time-based playbooks of every account at ``now`` (default: the
    service's now)."""
    settings = runtime.settings
    if now is None:
        now = runtime.clock.now()
    else:
        require_near_now(
            "now", now, settings.clock_max_skew_s, settings.clock_any_time, runtime.clock.now
        )
    events = await runtime.clock.run_pass(now)
    runtime.relay.wake()
    return ClockResult(now=now, events=events)
