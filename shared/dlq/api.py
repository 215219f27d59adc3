"""The dead-letter admin API: list, show, redrive, and the record of redrives.

Served by a stateful service (scoring mounts it): reading needs only the broker and
the record only the database, whichever stage a dead letter came from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from shared.contracts import DlqReason
from shared.contracts.fields import Timestamp
from shared.dlq.kafka_io import read_ids
from shared.dlq.records import DeadLetter, Outcome, Selection
from shared.dlq.redrive import (
    DEFAULT_REDRIVE_LIMIT,
    MAX_REDRIVE_LIMIT,
    DlqName,
    dlq_topics,
    page,
    redrive,
)
from shared.dlq.store import list_redrives, times_redriven
from shared.errors import NotFound
from shared.http.auth import actor
from shared.http.deps import SessionDep, get_runtime
from shared.http.openapi import errors
from shared.http.params import IsoDateTime
from shared.schema_rules import WHOLE

router = APIRouter(prefix="/v1/dlq", tags=["dead letters"])

Id = Annotated[str, Field(pattern=r"^[0-9]{1,9}/[0-9]{1,18}$", examples=["0/42"])]


class DeadLetterView(BaseModel):
    id: str  # partition/offset in its dead-letter topic
    topic: DlqName
    partition: int
    offset: int
    readable: bool  # false: not a dead-letter record (the fields below are null)
    stage: str | None
    reason: DlqReason | None
    source_topic: str | None
    source_partition: int | None
    source_offset: int | None
    received_at: datetime | None
    attempt: int | None
    payload_bytes: int | None
    payload_truncated: bool | None

    @classmethod
    def of(cls, topic: DlqName, dead: DeadLetter, **more: Any) -> Any:
        r = dead.record
        return cls(
            id=dead.id,
            topic=topic,
            partition=dead.partition,
            offset=dead.offset,
            readable=r is not None,
            stage=None if r is None else r.stage,
            reason=None if r is None else r.reason,
            source_topic=None if r is None else r.source_topic,
            source_partition=None if r is None else r.partition,
            source_offset=None if r is None else r.offset,
            received_at=None if r is None else r.received_at,
            attempt=None if r is None else r.attempt,
            payload_bytes=None if r is None else r.payload_bytes,
            payload_truncated=None if r is None else r.payload_truncated,
            **more,
        )


class DeadLetterDetail(DeadLetterView):
    payload: str | None
    payload_encoding: Literal["utf-8", "base64"] | None
    times_redriven: int


class DeadLetterPage(BaseModel):
    items: list[DeadLetterView]
    next_cursor: str | None


class _Redrive(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: DlqName
    dry_run: StrictBool = False  # 0 or "yes" is not a boolean: refused, not guessed


class RedriveByIds(_Redrive):
    ids: Annotated[list[Id], Field(min_length=1, max_length=1000)]


class RedriveByFilter(_Redrive):
    reason: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    since: Timestamp | None = None
    until: Timestamp | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_REDRIVE_LIMIT, strict=True), WHOLE] = Field(
        default=DEFAULT_REDRIVE_LIMIT,
        description="dead letters examined at most; `next_cursor` continues",
    )
    after: Id | None = Field(default=None, description="`next_cursor` of an earlier redrive")


class RecordResult(BaseModel):
    id: str
    outcome: Outcome
    attempt: int | None


class RedriveResult(BaseModel):
    redrive_id: str
    topic: DlqName
    dry_run: bool
    counts: dict[str, int]
    records: list[RecordResult]
    next_cursor: str | None = Field(
        default=None, description="more were left past `limit`: send it as `after`"
    )


class RedriveRecord(RedriveResult):
    requested_by: str
    requested_at: datetime
    selector: dict[str, Any]


class RedrivePage(BaseModel):
    items: list[RedriveRecord]


TopicQuery = Annotated[DlqName, Query(description="ingest.dlq, scoring.dlq or triggers.dlq")]


@router.get("", response_model=DeadLetterPage, responses=errors(422))
async def list_dead_letters(
    request: Request,
    topic: TopicQuery,
    reason: Annotated[str | None, Query(max_length=64)] = None,
    since: IsoDateTime | None = None,
    until: IsoDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,9}/[0-9]{1,18}$")] = None,
) -> DeadLetterPage:
    """A page in partition/offset order: a scan from the cursor (or from ``since`` by
    the topic's time index) that stops one past the page."""
    settings = get_runtime(request).settings
    target = dlq_topics(settings.topics)[topic]
    selection = Selection(None, reason, since, until)
    shown, after = await page(settings.kafka, target, selection, cursor, limit)
    return DeadLetterPage(items=[DeadLetterView.of(topic, d) for d in shown], next_cursor=after)


@router.get("/redrives", response_model=RedrivePage, responses=errors(422))
async def list_redrive_records(
    session: SessionDep,
    topic: DlqName | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> RedrivePage:
    rows = await list_redrives(session, topic, limit)
    return RedrivePage(items=[RedriveRecord(**_redrive_row(row)) for row in rows])


@router.get(
    "/{topic}/{partition}/{offset}", response_model=DeadLetterDetail, responses=errors(404, 422)
)
async def show_dead_letter(
    request: Request,
    session: SessionDep,
    topic: DlqName,
    partition: Annotated[int, Path(ge=0, le=999_999_999)],
    offset: Annotated[int, Path(ge=0, le=10**18)],
) -> DeadLetterDetail:
    settings = get_runtime(request).settings
    target = dlq_topics(settings.topics)[topic]
    wanted = f"{partition}/{offset}"
    found = await read_ids(settings.kafka, target.kafka_topic, [wanted])
    if not found:
        raise NotFound(f"no dead letter {wanted} in {topic}")
    dead, record = found[0], found[0].record
    redriven = (await times_redriven(session, topic, [wanted])).get(wanted, 0)
    detail: DeadLetterDetail = DeadLetterDetail.of(
        topic,
        dead,
        payload=None if record is None else record.payload,
        payload_encoding=None if record is None else record.payload_encoding,
        times_redriven=redriven,
    )
    return detail


@router.post("/redrive", response_model=RedriveResult, responses=errors(422))
async def redrive_dead_letters(
    body: RedriveByIds | RedriveByFilter, request: Request, session: SessionDep
) -> RedriveResult:
    settings = get_runtime(request).settings
    target = dlq_topics(settings.topics)[body.topic]
    limit, after = DEFAULT_REDRIVE_LIMIT, None
    if isinstance(body, RedriveByIds):
        selection = Selection(ids=body.ids)
    else:
        selection = Selection(None, body.reason, body.since, body.until)
        limit, after = body.limit, body.after
    report = await redrive(
        session,
        settings.kafka,
        target,
        selection,
        dry_run=body.dry_run,
        max_attempts=settings.dlq_max_attempts,
        requested_by=actor(request),
        limit=limit,
        after=after,
    )
    return RedriveResult.model_validate(report, from_attributes=True)


def _redrive_row(row: Any) -> dict[str, Any]:
    return {
        "redrive_id": str(row.redrive_id),
        "topic": row.topic,
        "dry_run": row.dry_run,
        "counts": row.counts,
        "records": row.records,
        "requested_by": row.requested_by,
        "requested_at": row.requested_at,
        "selector": row.selector,
    }
