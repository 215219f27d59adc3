"""What every console route shares: the session, rendering, forms, the CSRF check."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from services.console.config import ConsoleSettings
from services.console.session import COOKIE, Session, SessionCodec, anonymous
from services.console.upstream import TtlCache, Upstream

TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM_BYTES = 16_384


@dataclass(frozen=True)
class Console:
    settings: ConsoleSettings
    upstream: Upstream
    codec: SessionCodec
    templates: Jinja2Templates
    cache: TtlCache


class SignInRequired(Exception):
    """A page asked for without a session: the answer is the sign-in page."""


class Forbidden(Exception):
    """A POST without its CSRF token, or by a read-only session: 403."""


def templates() -> Jinja2Templates:
    # autoescape on for every template: whatever an event carried renders as text
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    env.filters["seg"] = lambda value: quote(str(value), safe="")
    env.filters["num"] = _num
    return Jinja2Templates(env=env)


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{float(value):,.{digits}f}"


def console(request: Request) -> Console:
    found: Console = request.app.state.console
    return found


def session_of(request: Request) -> Session:
    loaded = console(request).codec.load(request.cookies.get(COOKIE))
    return loaded or anonymous()


def signed_in(request: Request) -> Session:
    session = session_of(request)
    if not session.signed_in:
        raise SignInRequired
    return session


def token_of(session: Session) -> str:
    assert session.token is not None
    return session.token


def render(
    request: Request, name: str, session: Session, status: int = 200, **context: Any
) -> HTMLResponse:
    page = console(request).templates.TemplateResponse(
        request,
        name,
        {"session": session, "csrf": session.csrf, "can_act": session.can_act, **context},
        status_code=status,
    )
    store(request, page, session)
    return page


def store(request: Request, response: Response, session: Session | None) -> None:
    """Set (or, with None, clear) the session cookie on ``response``."""
    settings = console(request).settings
    secure = request.url.scheme == "https" or settings.console_cookie_secure
    if session is None:
        response.delete_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="strict")
        return
    response.set_cookie(
        COOKIE,
        console(request).codec.dump(session),
        max_age=settings.console_session_max_age_s,
        path="/",
        secure=secure,
        httponly=True,
        samesite="strict",
    )


async def read_form(request: Request) -> dict[str, str]:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise Forbidden("form too large")
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


async def acting(request: Request) -> tuple[Session, dict[str, str]]:
    """A POST that changes something: signed in, its CSRF token, and a token that acts."""
    session = signed_in(request)
    form = await read_form(request)
    if not session.csrf_ok(form.get("csrf")):
        raise Forbidden("the form's CSRF token is missing or wrong; reload the page")
    if not session.can_act:
        raise Forbidden("this token can read but not act; sign in with the admin token")
    return session, form


def back_to(form: dict[str, str], default: str) -> str:
    """Where a form returns: a path of this console only, never another site."""
    target = form.get("back", "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)
