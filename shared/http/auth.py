"""Bearer tokens: which token opens which route, and who made a request."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any, Literal

from fastapi import Depends, Request
from pydantic import SecretStr

from shared.errors import (
    InvalidInput,
    Unauthorized,
)
from shared.settings.common import CommonSettings

# read: GET routes; write: posting events and acting on playbook episodes; admin:
# everything (config, clock, webhooks).
# ``auto`` picks read for GET/HEAD and admin for any other method.
Access = Literal["read", "write", "admin", "auto"]
SAFE_METHODS = frozenset({"GET", "HEAD"})


def _tokens_for(
    settings: CommonSettings, access: Literal["read", "write", "admin"]
) -> list[tuple[bytes, str]]:
    """(token, who) pairs that open ``access``; who names the role and a token fingerprint."""
    tokens: list[tuple[str, SecretStr | None]] = [("admin", settings.api_token)]
    if access == "read":
        tokens.append(("read", settings.read_token))
    if access == "write":
        tokens.append(("write", settings.write_token))
    return [(t.get_secret_value().encode(), _who(role, t)) for role, t in tokens if t is not None]


def _who(role: str, token: SecretStr) -> str:
    digest = hashlib.sha256(token.get_secret_value().encode()).hexdigest()[:12]
    return f"{role} token sha256:{digest}"


def actor(request: Request) -> str:
    """Who made this request (recorded with config changes): the role and token fingerprint."""
    return str(getattr(request.state, "actor", "unknown"))


def bearer_auth(settings: CommonSettings, access: Access = "auto") -> Callable[[Request], None]:
    """A dependency that raises 401 unless ``Authorization: Bearer <token>`` opens the route."""
    by_access = {level: _tokens_for(settings, level) for level in ("read", "write", "admin")}

    def check(request: Request) -> None:
        level = access
        if level == "auto":
            level = "read" if request.method in SAFE_METHODS else "admin"
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        given = token.strip().encode()
        # every candidate compared in constant time, none skipped: timing says nothing
        matches = [(hmac.compare_digest(given, t), who) for t, who in by_access[level]]
        matched = [who for ok, who in matches if ok]
        if scheme.lower() != "bearer" or not matched:
            raise Unauthorized("missing or invalid bearer token")
        request.state.actor = matched[0]

    return check


def no_nul_characters(request: Request) -> None:
    """PostgreSQL text cannot hold NUL: refuse it in the path or query with 422, not a 500."""
    if "\x00" in request.url.path or "%00" in str(request.url.query):
        raise InvalidInput("NUL characters are not allowed in the path or query")


def protected(settings: CommonSettings, access: Access = "auto") -> list[Any]:
    """Router dependencies for everything under ``/v1``: auth first, then input hygiene."""
    return [Depends(bearer_auth(settings, access)), Depends(no_nul_characters)]
