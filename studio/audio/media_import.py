"""Importing audio files into a project's media folder, as a job that runs off the GUI thread.

:func:`run` checks each file is audio (its length, through :func:`studio.audio.decode.audio_info`)
and copies it into ``media/`` under its content name (the same name
:meth:`studio.core.store.ProjectFile.add_media` gives: the SHA-256 of the bytes + the suffix),
hashing while it copies, block by block: a temporary file in ``media/``, fsynced, renamed, the
folder fsynced — a file is either complete under its name or absent. The same content imported
twice is stored once. Progress is reported in bytes copied; a cancel request stops between blocks
and leaves nothing behind.

Placing the clips (an undoable edit) is not part of the job: the caller does that on the GUI thread
with the :class:`ImportResult`.

Thread contract: :func:`run` and :func:`copy_into_media` run on any thread; they touch only the
files named and the media folder (never the project or its database).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from studio.audio.decode import audio_info
from studio.audio.errors import DecodeError
from studio.core.files import fsync_folder

COPY_BLOCK = 1 << 20  # bytes read, hashed and written per step
NAME_CHARS = 40  # characters of the hex digest in a media name (studio.core.store.media_name)


class ImportCancelled(Exception):
    """The import was cancelled (nothing of the file being copied is left)."""


class JobState(Protocol):
    def set_progress(self, fraction: float) -> None: ...

    def is_cancel_requested(self) -> bool: ...


@dataclass(frozen=True)
class ImportRequest:
    files: tuple[Path, ...]
    media_dir: Path
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True)
class ImportedAudio:
    path: Path  # the file the user chose
    media: str  # its name in media/
    duration: float  # seconds


@dataclass(frozen=True)
class ImportResult:
    request_id: str
    imported: tuple[ImportedAudio, ...]
    failures: tuple[str, ...]  # "Cannot import NAME: why", one per file that was not imported
    cancelled: bool = False


def copy_into_media(
    path: Path,
    media_dir: Path,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> str:
    """Copy ``path`` into ``media_dir`` under its content name; returns the name.

    ``progress(n)`` is called with the bytes copied in each step; ``cancelled()`` is asked between
    steps (ImportCancelled, the temporary file removed). OSError when reading or writing fails.
    """
    media_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=media_dir, prefix=".import.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
            while True:
                if cancelled is not None and cancelled():
                    raise ImportCancelled(path.name)
                block = src.read(COPY_BLOCK)
                if not block:
                    break
                digest.update(block)
                dst.write(block)
                if progress is not None:
                    progress(len(block))
            dst.flush()
            os.fsync(dst.fileno())
        name = digest.hexdigest()[:NAME_CHARS] + path.suffix.lower()
        target = media_dir / name
        if target.exists():  # the same content is already there (media files are immutable)
            tmp.unlink()
            return name
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_folder(media_dir)
    return name


def run(request: ImportRequest, state: JobState) -> ImportResult:
    """Import ``request.files`` (see the module docstring); failures are collected, not raised."""
    sizes = {}
    for path in request.files:
        try:
            sizes[path] = max(1, path.stat().st_size)
        except OSError:
            sizes[path] = 1
    total = sum(sizes.values())
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        state.set_progress(min(1.0, done / total))

    imported: list[ImportedAudio] = []
    failures: list[str] = []
    state.set_progress(0.0)
    for path in request.files:
        if state.is_cancel_requested():
            return ImportResult(request.request_id, tuple(imported), tuple(failures), cancelled=True)
        start = done
        try:
            info = audio_info(path)
            media = copy_into_media(path, request.media_dir, advance, state.is_cancel_requested)
        except ImportCancelled:
            return ImportResult(request.request_id, tuple(imported), tuple(failures), cancelled=True)
        except (DecodeError, OSError) as exc:
            failures.append(f"Cannot import {path.name}: {getattr(exc, 'strerror', None) or exc}")
            advance(start + sizes[path] - done)  # count the file as done
            continue
        imported.append(ImportedAudio(path, media, info.duration))
    state.set_progress(1.0)
    return ImportResult(request.request_id, tuple(imported), tuple(failures))
