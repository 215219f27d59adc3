"""The forms that act: playbook lifecycle, overrides, promoting the shadow model.

Each is a POST with the session's CSRF token, by a session whose token acts;
the service behind decides (and refuses what it must); the answer is a redirect
back to the page (post/redirect/get), or the service's refusal shown as text.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console.session import Session
from services.console.upstream import UpstreamError, segment
from services.console.web import acting, back_to, console, render, see_other, token_of

router = APIRouter()
EPISODE_ACTIONS = ("acknowledge", "assign", "snooze", "close")
# the fields each kind takes (the service refuses any other)
OVERRIDE_FIELDS = {
    "pin_band": ("band",),
    "adjust_score": ("delta",),
    "adjust_component": ("delta", "component"),
}


def _episode_body(action: str, form: dict[str, str]) -> dict[str, Any]:
    if action == "assign":
        return {"owner": form.get("owner", "")}
    if action == "snooze":
        return {"until": _with_zone(form.get("until", ""))}
    if action == "close":
        return {"resolution": form.get("resolution", ""), "note": form.get("note", "")}
    return {}


def _with_zone(value: str) -> str:
    """A browser's datetime-local has no offset; the console speaks UTC."""
    value = value.strip()
    if value and len(value) <= 19 and "T" in value:
        return value + ("Z" if len(value) > 16 else ":00Z")
    return value


def _override_body(form: dict[str, str]) -> dict[str, Any]:
    kind = form.get("kind", "")
    fields = ("kind", "reason", "expires_at", *OVERRIDE_FIELDS.get(kind, ()))
    body: dict[str, Any] = {k: form.get(k, "").strip() for k in fields}
    if "delta" in body:
        with suppress(ValueError):  # else the service says what is wrong with it
            body["delta"] = float(body["delta"])
    if "expires_at" in body:
        body["expires_at"] = _with_zone(body["expires_at"])
    return body


async def _call(
    request: Request, session: Session, back: str, service: str, method: str, path: str, body: Any
) -> Response:
    try:
        await console(request).upstream.request(service, method, path, token_of(session), json=body)
    except UpstreamError as error:
        status = error.status if error.status and 400 <= error.status < 500 else 502
        return render(request, "refused.html", session, status, error=str(error), back=back)
    return see_other(back)


@router.post("/playbooks/episodes/{episode_id:path}/{action}", response_model=None)
async def episode_action(request: Request, episode_id: str, action: str) -> Response:
    session, form = await acting(request)
    back = back_to(form, "/playbooks")
    if action not in EPISODE_ACTIONS:
        return render(request, "refused.html", session, 404, error="no such action", back=back)
    path = f"/v1/playbooks/episodes/{segment(episode_id)}/{action}"
    return await _call(
        request, session, back, "triggers", "POST", path, _episode_body(action, form)
    )


@router.post("/accounts/{account_id:path}/overrides", response_model=None)
async def add_override(request: Request, account_id: str) -> Response:
    session, form = await acting(request)
    back = back_to(form, f"/accounts/{segment(account_id)}")
    path = f"/v1/accounts/{segment(account_id)}/overrides"
    return await _call(request, session, back, "scoring", "POST", path, _override_body(form))


@router.post("/accounts/{account_id:path}/overrides/{override_id}/remove", response_model=None)
async def remove_override(request: Request, account_id: str, override_id: str) -> Response:
    session, form = await acting(request)
    back = back_to(form, f"/accounts/{segment(account_id)}")
    path = f"/v1/accounts/{segment(account_id)}/overrides/{segment(override_id)}"
    return await _call(request, session, back, "scoring", "DELETE", path, None)


@router.post("/model/promote", response_model=None)
async def promote(request: Request) -> Response:
    session, _form = await acting(request)
    return await _call(
        request, session, "/model", "scoring", "POST", "/v1/model/shadow/promote", None
    )
