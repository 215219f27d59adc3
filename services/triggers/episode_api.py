"""Episode routes: the queue, one episode with its history, its lifecycle, feedback.

Reads take the read token; lifecycle changes the write token (or admin), whose
role and fingerprint are recorded with each change. Parse, call, map.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from services.triggers import episode_cursor as page_cursor
from services.triggers import episode_repository as repo
from services.triggers import episode_service as service
from services.triggers.domain.feedback import Feedback, as_data
from services.triggers.domain.lifecycle import Request as LifecycleRequest
from services.triggers.domain.lifecycle import Resolution
from services.triggers.runtime import RuntimeDep
from shared.contracts import Playbook, Segment
from shared.database.engine import transaction
from shared.errors import NotFound
from shared.http.auth import actor
from shared.http.deps import NowDep, SessionDep
from shared.http.openapi import errors
from shared.http.params import IsoDateTime
from shared.http.server import cursor_query
from shared.schema_rules import WHOLE, Window
from shared.text import NO_NUL, Name

read_router = APIRouter(prefix="/v1/playbooks", tags=["episodes"])
write_router = APIRouter(prefix="/v1/playbooks/episodes", tags=["episodes"])
Status = Literal["open", "acknowledged", "snoozed", "resolved", "closed", "held_back"]
EpisodeId = Annotated[str, Field(min_length=1, max_length=128)]
STRICT = ConfigDict(extra="forbid")
MAX_SNOOZE_S = 366 * 86_400  # a year and a day: longer is a close, not a snooze


class Health(BaseModel):
    score: float | None = None
    band: str | None = None


class HistoryEntry(BaseModel):
    at: datetime
    action: str
    by: str
    detail: dict[str, Any]


class Episode(BaseModel):
    episode_id: str
    account_id: str
    playbook: str
    segment: str | None
    status: Status
    opened_at: datetime
    due_by: datetime | None
    reason: str
    health: Health
    owner: str | None
    snoozed_until: datetime | None
    resolution: Resolution | None
    note: str | None
    acknowledged_at: datetime | None
    closed_at: datetime | None
    resolved_at: datetime | None
    held_back_reason: str | None

    @classmethod
    def from_row(cls, row: Any) -> Episode:
        held = row.status == "held_back"
        health = row.health or {}
        return cls(
            episode_id=row.episode_id,
            account_id=row.account_id,
            playbook=row.playbook,
            segment=row.segment,
            status=service.status_of(row),
            opened_at=row.opened_at,
            due_by=row.due_by,
            reason=row.reason,
            health=Health(score=health.get("score"), band=health.get("band")),
            owner=row.owner,
            snoozed_until=row.snoozed_until,
            resolution=row.resolution,
            note=row.note,
            acknowledged_at=row.acknowledged_at,
            closed_at=row.lifecycle_closed_at,
            resolved_at=None if held else row.closed_at,
            held_back_reason=row.held_back_reason,
        )


class EpisodeWithHistory(Episode):
    history: list[HistoryEntry]


class EpisodePage(BaseModel):
    items: list[Episode]
    next_cursor: str | None


class Acknowledge(BaseModel):
    model_config = STRICT


class Assign(BaseModel):
    model_config = STRICT
    owner: Name


class SnoozeUntil(BaseModel):
    model_config = STRICT
    until: Annotated[IsoDateTime, Field(json_schema_extra=Window(after_s=0).state)]


class SnoozeFor(BaseModel):
    """A snooze as a duration: no clock of the caller's is involved."""

    model_config = STRICT
    for_seconds: Annotated[int, Field(ge=60, le=MAX_SNOOZE_S, strict=True), WHOLE]

    @property
    def duration(self) -> timedelta:
        return timedelta(seconds=self.for_seconds)


class Close(BaseModel):
    model_config = STRICT
    resolution: Resolution
    note: Annotated[str, Field(max_length=2000, pattern=NO_NUL)] = ""


class Durations(BaseModel):
    n: int
    median_s: float | None
    p90_s: float | None


class FeedbackRow(BaseModel):
    playbook: str
    segment: str
    opened: int
    closed: dict[Resolution, int]
    judged: int
    precision: float | None = Field(description="actioned / judged; null before a judgement")
    precision_low: float | None = Field(description="95% Wilson interval")
    precision_high: float | None
    time_to_acknowledge: Durations
    time_to_close: Durations


class FeedbackReport(BaseModel):
    since: datetime | None
    items: list[FeedbackRow]


@read_router.get("/episodes", response_model=EpisodePage, responses=errors(422))
async def list_episodes(
    session: SessionDep,
    status: Literal["open", "resolved", "closed", "held_back"] | None = None,
    playbook: Playbook | None = None,
    segment: Segment | None = None,
    account_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    opened_since: IsoDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, cursor_query(page_cursor.PATTERN, page_cursor.MAX_LENGTH)] = None,
) -> EpisodePage:
    """Open episodes are a queue (soonest due first); the others newest first."""
    where = repo.EpisodeFilter(status, playbook, segment, account_id, opened_since)
    rows, after = await repo.list_episodes(session, where, limit, cursor)
    return EpisodePage(items=[Episode.from_row(r) for r in rows], next_cursor=after)


@read_router.get("/episodes/{episode_id}", response_model=EpisodeWithHistory, responses=errors(404))
async def get_episode(episode_id: str, session: SessionDep) -> EpisodeWithHistory:
    row = await repo.get_episode(session, episode_id)
    if row is None:
        raise NotFound(f"no episode {episode_id}")
    return await _with_history(session, row)


@read_router.get("/feedback", response_model=FeedbackReport, responses=errors(422))
async def feedback(
    session: SessionDep,
    runtime: RuntimeDep,
    since: IsoDateTime | None = None,
    playbook: Playbook | None = None,
    segment: Segment | None = None,
    max_age_s: Annotated[
        float,
        Query(
            ge=0,
            le=86400,
            description="a report computed up to this many seconds ago will do (0: computed"
            " now); a newer one is computed in the background",
        ),
    ] = 0,
) -> FeedbackReport:
    """Per playbook and segment of the episodes opened since ``since``: closes by
    resolution, precision with its 95% interval, time to acknowledge and to close."""
    if max_age_s > 0:
        # an aggregate of every episode (seconds at a million accounts): the console's
        # playbooks page takes the last one computed, refreshed at most every 10 s
        key = ("feedback", since, playbook, segment, int(time.monotonic() // 10))

        async def compute() -> list[Feedback]:
            sessions = getattr(runtime, "api_sessions", None) or runtime.sessions
            async with transaction(sessions) as fresh:
                return await repo.feedback(fresh, since, playbook, segment)

        rows = await runtime.reports.recent(key, max_age_s, compute)
    else:
        rows = await repo.feedback(session, since, playbook, segment)
    return FeedbackReport(since=since, items=[FeedbackRow(**r) for r in as_data(rows)])


async def _with_history(session: SessionDep, row: Any) -> EpisodeWithHistory:
    entries = await service.history_of(session, row)
    history = [HistoryEntry(at=e.at, action=e.action, by=e.by, detail=e.detail) for e in entries]
    return EpisodeWithHistory(**Episode.from_row(row).model_dump(), history=history)


async def _act(
    episode_id: str,
    change: LifecycleRequest,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    now: datetime,
) -> EpisodeWithHistory:
    topic = runtime.settings.topics.playbook_events
    row = await service.act(session, episode_id, change, by=actor(request), now=now, topic=topic)
    return await _with_history(session, row)


LIFECYCLE_ERRORS = errors(404, 409, 422)


@write_router.post(
    "/{episode_id}/acknowledge", response_model=EpisodeWithHistory, responses=LIFECYCLE_ERRORS
)
async def acknowledge(
    episode_id: str,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    now: NowDep,
    body: Acknowledge | None = None,  # ``{}`` or no body at all
) -> EpisodeWithHistory:
    change = LifecycleRequest("acknowledge")
    return await _act(episode_id, change, request, runtime, session, now)


@write_router.post(
    "/{episode_id}/assign", response_model=EpisodeWithHistory, responses=LIFECYCLE_ERRORS
)
async def assign(
    episode_id: str,
    body: Assign,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    now: NowDep,
) -> EpisodeWithHistory:
    change = LifecycleRequest("assign", owner=body.owner)
    return await _act(episode_id, change, request, runtime, session, now)


@write_router.post(
    "/{episode_id}/snooze", response_model=EpisodeWithHistory, responses=LIFECYCLE_ERRORS
)
async def snooze(
    episode_id: str,
    body: SnoozeUntil | SnoozeFor,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    now: NowDep,
) -> EpisodeWithHistory:
    """Until a time (after now), or for a number of seconds from now."""
    until = body.until if isinstance(body, SnoozeUntil) else now + body.duration
    change = LifecycleRequest("snooze", until=until)
    return await _act(episode_id, change, request, runtime, session, now)


@write_router.post(
    "/{episode_id}/close", response_model=EpisodeWithHistory, responses=LIFECYCLE_ERRORS
)
async def close(
    episode_id: str,
    body: Close,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    now: NowDep,
) -> EpisodeWithHistory:
    change = LifecycleRequest("close", resolution=body.resolution, note=body.note)
    return await _act(episode_id, change, request, runtime, session, now)
