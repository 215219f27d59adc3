"""Throwaway databases on a PostgreSQL server: created, migrated, dropped.

Shared by the test fixtures, the soak and the evaluation so each says only
which database it wants, not how to talk to the server's maintenance database.
"""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy.engine import make_url

from shared.database.engine import migrate


async def admin_sql(base_url: str, sql: str) -> None:
    """Run ``sql`` (CREATE/DROP DATABASE) on the database ``base_url`` names."""
    base = make_url(base_url)
    conn = await asyncpg.connect(
        host=base.host,
        port=base.port,
        user=base.username,
        password=base.password,
        database=base.database,
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_database(base_url: str, name: str) -> str:
    """A new database ``name`` on ``base_url``'s server, migrated; returns its URL."""
    await admin_sql(base_url, f"CREATE DATABASE {name}")
    url: str = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(migrate, url)
    return url


async def drop_database(base_url: str, name: str) -> None:
    await admin_sql(base_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
