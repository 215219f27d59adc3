"""Kafka and PostgreSQL security settings: defaults unchanged, what is refused, what is built."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from shared.database.engine import connect_args
from shared.kafka.connect import TokenFile, client_options
from shared.settings.common import CommonSettings, explain
from shared.settings.connections import KafkaConnection, KafkaSecurity, PostgresTls
from shared.stack import certs

TOKEN = "t" * 40


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[certs.Authority, certs.Issued]:
    directory = tmp_path_factory.mktemp("pki")
    ca = certs.make_ca(directory)
    return ca, certs.issue(ca, directory, "client", client=True, password="key-pass")


def test_the_defaults_are_plaintext_and_the_drivers_own_tls_default(monkeypatch) -> None:
    monkeypatch.delenv("VIGIL_KAFKA_SECURITY_PROTOCOL", raising=False)
    settings = CommonSettings(api_token=TOKEN, kafka_bootstrap="k:9092")
    assert client_options(settings.kafka) == {
        "bootstrap_servers": "k:9092",
        "security_protocol": "PLAINTEXT",
    }
    assert client_options("k:9092") == client_options(settings.kafka)
    assert connect_args(settings.database_tls) == {}


def test_sasl_ssl_from_the_environment_reaches_the_client_options(monkeypatch, pki) -> None:
    ca, _client = pki
    env = {
        "VIGIL_API_TOKEN": TOKEN,
        "VIGIL_KAFKA_BOOTSTRAP": "broker-1.example.com:9096",
        "VIGIL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "VIGIL_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "VIGIL_KAFKA_SASL_USERNAME": "vigil",
        "VIGIL_KAFKA_SASL_PASSWORD": "s3cret-pass",
        "VIGIL_KAFKA_SSL_CAFILE": str(ca.cert),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = CommonSettings()
    options = client_options(settings.kafka)
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "vigil"
    assert options["sasl_plain_password"] == "s3cret-pass"
    context = options["ssl_context"]
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    assert "s3cret-pass" in settings.secrets(), "the log redactor knows the password"
    assert "s3cret-pass" not in repr(settings) and "s3cret-pass" not in repr(settings.kafka)


async def test_oauthbearer_reads_the_token_file_at_each_connection(
    monkeypatch, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first-token\n")
    env = {
        "VIGIL_API_TOKEN": TOKEN,
        "VIGIL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "VIGIL_KAFKA_SASL_MECHANISM": "OAUTHBEARER",
        "VIGIL_KAFKA_SASL_OAUTH_TOKEN_FILE": str(token_file),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    options = client_options(CommonSettings().kafka)
    assert options["sasl_mechanism"] == "OAUTHBEARER"
    assert "sasl_plain_username" not in options and "sasl_plain_password" not in options
    provider = options["sasl_oauth_token_provider"]
    assert isinstance(provider, TokenFile)
    assert await provider.token() == "first-token"
    token_file.write_text("renewed-token")
    assert await provider.token() == "renewed-token", "a renewed token is used without a restart"
    token_file.write_text(" \n")
    with pytest.raises(ValueError, match="is empty"):
        await provider.token()


def test_hostname_verification_can_be_turned_off_and_mtls_loads_the_client_key(pki) -> None:
    ca, client = pki
    security = KafkaSecurity(
        security_protocol="SSL",
        ssl_cafile=ca.cert,
        ssl_certfile=client.cert,
        ssl_keyfile=client.key,
        ssl_key_password=SecretStr("key-pass"),
        ssl_check_hostname=False,
    )
    options = client_options(KafkaConnection(bootstrap="b:9093", security=security))
    assert options["security_protocol"] == "SSL" and "sasl_mechanism" not in options
    assert options["ssl_context"].check_hostname is False
    wrong = security.model_copy(update={"ssl_key_password": SecretStr("not-it")})
    with pytest.raises(ssl.SSLError):
        client_options(KafkaConnection(bootstrap="b:9093", security=wrong))


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "VIGIL_KAFKA_SASL_USERNAME"),
        ({"kafka_sasl_username": "u"}, "need VIGIL_KAFKA_SECURITY_PROTOCOL SASL_PLAINTEXT"),
        (
            {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "OAUTHBEARER"},
            "OAUTHBEARER needs VIGIL_KAFKA_SASL_OAUTH_TOKEN_FILE",
        ),
        (
            {
                "kafka_security_protocol": "SASL_SSL",
                "kafka_sasl_mechanism": "OAUTHBEARER",
                "kafka_sasl_oauth_token_file": "/etc/hostname",
                "kafka_sasl_username": "u",
            },
            "and no VIGIL_KAFKA_SASL_USERNAME",
        ),
        (
            {
                "kafka_security_protocol": "SASL_SSL",
                "kafka_sasl_mechanism": "PLAIN",
                "kafka_sasl_username": "u",
                "kafka_sasl_password": "p",
                "kafka_sasl_oauth_token_file": "/etc/hostname",
            },
            "a token file only with OAUTHBEARER",
        ),
        ({"kafka_sasl_oauth_token_file": "/etc/hostname"}, "SASL_PLAINTEXT or SASL_SSL"),
        ({"kafka_ssl_cafile": "/etc/hostname"}, "SSL or SASL"),
        ({"kafka_ssl_check_hostname": False}, "SSL or SASL"),
        ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "GSSAPI"}, "MECHANISM"),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_cafile": "/no/such.pem"}, "CAFILE"),
        ({"database_sslrootcert": "/etc/hostname"}, "VIGIL_DATABASE_SSLMODE"),
        ({"database_sslmode": "verify_full"}, "VIGIL_DATABASE_SSLMODE"),
        (
            {"database_sslmode": "prefer", "database_sslcert": "/etc/hostname"},
            "a client certificate needs",
        ),
    ],
)
def test_an_inconsistent_setting_is_refused_naming_the_variables(given, says) -> None:
    with pytest.raises(ValidationError) as refused:
        CommonSettings(api_token=TOKEN, **given)
    assert says in explain(refused.value)


def test_postgres_modes_map_to_what_asyncpg_takes(pki) -> None:
    ca, client = pki
    assert connect_args(PostgresTls(sslmode="disable")) == {"ssl": "disable"}
    assert connect_args(PostgresTls(sslmode="prefer")) == {"ssl": "prefer"}
    require = connect_args(PostgresTls(sslmode="require"))["ssl"]
    assert require.verify_mode == ssl.CERT_NONE and not require.check_hostname
    require_ca = connect_args(PostgresTls(sslmode="require", sslrootcert=ca.cert))["ssl"]
    assert require_ca.verify_mode == ssl.CERT_REQUIRED, "libpq: a root cert makes require verify"
    verify_ca = connect_args(PostgresTls(sslmode="verify-ca", sslrootcert=ca.cert))["ssl"]
    assert verify_ca.verify_mode == ssl.CERT_REQUIRED and not verify_ca.check_hostname
    full = PostgresTls(
        sslmode="verify-full",
        sslrootcert=ca.cert,
        sslcert=client.cert,
        sslkey=client.key,
        sslkey_password=SecretStr("key-pass"),
    )
    context = connect_args(full)["ssl"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_a_certificate_names_its_hosts(tmp_path: Path) -> None:
    from cryptography import x509

    ca = certs.make_ca(tmp_path)
    server = certs.issue(ca, tmp_path, "db", hosts=("localhost", "127.0.0.1"))
    cert = x509.load_pem_x509_certificate(server.cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(n.value) for n in names] == ["localhost", "127.0.0.1"]
    assert server.key.stat().st_mode & 0o077 == 0, "PostgreSQL refuses a key others can read"
