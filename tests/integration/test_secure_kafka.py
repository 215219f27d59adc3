"""The pipeline through a broker that only speaks SASL_SSL and mutual TLS, and the clients
it refuses. The broker is this module's own (shared/stack/secure_kafka.py), beside the
suite's PLAINTEXT one; PostgreSQL is the suite's."""

from __future__ import annotations

import logging
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, KafkaError
from pydantic import SecretStr

from services.ingest.app import create_app as ingest_app
from services.ingest.config import IngestSettings
from services.scoring.app import create_app as scoring_app
from services.scoring.config import ScoringSettings
from services.triggers.app import create_app as triggers_app
from services.triggers.config import TriggersSettings
from shared.database.engine import create_engine
from shared.kafka.clients import client_options, ensure_topics
from shared.settings.connections import KafkaConnection, KafkaSecurity
from shared.stack import StackConfig, kafka, secure_kafka
from shared.stack.process import stop_process
from tests.integration.kafka_io import produce, read_topic
from tests.integration.keys import SECRETS_KEY
from tests.support.drain import wait_drained
from tests.support.workload import events, make_workload

REPO = Path(__file__).resolve().parents[2]
TOKEN = "test-token-secure-0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def secure() -> Iterator[secure_kafka.SecureKafka]:
    config = StackConfig.from_env(REPO)
    libs = kafka.resolve_libs(
        config.kafka_version, config.kafka_cache, config.kafka_home, lambda _line: None
    )
    # not pytest's tmp_path: a concurrent pytest run may remove its older folders
    with tempfile.TemporaryDirectory(prefix="vigil-secure-kafka-") as folder:
        broker = secure_kafka.start(libs, Path(folder))
        try:
            yield broker
        finally:
            stop_process(broker.process.pid)


def _settings(secure: secure_kafka.SecureKafka) -> dict[str, str]:
    """The services' settings for the SASL_SSL listener, from the variables a user sets."""
    return {name.removeprefix("VIGIL_").lower(): value for name, value in secure.env().items()}


async def test_the_pipeline_runs_over_sasl_ssl_with_lag_and_readiness(
    secure, topic_names, database
) -> None:
    connection = secure.sasl()
    await ensure_topics(connection, topic_names.model_dump().values())
    workload = make_workload(6, 10, seed=11, end=datetime.now(UTC))
    raw = list(events(workload, seed=11))
    by_source = topic_names.topic_of_source()
    await produce(
        connection, [(by_source[s], e["account_id"].encode(), orjson.dumps(e)) for s, e in raw]
    )
    suffix = uuid.uuid4().hex[:6]
    groups = {name: f"{name}-{suffix}" for name in ("ingest", "scoring", "triggers")}
    common: dict[str, Any] = {
        **_settings(secure),
        "database_url": database,
        "api_token": TOKEN,
        "topics": topic_names,
        "lag_interval_s": 0.5,
    }
    stateful: dict[str, Any] = {"clock_enabled": False, "outbox_poll_interval_s": 0.1}
    apps = [
        ingest_app(IngestSettings(**common, group_id=groups["ingest"], instance_id=suffix)),
        scoring_app(ScoringSettings(**common, **stateful, group_id=groups["scoring"])),
        triggers_app(
            TriggersSettings(
                **common, **stateful, group_id=groups["triggers"], secrets_key=SECRETS_KEY
            )
        ),
    ]
    engine = create_engine(database, pool_size=1)
    try:
        async with AsyncExitStack() as stack:
            for app in apps:
                await stack.enter_async_context(app.router.lifespan_context(app))
            await wait_drained(engine, connection, topic_names.model_dump(), groups, timeout_s=120)
            pages = [await _probe(app) for app in apps]
    finally:
        await engine.dispose()
    changes = await read_topic(
        connection, topic_names.health_changes, until=lambda r: len(r) >= 6, timeout_s=10
    )
    assert {orjson.loads(r.value)["account_id"] for r in changes} == {
        a.account_id for a in workload.accounts
    }
    for ready, metrics in pages:
        assert ready.status_code == 200, ready.text
        # the lag monitor's own clients reached the broker: a lag line per input partition
        assert re.search(rf'consumer_lag_messages\{{[^}}]*\.{topic_names.signals[-8:]}"', metrics)


async def _probe(app) -> tuple[httpx.Response, str]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        return await client.get("/readyz"), (await client.get("/metrics")).text


async def test_hostname_verification_can_be_turned_off(secure) -> None:
    """Unsafe, documented as such: the address 127.0.0.1 is not in the certificate."""
    unchecked = secure.sasl().security.model_copy(update={"ssl_check_hostname": False})
    by_address = KafkaConnection(bootstrap=f"127.0.0.1:{secure.sasl_port}", security=unchecked)
    admin = AIOKafkaAdminClient(**client_options(by_address), request_timeout_ms=5000)
    try:
        await admin.start()
        assert len((await admin.describe_cluster())["brokers"]) == 1
    finally:
        await admin.close()


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "PLAIN"])
async def test_every_sasl_mechanism_and_mutual_tls_carry_records(
    secure, topic_names, mechanism
) -> None:
    for connection in (secure.sasl(mechanism), secure.mtls()):
        topic = f"{topic_names.signals}.{connection.security.security_protocol}"
        await ensure_topics(connection, [topic], partitions=1)
        await produce(connection, [(topic, b"k", b"v")])
        (record,) = await read_topic(connection, topic, until=bool, partitions=1)
        assert record.value == b"v"


async def test_oauthbearer_sends_the_token_in_the_file_read_again_at_each_connection(
    secure, topic_names, tmp_path: Path
) -> None:
    """The listener validates unsecured tokens (shape, subject, expiry): one that has
    expired gets no answer, and the same settings connect once the file holds a fresh one.

    aiokafka does not read the broker's refusal of a token (it sends its next request
    instead of ending the exchange), so the refused client sees no cluster rather than
    an authentication error; the broker's log says which tokens it accepted."""
    token_file = tmp_path / "token"
    token_file.write_text(secure_kafka.unsecured_token("vigil", lifetime_s=-60))
    connection = secure.oauth(token_file)
    refused = AIOKafkaAdminClient(**client_options(connection), request_timeout_ms=5000)
    with pytest.raises(KafkaError):
        try:
            await refused.start()
            await refused.describe_cluster()
        finally:
            await refused.close()
    assert not _accepted_tokens(secure)

    token_file.write_text(secure_kafka.unsecured_token("vigil") + "\n")
    topic = f"{topic_names.signals}.oauth"
    await ensure_topics(connection, [topic], partitions=1)
    await produce(connection, [(topic, b"k", b"v")])
    (record,) = await read_topic(connection, topic, until=bool, partitions=1)
    assert record.value == b"v"
    assert _accepted_tokens(secure)


def _accepted_tokens(secure: secure_kafka.SecureKafka) -> list[str]:
    log = secure.process.log.read_text(errors="replace")
    return re.findall(r"Successfully validated token with principal vigil", log)


Refused = Callable[[secure_kafka.SecureKafka], KafkaConnection]


def _wrong_password(s: secure_kafka.SecureKafka) -> KafkaConnection:
    security = s.sasl().security.model_copy(update={"sasl_password": SecretStr("not-it")})
    return KafkaConnection(bootstrap=s.sasl_bootstrap, security=security)


def _no_credentials(s: secure_kafka.SecureKafka) -> KafkaConnection:
    security = KafkaSecurity(security_protocol="SSL", ssl_cafile=s.ca.cert)
    return KafkaConnection(bootstrap=s.sasl_bootstrap, security=security)


def _plaintext(s: secure_kafka.SecureKafka) -> KafkaConnection:
    return KafkaConnection(bootstrap=s.sasl_bootstrap)


def _without_the_ca(s: secure_kafka.SecureKafka) -> KafkaConnection:
    security = s.sasl().security.model_copy(update={"ssl_cafile": None})
    return KafkaConnection(bootstrap=s.sasl_bootstrap, security=security)


def _by_address(s: secure_kafka.SecureKafka) -> KafkaConnection:
    """The broker's certificate names localhost, not 127.0.0.1."""
    return KafkaConnection(bootstrap=f"127.0.0.1:{s.sasl_port}", security=s.sasl().security)


def _mtls_without_a_certificate(s: secure_kafka.SecureKafka) -> KafkaConnection:
    security = KafkaSecurity(security_protocol="SSL", ssl_cafile=s.ca.cert)
    return KafkaConnection(bootstrap=s.mtls_bootstrap, security=security)


@pytest.mark.parametrize(
    ("connect", "why"),
    [
        (_wrong_password, "SaslAuthenticationFailed: Authentication failed"),
        (_no_credentials, "closed"),
        (_plaintext, "closed"),
        (_without_the_ca, "CERTIFICATE_VERIFY_FAILED"),
        (_by_address, "IP address mismatch"),
        (_mtls_without_a_certificate, "closed"),
    ],
)
async def test_a_client_without_the_right_credentials_is_refused(
    secure, connect: Refused, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    admin = AIOKafkaAdminClient(**client_options(connect(secure)), request_timeout_ms=5000)
    with caplog.at_level(logging.WARNING, logger="aiokafka"), pytest.raises(KafkaConnectionError):
        try:
            await admin.start()
        finally:
            await admin.close()
    assert why in caplog.text, caplog.text
