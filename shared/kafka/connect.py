"""The one place a Kafka client's connection options are made: brokers, TLS, SASL.

Every producer, consumer and admin client of Vigil (services, lag monitor,
topic creation, CLI, tooling) takes ``**client_options(brokers)``, so a
security setting reaches all of them or none. ``brokers`` is a bare bootstrap
string (PLAINTEXT, as the local stack and the tests use) or a
:class:`~shared.settings.connections.KafkaConnection` built from the settings.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

from aiokafka.abc import AbstractTokenProvider
from aiokafka.helpers import create_ssl_context

from shared.settings.connections import KafkaConnection, KafkaSecurity

Brokers = str | KafkaConnection


def connection_of(brokers: Brokers) -> KafkaConnection:
    return KafkaConnection(bootstrap=brokers) if isinstance(brokers, str) else brokers


def bootstrap_of(brokers: Brokers) -> str:
    return connection_of(brokers).bootstrap


def client_options(brokers: Brokers) -> dict[str, Any]:
    """``bootstrap_servers`` and the security options aiokafka's three clients all take."""
    connection = connection_of(brokers)
    security = connection.security
    options: dict[str, Any] = {
        "bootstrap_servers": connection.bootstrap,
        "security_protocol": security.security_protocol,
    }
    if security.uses_tls:
        options["ssl_context"] = ssl_context(security)
    if security.uses_sasl:
        options["sasl_mechanism"] = security.sasl_mechanism
    if security.uses_sasl and security.sasl_oauth_token_file is not None:
        options["sasl_oauth_token_provider"] = TokenFile(security.sasl_oauth_token_file)
    elif security.uses_sasl:
        assert security.sasl_password is not None  # checked by KafkaSecurity
        options["sasl_plain_username"] = security.sasl_username
        options["sasl_plain_password"] = security.sasl_password.get_secret_value()
    return options


def ssl_context(security: KafkaSecurity) -> ssl.SSLContext:
    """The CA to trust (the system's when none is given), the client certificate for
    mutual TLS, and hostname verification unless turned off."""
    password = security.ssl_key_password
    context: ssl.SSLContext = create_ssl_context(
        cafile=security.ssl_cafile,
        certfile=security.ssl_certfile,
        keyfile=security.ssl_keyfile,
        password=None if password is None else password.get_secret_value(),
    )
    context.check_hostname = security.ssl_check_hostname
    return context


class TokenFile(AbstractTokenProvider):  # type: ignore[misc]  # aiokafka has no types
    """OAUTHBEARER's access token, read from a file at each connection.

    Nothing here fetches or renews tokens: identity providers differ in how
    (client credentials, workload identity, a cloud's own signer), and a
    sidecar or job that rewrites the file serves all of them. Reading the file
    each time means a renewed token is used from the next connection on,
    without a restart.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    async def token(self) -> str:
        text = await asyncio.to_thread(self.path.read_text, encoding="utf-8")
        token = text.strip()
        if not token:
            raise ValueError(f"VIGIL_KAFKA_SASL_OAUTH_TOKEN_FILE {self.path} is empty")
        return token
