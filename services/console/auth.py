"""Signing in with a Vigil token, and out.

The token is checked against scoring: a read of one account page proves it
opens reads; an admin-only route called without its required body (a config
update with no config) tells an admin token (422: past the auth check, refused
for the missing input, nothing done) from a read token (401). The probe must be a
route whose body is required: one that defaults its input would act. A write
token cannot read scoring: it cannot sign in.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.console.session import Role, anonymous
from services.console.upstream import Refused, ServiceDown, Upstream
from services.console.web import (
    Forbidden,
    console,
    read_form,
    render,
    see_other,
    session_of,
    store,
)

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", session_of(request))


@router.post("/login", response_model=None)
async def login(request: Request) -> Response:
    session = session_of(request)
    form = await read_form(request)
    if not session.csrf_ok(form.get("csrf")):
        raise Forbidden("the form's CSRF token is missing or wrong; reload the page")
    token = form.get("token", "").strip()
    try:
        role = await role_of(console(request).upstream, token) if token else None
    except ServiceDown as error:
        return render(request, "login.html", session, 503, error=str(error))
    if role is None:
        return render(request, "login.html", session, 401, error="this token is not accepted")
    response = see_other("/accounts")
    store(request, response, session.with_token(token, role))
    return response


@router.post("/logout", response_model=None)
async def logout(request: Request) -> Response:
    session = session_of(request)
    form = await read_form(request)
    if not session.csrf_ok(form.get("csrf")):
        raise Forbidden("the form's CSRF token is missing or wrong; reload the page")
    response = see_other("/login")
    store(request, response, anonymous())
    return response


async def role_of(upstream: Upstream, token: str) -> Role | None:
    """What ``token`` may do, asked of scoring; None when it cannot read."""
    try:
        await upstream.get("scoring", "/v1/accounts", token, {"limit": 1})
    except Refused:
        return None
    status = await upstream.status_of("scoring", "PUT", "/v1/config/scoring", token)
    return "admin" if status == 422 else "read"
