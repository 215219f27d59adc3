"""Async SQLAlchemy on asyncpg: engine, sessions, migrations, transient errors.

Transactions belong to the caller at the edge (a consumer loop or a request);
repositories may flush but never commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

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

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> AsyncEngine:
    """An engine whose pool checks connections, so a restarted database heals."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        echo=echo,
        # errors and logs never carry bound parameters: they hold account data and secrets
        hide_parameters=True,
        # JSONB read back (scores' components, reasons, facts): the stdlib parser was
        # ~10% of scoring's CPU at a steady rate; orjson reads the same values
        json_deserializer=orjson.loads,
    )


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


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # an attribute, not a main option: the ini parser reads "%" as interpolation and
    # its error quoted the whole URL, password included
    config.attributes["database_url"] = database_url
    return config


def migrate(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``; a sync call (alembic runs its own loop)."""
    command.upgrade(alembic_config(database_url), revision)
