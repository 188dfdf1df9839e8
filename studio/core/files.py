"""Writing files so that a crash leaves the old file or the new one, never half of either.

:func:`atomic_write` (bytes) and :func:`atomic_target` (a temporary path for a library that writes
the file itself: numpy, zipfile, soundfile) write in the destination's folder, flush and fsync the
file, rename it over the destination, then fsync the folder so the rename itself survives a power
cut. The one helper for this in the studio (the engine, which must not import studio, has
``engine.takefile``).

Safe from any thread (each call uses its own temporary name).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp → fsync → rename → fsync folder)."""
    with atomic_target(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)


@contextlib.contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``; write the whole file there. When the block ends without an
    error the file is fsynced and renamed over ``path``; on an error it is removed and ``path`` is
    untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
