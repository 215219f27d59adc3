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

The lock folder is private: a directory (not a link) owned by this user with no
access for group or others, created so when missing. One of ours that only we
could write in (0755, as earlier versions made it) is made 0700; any other is
refused. The
default one has a predictable name in the shared temp dir, so anyone could make
it first or plant links in it; a lock file is opened without following a link
and written only when it is a regular file of ours, never truncated otherwise.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from shared.settings.common import CommonSettings

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


class UnsafeLockDir(RuntimeError):
    """The lock folder or a file in it is not private to this user; nothing was written."""


def claim_slot(
    name: str, *, lock_dir: Path | None = None, host: str | None = None
) -> InstanceClaim:
    """The lowest free slot for ``name`` on this host, as ``<host>-<slot>``."""
    folder = lock_dir or default_lock_dir()
    hostname = (host or socket.gethostname()).strip().replace(" ", "_") or "localhost"
    folder_fd = _open_private_dir(folder)
    try:
        for slot in range(MAX_SLOTS):
            fd = _lock_file(folder_fd, folder / f"{name}.{slot}.lock")
            if fd is not None:
                return InstanceClaim(f"{hostname}-{slot}", slot, fd)
    finally:
        os.close(folder_fd)
    raise RuntimeError(f"no free instance slot for {name!r} in {folder} ({MAX_SLOTS} in use)")


def _open_private_dir(folder: Path) -> int:
    """A descriptor of ``folder`` (made 0700 when missing), checked private to us.

    The checks are on the opened descriptor and the files are opened relative to
    it, so swapping the path for a link after the check gains nothing.
    """
    if not folder.exists() and not folder.is_symlink():
        folder.parent.mkdir(parents=True, exist_ok=True)
        # made by a process starting beside us: checked below like any other
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        raise _refusal(folder, f"cannot be opened as a directory ({error.strerror})") from None
    info = os.fstat(fd)
    problem = None
    if info.st_uid != os.geteuid():
        problem = f"is owned by uid {info.st_uid}, not by this user (uid {os.geteuid()})"
    elif info.st_mode & 0o022:
        problem = f"has mode {stat.S_IMODE(info.st_mode):o}: group or others can write in it"
    if problem:
        os.close(fd)
        raise _refusal(folder, problem)
    if info.st_mode & 0o077:
        # ours and written by us alone (earlier versions made it 0755): made private
        os.fchmod(fd, 0o700)
    return fd


def _lock_file(folder_fd: int, path: Path) -> int | None:
    """The slot file's descriptor, locked by us; None when another process holds it."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        # a raw descriptor, not a file object: nothing to warn about if a test forgets it
        fd = os.open(path.name, flags, 0o600, dir_fd=folder_fd)
    except OSError as error:
        problem = f"cannot be opened without following a link ({error.strerror})"
        raise _refusal(path, problem) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
        os.close(fd)
        raise _refusal(path, "is not a regular file owned by this user")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for a curious operator
    return fd


def _refusal(path: Path, problem: str) -> UnsafeLockDir:
    return UnsafeLockDir(
        f"instance lock path {path} {problem}. It must be a directory of this user with"
        " mode 0700 holding regular files only: fix or remove it, or set"
        " VIGIL_INSTANCE_LOCK_DIR to another folder, or VIGIL_INSTANCE_ID to claim no slot"
    )


def with_instance_id(settings: Settings, name: str) -> tuple[Settings, InstanceClaim]:
    """``settings`` with an instance id: the configured one, or a claimed slot."""
    if settings.instance_id:
        return settings, InstanceClaim(settings.instance_id)
    lock_dir = Path(settings.instance_lock_dir) if settings.instance_lock_dir else None
    claim = claim_slot(name, lock_dir=lock_dir)
    return settings.model_copy(update={"instance_id": claim.instance_id}), claim
