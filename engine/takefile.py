"""Atomic take files: a take is complete on disk or absent.

The engine writes each take to a temporary file in the destination folder, named
``.{name}.part-{pid}`` (``pid`` = the writing process), flushes and fsyncs it, then renames it over
``out_path`` with :func:`os.replace`. A crash leaves at most a temporary file, never a truncated take;
:func:`remove_stale_temps` (used by the studio's engine client when it restarts a dead engine) deletes
temporary files whose writer is gone.

Standard library + numpy only at import time (soundfile is imported when a take is written), so the
studio may import this module for the temp-name pattern.

Thread contract: every function is safe to call from any thread; two writers must not target the
same ``out_path`` at the same time from one process.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

TEMP_MARK = ".part-"
CODES_SUFFIX = ".codes.npy"  # backend tokens saved beside a take (``{take}.codes.npy``)
_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.part-(?P<pid>\d+)$")

# Take subtypes the engine writes (soundfile names): float32 (default) or 16-bit PCM.
SUBTYPES = ("FLOAT", "PCM_16")
_FORMATS = {".wav": "WAV", ".flac": "FLAC"}


class TakeWriteError(OSError):
    """The take could not be written (disk full, no permission, unsupported file type)."""


def temp_path_for(out_path: str | os.PathLike[str], pid: int | None = None) -> Path:
    """The temporary name a take is written under before the rename: ``.{name}.part-{pid}``."""
    out = Path(out_path)
    return out.with_name(f".{out.name}{TEMP_MARK}{os.getpid() if pid is None else pid}")


def parse_temp_name(name: str) -> tuple[str, int] | None:
    """``(take file name, writer pid)`` for a temporary take name, else None."""
    match = _TEMP_RE.match(name)
    if match is None:
        return None
    return match.group("name"), int(match.group("pid"))


def write_take(
    out_path: str | os.PathLike[str], audio: np.ndarray, sample_rate: int, subtype: str = "FLOAT"
) -> Path:
    """Write mono ``audio`` (float in [-1, 1]) to ``out_path`` atomically; return the final path.

    The file type follows the suffix (.wav, .flac; FLAC is always 16-bit). Raises TakeWriteError.
    """
    import soundfile

    out = Path(out_path)
    file_format = _FORMATS.get(out.suffix.lower())
    if file_format is None:
        raise TakeWriteError(f"cannot write a take as {out.name!r}: use a .wav or .flac file name")
    if subtype not in SUBTYPES:
        raise TakeWriteError(f"unknown take sample format {subtype!r}; choose one of {', '.join(SUBTYPES)}")
    if file_format == "FLAC":
        subtype = "PCM_16"
    data = np.asarray(audio, dtype=np.float32).reshape(-1)
    if subtype == "PCM_16":
        data = np.clip(data, -1.0, 1.0)
    tmp = temp_path_for(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
            with soundfile.SoundFile(
                handle, "w", samplerate=int(sample_rate), channels=1, format=file_format, subtype=subtype
            ) as sound:
                sound.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, out)
    except (OSError, RuntimeError, ValueError) as exc:  # soundfile raises RuntimeError subclasses
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise TakeWriteError(f"could not write the take {out}: {exc}") from None
    _fsync_dir(out.parent)
    return out


def write_array(out_path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Write a numpy array (``np.save`` format) atomically, like :func:`write_take`."""
    out = Path(out_path)
    tmp = temp_path_for(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
            np.save(handle, np.asarray(array), allow_pickle=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, out)
    except (OSError, ValueError) as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise TakeWriteError(f"could not write {out}: {exc}") from None
    return out


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    if os.name != "posix":
        return
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


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (POSIX signal 0; assumes alive where unknowable)."""
    if pid <= 0:
        return False
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(
    out_paths: Iterable[str | os.PathLike[str]], dead_pids: Iterable[int] = ()
) -> list[Path]:
    """Delete temporary files left for these takes by writers that are gone; return what was removed.

    A temporary file counts as stale when its pid is in ``dead_pids`` or no such process exists.
    """
    dead = set(dead_pids)
    removed: list[Path] = []
    by_folder: dict[Path, set[str]] = {}
    for out_path in out_paths:
        out = Path(out_path)
        by_folder.setdefault(out.parent, set()).add(out.name)
    for folder, names in by_folder.items():
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            parsed = parse_temp_name(entry.name)
            if parsed is None or parsed[0].removesuffix(CODES_SUFFIX) not in names:
                continue
            pid = parsed[1]
            if pid in dead or not pid_alive(pid):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed
