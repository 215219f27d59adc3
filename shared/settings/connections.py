"""How Vigil connects to Kafka and PostgreSQL securely: the settings' models.

:class:`shared.settings.common.ConnectionSettings` carries these as flat ``VIGIL_KAFKA_*`` and
``VIGIL_DATABASE_SSL*`` variables and builds them here; the clients are built
from them in :mod:`shared.kafka.connect` and :mod:`shared.database.engine`. docs/security.md
describes each setting.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, FilePath, SecretStr, model_validator

KafkaProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]
SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class KafkaSecurity(BaseModel):
    """How every Kafka client authenticates and checks the broker (docs/security.md).

    The default is PLAINTEXT: no TLS, no authentication. A setting that the
    protocol would ignore is refused, so a half-applied configuration is seen
    at start rather than in production traffic.
    """

    model_config = {"frozen": True}

    security_protocol: KafkaProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    # OAUTHBEARER: a file holding the access token, read again at each connection so
    # that whatever renews the token (a sidecar, a cron job) only has to rewrite it
    sasl_oauth_token_file: FilePath | None = None
    # PEM files; no CA file: the system's trusted CAs
    ssl_cafile: FilePath | None = None
    ssl_certfile: FilePath | None = None
    ssl_keyfile: FilePath | None = None
    ssl_key_password: SecretStr | None = None
    # off only for a broker whose certificate does not name its address (unsafe: a
    # man in the middle with any certificate from the CA is then accepted)
    ssl_check_hostname: bool = True

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSecurity:
        self._check_sasl()
        files = (self.ssl_cafile, self.ssl_certfile, self.ssl_keyfile, self.ssl_key_password)
        if not self.uses_tls and (any(v is not None for v in files) or not self.ssl_check_hostname):
            raise ValueError(
                "VIGIL_KAFKA_SSL_* settings need VIGIL_KAFKA_SECURITY_PROTOCOL SSL or SASL_SSL"
            )
        if self.ssl_certfile is None and (self.ssl_keyfile or self.ssl_key_password):
            raise ValueError("VIGIL_KAFKA_SSL_KEYFILE needs VIGIL_KAFKA_SSL_CERTFILE")
        return self

    def _check_sasl(self) -> None:
        password = (self.sasl_username, self.sasl_password)
        given = (self.sasl_mechanism, *password, self.sasl_oauth_token_file)
        if not self.uses_sasl:
            if any(v is not None for v in given):
                raise ValueError(
                    "VIGIL_KAFKA_SASL_* settings need VIGIL_KAFKA_SECURITY_PROTOCOL "
                    "SASL_PLAINTEXT or SASL_SSL"
                )
        elif self.sasl_mechanism == "OAUTHBEARER":
            if self.sasl_oauth_token_file is None or any(v is not None for v in password):
                raise ValueError(
                    "VIGIL_KAFKA_SASL_MECHANISM=OAUTHBEARER needs VIGIL_KAFKA_SASL_OAUTH_TOKEN_"
                    "FILE, and no VIGIL_KAFKA_SASL_USERNAME or VIGIL_KAFKA_SASL_PASSWORD"
                )
        elif None in (self.sasl_mechanism, *password) or self.sasl_oauth_token_file:
            raise ValueError(
                f"VIGIL_KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs VIGIL_KAFKA_SASL_"
                "MECHANISM, and VIGIL_KAFKA_SASL_USERNAME and VIGIL_KAFKA_SASL_PASSWORD"
                " (a token file only with OAUTHBEARER)"
            )

    def secrets(self) -> list[str]:
        return [s.get_secret_value() for s in (self.sasl_password, self.ssl_key_password) if s]


class KafkaConnection(BaseModel):
    """Where the brokers are and how to talk to them: what every Kafka client is built from."""

    model_config = {"frozen": True}

    bootstrap: str
    security: KafkaSecurity = KafkaSecurity()


class PostgresTls(BaseModel):
    """TLS to PostgreSQL, libpq's settings (docs/security.md); ``sslmode`` None keeps the
    driver's default (asyncpg: ``prefer`` unless ``PGSSLMODE`` says otherwise)."""

    model_config = {"frozen": True}

    sslmode: SslMode | None = None
    # no root certificate: the system's trusted CAs (verify-ca, verify-full)
    sslrootcert: FilePath | None = None
    sslcert: FilePath | None = None
    sslkey: FilePath | None = None
    sslkey_password: SecretStr | None = None

    @model_validator(mode="after")
    def _consistent(self) -> PostgresTls:
        client = (self.sslcert, self.sslkey, self.sslkey_password)
        if any(v is not None for v in (self.sslrootcert, *client)) and self.sslmode is None:
            raise ValueError("VIGIL_DATABASE_SSL* files need VIGIL_DATABASE_SSLMODE")
        if any(v is not None for v in client) and self.sslmode in ("disable", "allow", "prefer"):
            raise ValueError(
                "a client certificate needs VIGIL_DATABASE_SSLMODE require, verify-ca "
                "or verify-full"
            )
        if self.sslcert is None and (self.sslkey or self.sslkey_password):
            raise ValueError("VIGIL_DATABASE_SSLKEY needs VIGIL_DATABASE_SSLCERT")
        return self
