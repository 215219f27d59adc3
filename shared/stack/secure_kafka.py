"""A local broker that only talks TLS and authenticates every client, as a managed Kafka does.

Two client listeners on loopback, both TLS with a certificate from a CA made
here (:mod:`shared.stack.certs`, PEM keystore and truststore):
- ``SASL_SSL``: SCRAM-SHA-512, SCRAM-SHA-256 (users written into the metadata
  log when the storage is formatted), PLAIN and OAUTHBEARER; the broker talks to
  itself on it as user ``broker``. OAUTHBEARER uses Kafka's default validator,
  which accepts *unsecured* (unsigned) JSON Web Tokens: it checks a token's
  shape, subject and expiry, not who issued it; enough to show that a client
  sends the token it is given, and for nothing else;
- ``MTLS`` (protocol SSL): the client must present a certificate from the CA.

No ACLs: any authenticated client may do anything. The controller listener
stays PLAINTEXT on loopback (the node's own quorum; clients never reach it).

The broker's certificate names ``localhost`` only and the listeners are advertised
by that name: a client that reaches it by address is refused unless it turns
hostname verification off, which shows that the check is on.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from shared.settings.connections import KafkaConnection, KafkaSecurity, SaslMechanism
from shared.stack import certs, kafka
from shared.stack.process import free_port

HOST = "localhost"  # the name in the broker's certificate and its advertised listeners
USER = "vigil"
BROKER_USER = "broker"
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"
PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule"
OAUTH = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"


@dataclass(frozen=True)
class SecureKafka:
    """A running secure broker and what a client needs to reach it."""

    process: kafka.KafkaProcess
    sasl_port: int
    mtls_port: int
    ca: certs.Authority
    client: certs.Issued  # signed by ``ca``, for the MTLS listener
    username: str
    password: str

    @property
    def sasl_bootstrap(self) -> str:
        return f"{HOST}:{self.sasl_port}"

    @property
    def mtls_bootstrap(self) -> str:
        return f"{HOST}:{self.mtls_port}"

    def sasl(self, mechanism: SaslMechanism = "SCRAM-SHA-512") -> KafkaConnection:
        """SASL_SSL as user ``vigil`` with ``mechanism``, trusting the stack's CA."""
        return sasl_connection(self.sasl_port, self.ca, self.password, mechanism)

    def oauth(self, token_file: Path) -> KafkaConnection:
        """SASL_SSL with OAUTHBEARER, the token read from ``token_file``."""
        security = KafkaSecurity(
            security_protocol="SASL_SSL",
            sasl_mechanism="OAUTHBEARER",
            sasl_oauth_token_file=token_file,
            ssl_cafile=self.ca.cert,
        )
        return KafkaConnection(bootstrap=self.sasl_bootstrap, security=security)

    def mtls(self) -> KafkaConnection:
        """SSL with the client certificate, trusting the stack's CA."""
        security = KafkaSecurity(
            security_protocol="SSL",
            ssl_cafile=self.ca.cert,
            ssl_certfile=self.client.cert,
            ssl_keyfile=self.client.key,
        )
        return KafkaConnection(bootstrap=self.mtls_bootstrap, security=security)

    def env(self) -> dict[str, str]:
        """The ``VIGIL_KAFKA_*`` settings of a service using the SASL_SSL listener."""
        return {
            "VIGIL_KAFKA_BOOTSTRAP": self.sasl_bootstrap,
            "VIGIL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "VIGIL_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "VIGIL_KAFKA_SASL_USERNAME": self.username,
            "VIGIL_KAFKA_SASL_PASSWORD": self.password,
            "VIGIL_KAFKA_SSL_CAFILE": str(self.ca.cert),
        }


def start(libs: Path, data_dir: Path, *, timeout_s: float = 120.0) -> SecureKafka:
    """Make the CA and certificates under ``data_dir/tls``, format the storage with the
    SCRAM users, start the broker and wait until an authenticated client is answered."""
    tls = data_dir / "tls"
    ca = certs.make_ca(tls)
    server = certs.issue(ca, tls, "broker", hosts=(HOST,))
    client = certs.issue(ca, tls, USER, client=True)
    password, broker_password = secrets.token_hex(16), secrets.token_hex(16)
    sasl_port, mtls_port, controller_port = free_port(), free_port(), free_port()
    overrides = _listeners(sasl_port, mtls_port, controller_port) | _tls(ca, server)
    overrides |= _sasl(password, broker_password)
    scram = tuple(
        f"{mechanism}=[name={name},password={secret}]"
        for mechanism in ("SCRAM-SHA-512", "SCRAM-SHA-256")
        for name, secret in ((USER, password), (BROKER_USER, broker_password))
    )
    process = kafka.start(
        libs,
        data_dir,
        ports=(sasl_port, controller_port),
        timeout_s=timeout_s,
        overrides=overrides,
        scram=scram,
        client=sasl_connection(sasl_port, ca, password),
    )
    return SecureKafka(process, sasl_port, mtls_port, ca, client, USER, password)


def sasl_connection(
    port: int, ca: certs.Authority, password: str, mechanism: SaslMechanism = "SCRAM-SHA-512"
) -> KafkaConnection:
    security = KafkaSecurity(
        security_protocol="SASL_SSL",
        sasl_mechanism=mechanism,
        sasl_username=USER,
        sasl_password=SecretStr(password),
        ssl_cafile=ca.cert,
    )
    return KafkaConnection(bootstrap=f"{HOST}:{port}", security=security)


def connection_from_env(bootstrap: str, env: Mapping[str, str]) -> KafkaConnection:
    """A connection from ``VIGIL_KAFKA_*`` client settings (as :meth:`SecureKafka.env`)."""
    fields = {k.removeprefix("VIGIL_KAFKA_").lower(): v for k, v in env.items()}
    fields.pop("bootstrap", None)
    return KafkaConnection(bootstrap=bootstrap, security=KafkaSecurity.model_validate(fields))


def unsecured_token(subject: str, lifetime_s: int = 3600) -> str:
    """An unsigned JSON Web Token (``alg`` none) for the stack's OAUTHBEARER listener only:
    an identity provider's tokens are signed, and a broker set up for them refuses these."""

    def part(claims: Mapping[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    now = int(time.time())
    payload = {"sub": subject, "iat": now, "exp": now + lifetime_s}
    return f"{part({'alg': 'none'})}.{part(payload)}."


def _listeners(sasl_port: int, mtls_port: int, controller_port: int) -> dict[str, str]:
    bound = f"SASL_SSL://127.0.0.1:{sasl_port},MTLS://127.0.0.1:{mtls_port}"
    return {
        "listeners": f"{bound},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"SASL_SSL://{HOST}:{sasl_port},MTLS://{HOST}:{mtls_port}",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,MTLS:SSL",
        "inter.broker.listener.name": "SASL_SSL",
        "listener.name.mtls.ssl.client.auth": "required",
    }


def _tls(ca: certs.Authority, server: certs.Issued) -> dict[str, str]:
    # PEM stores (Kafka >= 2.7): the key and chain in one file, the CA as the truststore
    return {
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(server.chain),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(ca.cert),
        "ssl.endpoint.identification.algorithm": "https",
    }


def _sasl(password: str, broker_password: str) -> dict[str, str]:
    prefix = "listener.name.sasl_ssl"
    broker_login = f'username="{BROKER_USER}" password="{broker_password}"'
    plain_users = f'user_{BROKER_USER}="{broker_password}" user_{USER}="{password}"'
    return {
        "sasl.enabled.mechanisms": "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN,OAUTHBEARER",
        "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
        f"{prefix}.scram-sha-512.sasl.jaas.config": f"{SCRAM} required {broker_login};",
        f"{prefix}.scram-sha-256.sasl.jaas.config": f"{SCRAM} required;",
        f"{prefix}.plain.sasl.jaas.config": f"{PLAIN} required {broker_login} {plain_users};",
        # no server callback handler set: Kafka validates unsecured tokens (see above)
        f"{prefix}.oauthbearer.sasl.jaas.config": (
            f'{OAUTH} required unsecuredLoginStringClaim_sub="{BROKER_USER}";'
        ),
    }
