"""`vigil migrate` with a password full of URL and ini specials: it migrates and never
prints the password (the ini parser behind alembic once quoted the whole URL)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from urllib.parse import quote

import asyncpg
from sqlalchemy.engine import make_url

from shared.database.engine import alembic_config, redacted
from tests.support.databases import admin_sql

PASSWORD = "p%40ss%word:/@?#&'x"


async def test_migrate_accepts_a_percent_in_the_password_and_prints_none_of_it(infra) -> None:
    role, name = f"vigil_pw_{uuid.uuid4().hex[:8]}", f"vigil_t_{uuid.uuid4().hex[:10]}"
    literal = PASSWORD.replace("'", "''")
    await admin_sql(infra.database_url, f"CREATE ROLE {role} LOGIN PASSWORD '{literal}'")
    await admin_sql(infra.database_url, f"CREATE DATABASE {name} OWNER {role}")
    base = make_url(infra.database_url)
    url = f"postgresql+asyncpg://{role}:{quote(PASSWORD, safe='')}@{base.host}:{base.port}/{name}"
    try:
        env = {k: v for k, v in os.environ.items() if k != "VIGIL_DATABASE_URL"}
        run = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "vigil", "migrate", "--database-url", url],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
        output = run.stdout + run.stderr
        assert run.returncode == 0, output
        for secret in (PASSWORD, quote(PASSWORD, safe=""), "p%40ss", "p%2540ss"):
            assert secret not in output
        assert f"{role}:***@" in output
        conn = await asyncpg.connect(
            host=base.host, port=base.port, user=role, password=PASSWORD, database=name
        )
        try:
            assert await conn.fetchval("SELECT count(*) FROM alembic_version") == 1
        finally:
            await conn.close()
    finally:
        await admin_sql(infra.database_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin_sql(infra.database_url, f"DROP ROLE IF EXISTS {role}")


def test_the_migrations_get_the_password_as_given_and_a_redacted_url_hides_it() -> None:
    url = f"postgresql+asyncpg://u:{quote(PASSWORD, safe='')}@db:5432/vigil"
    assert make_url(alembic_config(url).attributes["database_url"]).password == PASSWORD
    assert redacted(url) == "postgresql+asyncpg://u:***@db:5432/vigil"
    assert redacted("not a url") == "<unparsable database URL>"
