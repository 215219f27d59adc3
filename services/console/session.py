"""The console's session: an encrypted, signed cookie, and the CSRF token it carries.

The cookie is a Fernet token (AES-128-CBC and HMAC-SHA256 from ``cryptography``,
already a dependency for webhook secrets): it is signed, so it cannot be forged
or altered, and encrypted, so the Vigil token inside is never readable by the
browser, a proxy log or a screenshot. The console therefore keeps no session
store and any number of console instances share the key. Fernet's timestamp
bounds a session's age. (``itsdangerous`` would only sign: the token would be
readable in the cookie.)

Every form carries the session's CSRF token; a POST without it is refused (the
cookie is also ``SameSite=Strict``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from typing import Literal

import orjson
from cryptography.fernet import Fernet, InvalidToken

Role = Literal["read", "admin"]
COOKIE = "vigil_console"


@dataclass(frozen=True)
class Session:
    csrf: str
    token: str | None = None
    role: Role | None = None

    @property
    def signed_in(self) -> bool:
        return self.token is not None

    @property
    def can_act(self) -> bool:
        return self.role == "admin"

    def with_token(self, token: str, role: Role) -> Session:
        # a new CSRF token at sign-in: one seen before signing in is worth nothing after
        return replace(self, token=token, role=role, csrf=new_csrf())

    def csrf_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.csrf.encode())


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def anonymous() -> Session:
    return Session(csrf=new_csrf())


class SessionCodec:
    """Session <-> cookie value, with the key derived from the configured secret."""

    def __init__(self, secret: str, max_age_s: int) -> None:
        digest = hashlib.sha256(b"vigil-console-session\x00" + secret.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))
        self.max_age_s = max_age_s

    def dump(self, session: Session) -> str:
        body = {"c": session.csrf, "t": session.token, "r": session.role}
        return self._fernet.encrypt(orjson.dumps(body)).decode()

    def load(self, value: str | None) -> Session | None:
        """The session, or None when the cookie is absent, altered, foreign or too old."""
        if not value:
            return None
        try:
            body = orjson.loads(self._fernet.decrypt(value.encode(), ttl=self.max_age_s))
        except (InvalidToken, ValueError):
            return None
        role = body.get("r")
        token = body.get("t")
        csrf = body.get("c")
        if not isinstance(csrf, str) or role not in (None, "read", "admin"):
            return None
        return Session(csrf=csrf, token=token if isinstance(token, str) else None, role=role)
