"""A throwaway PostgreSQL cluster from the machine's server binaries."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.stack.process import free_port, pid_alive, wait_until

SERVICE_USER = "postgres"  # who runs the server when we are root (PostgreSQL refuses root)
MIN_SHARED_BUFFERS_MB, MAX_SHARED_BUFFERS_MB = 128, 2048


def shared_buffers_mb(memory_bytes: int | None = None) -> int:
    """A quarter of the machine's memory, as PostgreSQL's docs advise, within 128 MB-2 GB.

    The 128 MB default is sized for the smallest machines: scoring's dedupe index
    (one entry per applied event, kept ``VIGIL_DEDUPE_RETENTION_DAYS``) outgrows it
    after about a million events, and from then on every claim reads and evicts
    pages (the soak measured a batch's claim 84 -> 160 ms from 0.8 to 2.3 million ids).
    """
    if memory_bytes is None:
        memory_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    quarter = memory_bytes // 4 // (1024 * 1024)
    return max(MIN_SHARED_BUFFERS_MB, min(MAX_SHARED_BUFFERS_MB, quarter))


@dataclass(frozen=True)
class PostgresProcess:
    pid: int
    port: int
    log: Path
    url: str
    version: str


def find_bin_dir() -> Path:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not candidates:
        raise FileNotFoundError(
            "PostgreSQL server binaries not found (initdb, pg_ctl): install the `postgresql`"
            " package or set VIGIL_DATABASE_URL"
        )
    return Path(candidates[-1]).parent


def _as_service_user(cmd: Sequence[str]) -> list[str]:
    if os.geteuid() != 0:
        return list(cmd)
    return ["runuser", "-u", SERVICE_USER, "--", *cmd]


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam(SERVICE_USER)
        for item in [path, *path.rglob("*")]:
            os.chown(item, user.pw_uid, user.pw_gid)


def _make_traversable(path: Path) -> None:
    """The service user must reach the data dir through the repo's folders."""
    if os.geteuid() != 0:
        return
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, mode | 0o001)


def start(
    data_dir: Path,
    *,
    port: int | None = None,
    timeout_s: float = 60.0,
    settings: Mapping[str, str] | None = None,
    hba: str | None = None,
) -> PostgresProcess:
    """Start the cluster (creating it on first use), on ``port`` or a free one; ``settings``
    are more server settings (``ssl=on``...), ``hba`` replaces pg_hba.conf when created."""
    bin_dir = find_bin_dir()
    version = bin_dir.parent.name
    data_dir.mkdir(parents=True, exist_ok=True)
    _make_traversable(data_dir)
    pgdata = data_dir / "data"
    log = data_dir / "postgres.log"
    if not (pgdata / "PG_VERSION").exists():
        _own(data_dir)
        subprocess.run(
            _as_service_user(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(pgdata),
                    "-U",
                    "vigil",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        if hba is not None:
            (pgdata / "pg_hba.conf").write_text(hba)
            _own(pgdata / "pg_hba.conf")
    port = port or free_port()
    options = (
        f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={data_dir}"
        " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        f" -c max_connections=200 -c shared_buffers={shared_buffers_mb()}MB"
    ) + "".join(f" -c {key}={value}" for key, value in (settings or {}).items())
    subprocess.run(
        _as_service_user(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(pgdata),
                "-l",
                str(log),
                "-o",
                options,
                "-w",
                "-t",
                str(int(timeout_s)),
                "start",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    pid = _postmaster_pid(pgdata)
    url = f"postgresql+asyncpg://vigil@127.0.0.1:{port}/vigil"
    wait_until(lambda: _create_database(port), timeout_s, "postgresql")
    return PostgresProcess(pid or 0, port, log, url, version)


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def _create_database(port: int) -> bool:
    """Connect for real and create the ``vigil`` database when missing."""
    import asyncio

    import asyncpg

    async def create() -> bool:
        try:
            conn = await asyncpg.connect(
                host="127.0.0.1", port=port, user="vigil", database="postgres", timeout=3
            )
        except (OSError, asyncpg.PostgresError):
            return False
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = 'vigil'")
            if not exists:
                await conn.execute("CREATE DATABASE vigil")
            return True
        finally:
            await conn.close()

    return asyncio.run(create())


def stop(data_dir: Path, pid: int | None, *, mode: str = "immediate") -> None:
    pgdata = data_dir / "data"
    if (pgdata / "postmaster.pid").exists() or pid_alive(pid):
        bin_dir = find_bin_dir()
        subprocess.run(
            _as_service_user(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(pgdata),
                    "-m",
                    mode,
                    "-w",
                    "-t",
                    "30",
                    "stop",
                ]
            ),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


def alive(pid: int | None) -> bool:
    return pid_alive(pid)
