"""Settings of the console: where the three services answer, and the session key.

The console holds no database URL, no Kafka address and no API token: it reads and
acts with the token each person signs in with, through the services' HTTP APIs.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings.common import MIN_TOKEN_CHARS, PLACEHOLDER_TOKENS, Port


class ConsoleSettings(BaseSettings):
    """``VIGIL_`` variables, like every service (``VIGIL_HTTP_PORT``, ``VIGIL_SCORING_URL``)."""

    model_config = SettingsConfigDict(
        env_prefix="VIGIL_", env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    http_host: str = "127.0.0.1"
    http_port: Port = 8090
    ingest_url: str = "http://127.0.0.1:8081"
    scoring_url: str = "http://127.0.0.1:8082"
    triggers_url: str = "http://127.0.0.1:8083"
    # encrypts and signs the session cookie (any secret of 32+ characters); rotating it
    # signs everyone out
    console_session_key: SecretStr
    console_session_max_age_s: int = Field(default=8 * 3600, ge=60)
    # Secure cookies also over plain http (behind a TLS-terminating proxy that does not
    # say X-Forwarded-Proto); over https they are always Secure
    console_cookie_secure: bool = False
    console_upstream_timeout_s: float = Field(default=5.0, gt=0)
    # the band/segment distribution and the accuracy report are shared by every viewer
    # and cached this long: a page view never counts a million accounts
    console_cache_s: float = Field(default=5.0, ge=0)
    # the model and playbooks pages show an accuracy or feedback report computed up to
    # this long ago (the service computes a newer one in the background): each reads
    # every outcome's history or every episode, seconds of work at a million accounts
    console_report_max_age_s: float = Field(default=600.0, ge=0, le=86400)
    console_page_size: int = Field(default=50, ge=1, le=1000)
    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("console_session_key")
    @classmethod
    def _strong_key(cls, value: SecretStr) -> SecretStr:
        key = value.get_secret_value()
        if key.strip().lower() in PLACEHOLDER_TOKENS or len(key) < MIN_TOKEN_CHARS:
            raise ValueError(
                f"must be a secret of at least {MIN_TOKEN_CHARS} characters"
                " (e.g. `openssl rand -hex 32`)"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        return value.upper()

    def service_urls(self) -> dict[str, str]:
        return {
            "ingest": self.ingest_url.rstrip("/"),
            "scoring": self.scoring_url.rstrip("/"),
            "triggers": self.triggers_url.rstrip("/"),
        }
