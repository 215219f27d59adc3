"""The pages: every read is a GET that works with JavaScript off."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.console import charts, pipeline_view
from services.console.panels import Panel, panel, panels
from services.console.upstream import NotAvailable, segment
from services.console.web import console, render, signed_in, token_of

router = APIRouter()
SORTS = ("account_id", "score", "-score")
STATUSES = ("open", "resolved", "closed", "held_back")
# "segment" is also the name of the path-segment quoting helper
SegmentParam = Annotated[str, Query(alias="segment")]
HISTORY_DAYS = 90
SERVICES = ("ingest", "scoring", "triggers")


@router.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    return RedirectResponse("/accounts", status_code=303)


@router.get("/accounts", response_class=HTMLResponse)
async def accounts(
    request: Request,
    band: str = "",
    segment_: SegmentParam = "",
    sort: str = "account_id",
    q: str = "",
    cursor: str | None = None,
) -> HTMLResponse:
    """A form sends "" for "any": values off the lists mean no filter, not an error page."""
    session = signed_in(request)
    band_, seg_ = _pick(band, pipeline_view.BANDS), pipeline_view.segment_filter(segment_)
    sort = _pick(sort, SORTS) or "account_id"
    c = console(request)
    prefix = q.strip()[:128]
    params: dict[str, Any] = {
        "band": band_,
        "segment": seg_,
        "sort": "account_id" if prefix else sort,
        "limit": c.settings.console_page_size,
        "cursor": cursor or (_start_at(prefix) if prefix else None),
    }
    token = token_of(session)
    listing, exact, counts = await panels(
        c.upstream.get("scoring", "/v1/accounts", token, params),
        _exact(request, token, prefix) if prefix and not cursor else _nothing(),
        c.cache.get("distribution", lambda: _distribution(request)),
    )
    items = list(listing.value["items"]) if listing.ok else []
    if prefix:
        items = [i for i in items if i["account_id"].startswith(prefix)]
        if exact.ok and exact.value:
            items.insert(0, exact.value)
    next_cursor = listing.value.get("next_cursor") if listing.ok else None
    if prefix and len(items) < c.settings.console_page_size:
        next_cursor = None
    filters = {"band": band_, "segment": seg_, "sort": sort, "q": prefix}
    return render(
        request,
        "accounts.html",
        session,
        listing=listing,
        items=items,
        next_cursor=next_cursor,
        filters=filters,
        counts=counts,
        bands=pipeline_view.BANDS,
        segments=pipeline_view.segments_of(counts.value if counts.ok else {}),
        sorts=SORTS,
    )


def _pick(value: str, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None


def _start_at(prefix: str) -> str:
    """A scoring cursor at ``prefix`` in account-id order: scoring's position
    ``<score>~<account id as hex UTF-8>`` (a sort by id ignores the score); the ids
    after it follow, and the exact id is asked for on its own (``_exact``)."""
    return "0~" + prefix.replace("\x00", "").encode().hex()


async def _exact(request: Request, token: str, account_id: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = await console(request).upstream.get(
            "scoring", f"/v1/accounts/{segment(account_id)}/health", token
        )
    except NotAvailable:
        return None
    return found


async def _nothing() -> None:
    return None


async def _distribution(request: Request) -> dict[str, dict[str, int]]:
    return pipeline_view.distribution(await console(request).upstream.metrics("scoring"))


@router.get("/accounts/{account_id:path}", response_class=HTMLResponse)
async def account(request: Request, account_id: str) -> HTMLResponse:
    session = signed_in(request)
    up, token, key = console(request).upstream, token_of(session), segment(account_id)
    # one round of calls: the history since 90 days before now, asked beside the health
    since = (datetime.now(UTC) - timedelta(days=HISTORY_DAYS)).isoformat()
    health, history, open_, past, overrides = await panels(
        up.get("scoring", f"/v1/accounts/{key}/health", token),
        up.get("scoring", f"/v1/accounts/{key}/health/history", token, {"since": since}),
        _episodes(request, token, account_id, "open"),
        _past_episodes(request, token, account_id),
        up.get("scoring", f"/v1/accounts/{key}/overrides", token),
    )
    if health.missing:
        return render(request, "missing.html", session, 404, what=f"account {account_id}")
    if history.ok and not history.value and _since(health):
        # quiet for 90 days: its last 90 days of changes, before its last score
        history = await panel(
            up.get(
                "scoring", f"/v1/accounts/{key}/health/history", token, {"since": _since(health)}
            )
        )
    chart = charts.score_history(history.value) if history.ok else None
    return render(
        request,
        "account.html",
        session,
        account_id=account_id,
        health=health,
        chart=chart,
        history=history,
        open_episodes=open_,
        past_episodes=past,
        overrides=overrides,
        history_days=HISTORY_DAYS,
    )


def _since(health: Panel) -> str | None:
    as_of = health.value.get("as_of") if health.ok else None
    if not as_of:
        return None
    return (datetime.fromisoformat(as_of) - timedelta(days=HISTORY_DAYS)).isoformat()


async def _episodes(
    request: Request, token: str, account_id: str, status: str, limit: int = 20
) -> list[dict[str, Any]]:
    params = {"account_id": account_id, "status": status, "limit": limit}
    page = await console(request).upstream.get("triggers", "/v1/playbooks/episodes", token, params)
    return list(page["items"])


async def _past_episodes(request: Request, token: str, account_id: str) -> list[dict[str, Any]]:
    resolved, closed = await asyncio.gather(
        _episodes(request, token, account_id, "resolved"),
        _episodes(request, token, account_id, "closed"),
    )
    return sorted(resolved + closed, key=lambda e: str(e.get("opened_at")), reverse=True)


@router.get("/playbooks", response_class=HTMLResponse)
async def playbooks(
    request: Request,
    status: str = "open",
    playbook: str = "",
    segment_: SegmentParam = "",
    account_id: str = "",
    cursor: str | None = None,
) -> HTMLResponse:
    session = signed_in(request)
    status = _pick(status, STATUSES) or "open"
    up, token = console(request).upstream, token_of(session)
    params = {
        "status": status,
        "playbook": playbook.strip()[:64],
        "segment": pipeline_view.segment_filter(segment_),
        "account_id": account_id.strip()[:128],
        "limit": console(request).settings.console_page_size,
        "cursor": cursor,
    }
    queue, feedback, counts = await panels(
        up.get("triggers", "/v1/playbooks/episodes", token, params),
        up.get("triggers", "/v1/playbooks/feedback", token, _report_age(request)),
        console(request).cache.get("distribution", lambda: _distribution(request)),
    )
    items = sorted(queue.value["items"], key=_due) if queue.ok else []
    return render(
        request,
        "playbooks.html",
        session,
        queue=queue,
        items=items,
        next_cursor=queue.value.get("next_cursor") if queue.ok else None,
        feedback=feedback,
        filters={k: params[k] for k in ("status", "playbook", "segment", "account_id")},
        segments=pipeline_view.segments_of(counts.value if counts.ok else {})[:-1],
        statuses=STATUSES,
    )


def _due(episode: dict[str, Any]) -> str:
    return str(episode.get("due_by") or "9999")


@router.get("/pipeline", response_class=HTMLResponse)
async def pipeline(request: Request) -> HTMLResponse:
    session = signed_in(request)
    up, token = console(request).upstream, token_of(session)
    # one round: each service's readiness and metrics beside the triggers lists
    probes, (*metrics, subscriptions, held_back) = await asyncio.gather(
        asyncio.gather(*(up.readiness(name) for name in SERVICES)),
        panels(
            *(_metrics(request, name) for name in SERVICES),
            _subscriptions(request, token),
            up.get(
                "triggers", "/v1/playbooks/episodes", token, {"status": "held_back", "limit": 20}
            ),
        ),
    )
    return render(
        request,
        "pipeline.html",
        session,
        services=list(zip(SERVICES, probes, metrics, strict=True)),
        subscriptions=subscriptions,
        held_back=held_back,
    )


async def _metrics(request: Request, service: str) -> pipeline_view.ServiceMetrics:
    text = await console(request).upstream.metrics(service)
    return pipeline_view.summarize(service, text)


async def _subscriptions(request: Request, token: str) -> list[dict[str, Any]]:
    """Every subscription; the failing deliveries of those failing or disabled (20 at most)."""
    up = console(request).upstream
    subs: list[dict[str, Any]] = await up.get("triggers", "/v1/webhooks/subscriptions", token)
    failing = [s for s in subs if s.get("failing_since") or s.get("disabled_at")][:20]
    found = await panels(
        *(
            up.get(
                "triggers",
                f"/v1/webhooks/subscriptions/{segment(s['id'])}/deliveries",
                token,
                {"limit": 10},
            )
            for s in failing
        )
    )
    deliveries = {s["id"]: _with_errors(p) for s, p in zip(failing, found, strict=True)}
    return [s | {"failed": deliveries.get(s["id"])} for s in subs]


def _with_errors(found: Panel) -> Panel:
    """The recent deliveries that failed an attempt (retrying or failed for good)."""
    if not found.ok:
        return found
    return Panel([d for d in found.value if d.get("last_error") or d.get("status") == "failed"])


@router.get("/model", response_class=HTMLResponse)
async def model(request: Request) -> HTMLResponse:
    session = signed_in(request)
    c = console(request)
    token = token_of(session)
    accuracy, shadow = await panels(
        c.cache.get("accuracy", lambda: _accuracy(request, token)),
        c.upstream.get("scoring", "/v1/model/shadow", token),
    )
    horizons = accuracy.value.get("horizons", []) if accuracy.ok else []
    plots = [charts.calibration(h.get("deciles") or []) for h in horizons]
    return render(
        request,
        "model.html",
        session,
        accuracy=accuracy,
        horizons=list(zip(horizons, plots, strict=True)),
        shadow=shadow,
    )


async def _accuracy(request: Request, token: str) -> dict[str, Any]:
    up = console(request).upstream
    report: dict[str, Any] = await up.get(
        "scoring", "/v1/model/accuracy", token, _report_age(request)
    )
    return report


def _report_age(request: Request) -> dict[str, Any]:
    """Reports that aggregate everything (accuracy, feedback): one computed lately will do."""
    return {"max_age_s": console(request).settings.console_report_max_age_s}
