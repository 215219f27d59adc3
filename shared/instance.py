"""Instance identity: unique per running process without configuration, stable across restarts.

Kafka transactional ids must differ between live instances (two producers
with one id fence each other in a loop) and should be the same for a process
and its restart (the new producer then fences its zombie and aborts the open
transaction at once instead of after the transaction timeout). The id is the
host name plus the lowest free *slot* on that host: slot N is held by an
exclusive ``flock`` on ``<lock_dir>/<name>.<N>.lock`` for the life of the
process. The kernel drops the lock when the process dies, even by SIGKILL,
so a restart claims the same slot again while a second concurrent process
gets the next one. In a container the host name is the pod or container
name, and the slot is 0. ``VIGIL_INSTANCE_ID`` overrides all of this.
"""

from __future__ import annotations

import fcntl
import os
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from shared.settings import CommonSettings

MAX_SLOTS = 256
Settings = TypeVar("Settings", bound=CommonSettings)


@dataclass
class InstanceClaim:
    """A claimed slot; the lock is held until :meth:`release` or the process ends."""

    instance_id: str
    slot: int | None = None
    _fd: int | None = field(default=None, repr=False)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def default_lock_dir() -> Path:
    """Per user, so another user's leftovers never block or share our slots."""
    return Path(tempfile.gettempdir()) / f"vigil-instances-{os.getuid()}"


def claim_slot(
    name: str, *, lock_dir: Path | None = None, host: str | None = None
) -> InstanceClaim:
    """The lowest free slot for ``name`` on this host, as ``<host>-<slot>``."""
    folder = lock_dir or default_lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    hostname = (host or socket.gethostname()).strip().replace(" ", "_") or "localhost"
    for slot in range(MAX_SLOTS):
        # a raw descriptor, not a file object: nothing to warn about if a test forgets it
        fd = os.open(folder / f"{name}.{slot}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for a curious operator
        return InstanceClaim(f"{hostname}-{slot}", slot, fd)
    raise RuntimeError(f"no free instance slot for {name!r} in {folder} ({MAX_SLOTS} in use)")


def with_instance_id(settings: Settings, name: str) -> tuple[Settings, InstanceClaim]:
    """``settings`` with an instance id: the configured one, or a claimed slot."""
    if settings.instance_id:
        return settings, InstanceClaim(settings.instance_id)
    lock_dir = Path(settings.instance_lock_dir) if settings.instance_lock_dir else None
    claim = claim_slot(name, lock_dir=lock_dir)
    return settings.model_copy(update={"instance_id": claim.instance_id}), claim
