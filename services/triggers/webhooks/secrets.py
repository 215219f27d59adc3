"""Webhook signing secrets encrypted at rest (Fernet; MultiFernet for key rotation).

``VIGIL_SECRETS_KEY`` holds one or more comma-separated Fernet keys: the first
encrypts, every one decrypts, so a new key is put first and the old one kept
until every row has been re-encrypted. Stored values start with ``fernet:``;
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
            self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        except ValueError as error:
            raise ValueError(
                "each key must be a Fernet key: 32 url-safe base64 bytes"
                " (python -c 'from cryptography.fernet import Fernet;"
                " print(Fernet.generate_key().decode())')"
            ) from error

    def seal(self, secret: str) -> str:
        return PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            raise ValueError("a webhook secret is stored unencrypted: run the migrations")
        try:
            return self._fernet.decrypt(stored.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise ValueError("a webhook secret does not decrypt with VIGIL_SECRETS_KEY") from None
