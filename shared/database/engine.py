"""Async SQLAlchemy on asyncpg: engine, sessions, migrations, transient errors.

Transactions belong to the caller at the edge (a consumer loop or a request);
repositories may flush but never commit.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shared.settings.connections import PostgresTls

MIGRATIONS_DIR = Path(__file__).parent.parent / "migrations"


def create_engine(
    url: str,
    *,
    pool_size: int = 5,
    max_overflow: int | None = None,
    echo: bool = False,
    tls: PostgresTls | None = None,
) -> AsyncEngine:
    """An engine whose pool checks connections, so a restarted database heals; at most
    ``pool_size`` + ``max_overflow`` (default: ``pool_size`` again) connections."""
    return create_async_engine(
        url,
        connect_args=connect_args(tls),
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        echo=echo,
        # errors and logs never carry bound parameters: they hold account data and secrets
        hide_parameters=True,
        # JSONB read back (scores' components, reasons, facts): the stdlib parser was
        # ~10% of scoring's CPU at a steady rate; orjson reads the same values
        json_deserializer=orjson.loads,
    )


def connect_args(tls: PostgresTls | None) -> dict[str, Any]:
    """asyncpg's ``ssl`` argument for ``tls``; none when no ``sslmode`` is set, so the
    driver's own default (``prefer``, or ``PGSSLMODE``) applies as before."""
    if tls is None or tls.sslmode is None:
        return {}
    if tls.sslmode in ("disable", "allow", "prefer"):
        return {"ssl": tls.sslmode}  # asyncpg's own modes: no verification to configure
    return {"ssl": ssl_context(tls)}


def ssl_context(tls: PostgresTls) -> ssl.SSLContext:
    """TLS only (asyncpg treats a context as at least ``require``), verifying as libpq
    does: ``require`` checks the chain only when a root certificate is given,
    ``verify-ca`` always, ``verify-full`` also that the certificate names the host."""
    verify = tls.sslmode in ("verify-ca", "verify-full") or tls.sslrootcert is not None
    context = ssl.create_default_context(cafile=tls.sslrootcert) if verify else _unverified()
    context.check_hostname = tls.sslmode == "verify-full"
    if tls.sslcert is not None:
        password = tls.sslkey_password
        context.load_cert_chain(
            tls.sslcert,
            tls.sslkey,
            password=None if password is None else password.get_secret_value(),
        )
    return context


def _unverified() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def unnest(**columns: tuple[str, Iterable[Any]]) -> tuple[str, dict[str, Any]]:
    """A batch as a table in one statement: ``unnest(CAST(:a AS text[]), ...)`` and its
    parameters, from ``name=(element type, values)``; one round trip whatever its size.

    >>> unnest(a=("text", ["x"]), n=("int", [1]))
    ('unnest(CAST(:a AS text[]), CAST(:n AS int[]))', {'a': ['x'], 'n': [1]})
    """
    casts = ", ".join(f"CAST(:{name} AS {kind}[])" for name, (kind, _v) in columns.items())
    return f"unnest({casts})", {name: list(values) for name, (_k, values) in columns.items()}


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error."""
    async with sessions() as session, session.begin():
        yield session


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under ``session``, inside its transaction, for bulk reads.

    SQLAlchemy begins its transaction with the first statement: a statement sent
    here before that would run outside it, so that is refused.
    """
    proxied = await (await session.connection()).get_raw_connection()
    driver: asyncpg.Connection = proxied.driver_connection
    if not driver.is_in_transaction():
        raise RuntimeError("driver_connection: the session has not begun its transaction")
    return driver


async def db_reachable(engine: AsyncEngine, timeout_s: float = 2.0) -> bool:
    """For readiness probes: does ``SELECT 1`` answer within ``timeout_s``?"""
    try:
        async with engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout_s)
        return True
    except Exception:  # noqa: BLE001 - readiness only reports
        return False


def is_transient_db_error(error: BaseException) -> bool:
    """True when retrying later may succeed (connection lost, server restarting)."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError):
        return True
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection free in time: a load
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.orig is not None:
        error = error.orig
        cause = getattr(error, "__cause__", None)
        if cause is not None:
            error = cause
    return isinstance(
        error,
        OSError
        | ConnectionError
        | asyncio.TimeoutError
        | asyncpg.exceptions.ConnectionDoesNotExistError
        | asyncpg.exceptions.CannotConnectNowError
        | asyncpg.exceptions.AdminShutdownError
        | asyncpg.exceptions.CrashShutdownError
        | asyncpg.exceptions.InterfaceError
        | asyncpg.exceptions.TooManyConnectionsError
        | asyncpg.exceptions.SerializationError
        | asyncpg.exceptions.DeadlockDetectedError,
    )


def redacted(database_url: str) -> str:
    """The URL as it may be printed or logged: the password masked."""
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:  # an unparsable URL is not shown at all
        return "<unparsable database URL>"


def alembic_config(database_url: str, tls: PostgresTls | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # an attribute, not a main option: the ini parser reads "%" as interpolation and
    # its error quoted the whole URL, password included
    config.attributes["database_url"] = database_url
    config.attributes["connect_args"] = connect_args(tls)  # read by migrations/env.py
    return config


def migrate(database_url: str, revision: str = "head", *, tls: PostgresTls | None = None) -> None:
    """Apply migrations up to ``revision``; a sync call (alembic runs its own loop)."""
    command.upgrade(alembic_config(database_url, tls), revision)
