"""Webhook signing secrets encrypted at rest (Fernet; MultiFernet for key rotation).

``VIGIL_SECRETS_KEY`` holds one or more comma-separated Fernet keys: the first
encrypts, every one decrypts, so a new key is put first and the old one kept
until every row has been re-encrypted (``vigil secrets rotate``, :meth:`SecretBox.reseal`).
Stored values start with ``fernet:``;
a value without it is a plain secret from before encryption (the migration
encrypts those).
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "fernet:"


class SecretBox:
    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ValueError("no Fernet key given")
        try:
            fernets = [Fernet(k.encode()) for k in parts]
        except ValueError as error:
            raise ValueError(
                "each key must be a Fernet key: 32 url-safe base64 bytes"
                " (python -c 'from cryptography.fernet import Fernet;"
                " print(Fernet.generate_key().decode())')"
            ) from error
        self._newest = fernets[0]
        self._fernet = MultiFernet(fernets)

    def seal(self, secret: str) -> str:
        return PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(_token(stored)).decode()
        except InvalidToken:
            raise ValueError("a webhook secret does not decrypt with VIGIL_SECRETS_KEY") from None

    def reseal(self, stored: str) -> str | None:
        """``stored`` encrypted with the newest key, or None when it already is."""
        token = _token(stored)
        try:
            self._newest.decrypt(token)
            return None
        except InvalidToken:
            pass
        try:
            return PREFIX + self._fernet.rotate(token).decode()
        except InvalidToken:
            raise ValueError("a webhook secret does not decrypt with VIGIL_SECRETS_KEY") from None


def _token(stored: str) -> bytes:
    if not stored.startswith(PREFIX):
        raise ValueError("a webhook secret is stored unencrypted: run the migrations")
    return stored.removeprefix(PREFIX).encode()
