"""One writer per project: a lock file inside ``NAME.chorus/`` names who has the project open.

Opening a project to write takes the lock (created atomically with O_EXCL); closing releases it. A lock
left by a process that died (same host, pid gone) or that cannot be read is stale and taken over.
A lock held by another live process — a second studio, a ``chorus render`` — refuses with a message
naming the host, pid and program; read-only opens (``chorus info``, ``chorus export``) take no lock.
Opens within one process share the lock (counted), so one program may reopen its own project.

Thread contract: any thread; the in-process count is guarded by a lock.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

LOCK_NAME = ".chorus-lock"
_held: dict[str, int] = {}
_guard = threading.Lock()


class ProjectLockedError(RuntimeError):
    """Another live process has the project open for writing (``holder`` says who)."""

    def __init__(self, root: Path, holder: LockInfo) -> None:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(holder.since)) if holder.since else "?"
        super().__init__(
            f"{root.name} is open in {holder.program or 'Chorus'} on {holder.host}, pid {holder.pid} "
            f"(by {holder.user or '?'} since {when}); close it there, or open it read-only"
        )
        self.holder = holder


@dataclass(frozen=True)
class LockInfo:
    pid: int
    host: str
    user: str = ""
    since: float = 0.0
    program: str = ""

    @classmethod
    def mine(cls) -> LockInfo:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = ""
        program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
        return cls(os.getpid(), socket.gethostname(), user, time.time(), f"chorus ({program})")


def read_lock(root: Path) -> LockInfo | None:
    """Who holds ``root``'s lock, or None (no lock, or an unreadable one)."""
    try:
        data = json.loads((root / LOCK_NAME).read_text())
        return LockInfo(int(data["pid"]), str(data["host"]), str(data.get("user", "")),
                        float(data.get("since", 0)), str(data.get("program", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_stale(info: LockInfo | None) -> bool:
    """An unreadable lock, or one from a process of this host that no longer runs."""
    if info is None:
        return True
    if info.host != socket.gethostname():
        return False  # another machine (shared folder): we cannot tell, so it holds
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire(root: Path) -> None:
    """Take ``root``'s lock for this process; raises ProjectLockedError if another live process holds it."""
    key = str(root.resolve())
    with _guard:
        if _held.get(key):
            _held[key] += 1
            return
        path = root / LOCK_NAME
        for _attempt in range(3):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                info = read_lock(root)
                if info is not None and info.pid == os.getpid() and info.host == socket.gethostname():
                    break  # our own lock from an earlier open that was not released: reuse it
                if not is_stale(info):
                    assert info is not None
                    raise ProjectLockedError(root, info) from None
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                continue
            with os.fdopen(fd, "w") as handle:
                json.dump(asdict(LockInfo.mine()), handle)
            break
        else:
            info = read_lock(root) or LockInfo(0, "?")
            raise ProjectLockedError(root, info)
        _held[key] = 1


def release(root: Path) -> None:
    """Give up this process's hold; the lock file goes when the last open of ``root`` closes."""
    key = str(root.resolve())
    with _guard:
        count = _held.get(key, 0)
        if count > 1:
            _held[key] = count - 1
            return
        _held.pop(key, None)
        info = read_lock(root)
        if info is not None and info.pid == os.getpid() and info.host == socket.gethostname():
            with contextlib.suppress(FileNotFoundError):
                (root / LOCK_NAME).unlink()
