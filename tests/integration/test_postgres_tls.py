"""TLS to PostgreSQL: a throwaway cluster with ``ssl=on``, a certificate for ``localhost``
from a CA made here and a pg_hba.conf that only accepts TLS; migrations (the function and
``vigil migrate``) and the engine connect with ``verify-full``; a wrong CA, an address the
certificate does not name and a client without TLS are refused."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.database.engine import create_engine, migrate
from shared.settings.connections import PostgresTls
from shared.stack import certs, postgres

CERT_USER = "vigil_cert"  # logs in with a client certificate only (its CN)
HBA = f"""\
hostssl all {CERT_USER} 127.0.0.1/32 cert
hostssl all all 127.0.0.1/32 trust
"""


@dataclass(frozen=True)
class TlsDatabase:
    port: int
    ca: certs.Authority
    client: certs.Issued

    def url(self, host: str = "localhost", user: str = "vigil") -> str:
        return f"postgresql+asyncpg://{user}@{host}:{self.port}/vigil"


@pytest.fixture(scope="module")
def tls_database() -> Iterator[TlsDatabase]:
    # not pytest's tmp_path: a concurrent pytest run may remove its older folders
    with tempfile.TemporaryDirectory(prefix="vigil-pg-tls-") as folder:
        yield from _cluster(Path(folder))


def _cluster(data_dir: Path) -> Iterator[TlsDatabase]:
    tls = data_dir / "tls"
    ca = certs.make_ca(tls)
    # the name only, not 127.0.0.1: connecting by address shows what verify-full adds
    server = certs.issue(ca, tls, "server", hosts=("localhost",))
    client = certs.issue(ca, tls, CERT_USER, client=True)
    settings = {
        "ssl": "on",
        "ssl_cert_file": str(server.cert),
        "ssl_key_file": str(server.key),
        "ssl_ca_file": str(ca.cert),  # to check client certificates
    }
    pg = postgres.start(data_dir, settings=settings, hba=HBA)
    try:
        asyncio.run(_create_role(pg.port, ca))
        yield TlsDatabase(pg.port, ca, client)
    finally:
        postgres.stop(data_dir, pg.pid)


async def _create_role(port: int, ca: certs.Authority) -> None:
    context = ssl.create_default_context(cafile=ca.cert)
    conn = await asyncpg.connect(host="localhost", port=port, user="vigil", ssl=context)
    try:
        await conn.execute(f"CREATE ROLE {CERT_USER} LOGIN")
    finally:
        await conn.close()


async def _session_is_tls(url: str, tls: PostgresTls) -> bool:
    engine = create_engine(url, pool_size=1, tls=tls)
    try:
        async with engine.connect() as conn:
            query = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
            return bool(await conn.scalar(text(query)))
    finally:
        await engine.dispose()


async def test_migrations_and_the_engine_connect_with_verify_full(tls_database) -> None:
    tls = PostgresTls(sslmode="verify-full", sslrootcert=tls_database.ca.cert)
    await asyncio.to_thread(migrate, tls_database.url(), tls=tls)
    engine = create_engine(tls_database.url(), pool_size=1, tls=tls)
    try:
        async with engine.connect() as conn:
            version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
            encrypted = await conn.scalar(
                text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            )
    finally:
        await engine.dispose()
    assert version, "migrations ran through the TLS connection"
    assert encrypted is True


def test_vigil_migrate_reads_the_tls_settings(tls_database, tmp_path) -> None:
    env = {
        "VIGIL_DATABASE_URL": tls_database.url(),
        "VIGIL_DATABASE_SSLMODE": "verify-full",
        "VIGIL_DATABASE_SSLROOTCERT": str(tls_database.ca.cert),
    }
    ok = _vigil_migrate(env)
    assert ok.returncode == 0 and "migrations applied" in ok.stdout, ok.stdout + ok.stderr
    other = certs.make_ca(tmp_path, "another-ca")
    refused = _vigil_migrate({**env, "VIGIL_DATABASE_SSLROOTCERT": str(other.cert)})
    assert refused.returncode != 0 and "certificate verify failed" in refused.stderr
    missing = _vigil_migrate({**env, "VIGIL_DATABASE_SSLROOTCERT": str(tmp_path / "none.pem")})
    assert missing.returncode == 2 and "VIGIL_DATABASE_SSLROOTCERT" in missing.stderr


def _vigil_migrate(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigil", "migrate"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_verify_full_checks_the_name_verify_ca_does_not(tls_database) -> None:
    by_address = tls_database.url("127.0.0.1")
    full = PostgresTls(sslmode="verify-full", sslrootcert=tls_database.ca.cert)
    with pytest.raises(ssl.SSLCertVerificationError, match="IP address mismatch"):
        await _session_is_tls(by_address, full)
    verify_ca = PostgresTls(sslmode="verify-ca", sslrootcert=tls_database.ca.cert)
    assert await _session_is_tls(by_address, verify_ca)


async def test_a_client_certificate_logs_in_where_pg_hba_asks_for_one(tls_database) -> None:
    with_cert = PostgresTls(
        sslmode="verify-full",
        sslrootcert=tls_database.ca.cert,
        sslcert=tls_database.client.cert,
        sslkey=tls_database.client.key,
    )
    assert await _session_is_tls(tls_database.url(user=CERT_USER), with_cert)
    without = PostgresTls(sslmode="verify-full", sslrootcert=tls_database.ca.cert)
    with pytest.raises(DBAPIError, match="requires a valid client certificate"):
        await _session_is_tls(tls_database.url(user=CERT_USER), without)


async def test_verify_full_refuses_a_server_signed_by_another_ca(tls_database, tmp_path) -> None:
    other = certs.make_ca(tmp_path, "another-ca")
    tls = PostgresTls(sslmode="verify-full", sslrootcert=other.cert)
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        await _session_is_tls(tls_database.url(), tls)


async def test_a_client_without_tls_is_refused_by_a_hostssl_only_server(tls_database) -> None:
    with pytest.raises(DBAPIError, match=r"no pg_hba.conf entry .* no encryption") as refused:
        await _session_is_tls(tls_database.url(), PostgresTls(sslmode="disable"))
    cause = getattr(refused.value.orig, "__cause__", None)
    assert isinstance(cause, asyncpg.InvalidAuthorizationSpecificationError)
