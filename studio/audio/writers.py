"""Encoding audio files and committing outputs atomically.

Formats: WAV (16/24-bit PCM, 32-bit float) and FLAC (16/24-bit) through soundfile; MP3 (CBR
128/192/320 kbit/s, ID3v2.3 tags and CHAP chapters), OGG Vorbis and Opus through the bundled ffmpeg,
fed raw float PCM on a pipe so nothing is held in memory. 16-bit output is TPDF-dithered.

Every file is written under a temporary name beside its destination; :class:`OutputSet` renames all
of an export's files into place only when all of them are complete, and removes every temporary
file (and every folder it created) when anything fails or the user cancels — a failed export leaves
no partial file behind.

Thread contract: a writer and an :class:`OutputSet` belong to the export's worker thread;
:class:`ThreadedWriter` moves the encoding onto one helper thread of its own.
"""

from __future__ import annotations

import errno
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol

import numpy as np
import soundfile as sf

from studio.audio.errors import ExportError
from studio.audio.ffmpeg_tool import Chapter, FfmpegError, ffmpeg_exe, format_ffmetadata, tail

FORMATS = ("wav", "flac", "mp3", "ogg", "opus")
LOSSY_FORMATS = ("mp3", "ogg", "opus")
MP3_BITRATES = (128, 192, 320)
BIT_DEPTHS = {"wav": (16, 24, 32), "flac": (16, 24)}
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
_SUFFIX = {"wav": ".wav", "flac": ".flac", "mp3": ".mp3", "ogg": ".ogg", "opus": ".opus"}


def suffix_for(fmt: str) -> str:
    return _SUFFIX[fmt]


def format_for_path(path: Path, default: str = "") -> str:
    """The format named by a file's extension (``.oga`` is OGG Vorbis)."""
    ext = path.suffix.lower().lstrip(".")
    ext = {"oga": "ogg", "wave": "wav"}.get(ext, ext)
    if ext in FORMATS:
        return ext
    if default:
        return default
    raise ExportError(f"Cannot tell the audio format of {path.name!r}: use one of {', '.join(FORMATS)}.")


@dataclass(frozen=True)
class EncodeSettings:
    format: str
    sample_rate: int
    channels: int
    bit_depth: int = 24  # wav: 16, 24, 32 (float); flac: 16, 24
    bitrate_kbps: int = 192  # mp3 (CBR: 128, 192, 320), ogg, opus
    tags: tuple[tuple[str, str], ...] = ()  # title, artist, album, comment
    chapters: tuple[Chapter, ...] = ()

    def validate(self) -> None:
        if self.format not in FORMATS:
            raise ExportError(f"Unknown export format {self.format!r}: choose one of {', '.join(FORMATS)}.")
        depths = BIT_DEPTHS.get(self.format)
        if depths is not None and self.bit_depth not in depths:
            allowed = ", ".join(str(d) for d in depths)
            raise ExportError(
                f"{self.format.upper()} can be written at {allowed} bits, not {self.bit_depth}."
            )
        if self.format == "mp3" and self.bitrate_kbps not in MP3_BITRATES:
            allowed = ", ".join(str(b) for b in MP3_BITRATES)
            raise ExportError(f"MP3 bitrate must be one of {allowed} kbit/s, not {self.bitrate_kbps}.")
        if self.format in ("ogg", "opus") and not 32 <= self.bitrate_kbps <= 512:
            raise ExportError(
                f"{self.format.upper()} bitrate must be 32–512 kbit/s, not {self.bitrate_kbps}."
            )
        if self.channels not in (1, 2):
            raise ExportError(f"Only mono and stereo files can be written, not {self.channels} channels.")

    def estimated_bytes(self, frames: int) -> int:
        seconds = frames / self.sample_rate
        if self.format in LOSSY_FORMATS:
            return int(seconds * self.bitrate_kbps * 125) + 65536
        bytes_per = {16: 2, 24: 3, 32: 4}[self.bit_depth]
        raw = frames * self.channels * bytes_per
        return int(raw * (0.7 if self.format == "flac" else 1.0)) + 65536


def os_error_message(exc: OSError, path: Path) -> str:
    """A sentence a user can act on for an OS error while writing ``path``."""
    code = exc.errno
    where = str(path.parent)
    if code == errno.ENOSPC or code == errno.EDQUOT:
        return f"The disk is full: there is not enough free space in {where!r} to write {path.name!r}."
    if code in (errno.EACCES, errno.EPERM):
        return f"Permission denied: cannot write {path.name!r} in {where!r}. Choose another folder."
    if code == errno.EROFS:
        return f"The folder {where!r} is on a read-only disk. Choose another folder."
    if code in (errno.ENOTDIR, errno.EEXIST):
        return f"Cannot write {path.name!r}: part of the path {where!r} is a file, not a folder."
    if code == errno.ENAMETOOLONG:
        return f"The file name {path.name!r} is too long for this disk."
    return f"Cannot write {path.name!r} in {where!r}: {exc.strerror or exc}."


class OutputSet:
    """Temporary files that become an export's outputs together, or disappear together."""

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []
        self._created_dirs: list[Path] = []
        self._token = uuid.uuid4().hex[:8]

    def _ensure_dir(self, folder: Path) -> None:
        missing: list[Path] = []
        probe = folder
        while not probe.exists():
            missing.append(probe)
            if probe.parent == probe:
                break
            probe = probe.parent
        if probe.exists() and not probe.is_dir():
            raise ExportError(
                f"Cannot create the folder {str(folder)!r}: {str(probe)!r} is a file, not a folder."
            )
        for d in reversed(missing):
            try:
                d.mkdir()
            except FileExistsError:
                if not d.is_dir():
                    raise ExportError(
                        f"Cannot create the folder {str(d)!r}: a file of that name is in the way."
                    ) from None
                continue
            except OSError as exc:
                raise ExportError(os_error_message(exc, d / "x")) from exc
            self._created_dirs.append(d)

    def temp_for(self, dest: Path, estimated_bytes: int = 0) -> Path:
        """A temporary path beside ``dest`` (its folder is created); renamed to ``dest`` on commit.

        Asking again for the same ``dest`` gives the same temporary path (a rewrite)."""
        dest = Path(dest)
        for tmp, pending in self._pending:
            if pending == dest:
                return tmp
        if dest.is_dir():
            raise ExportError(f"Cannot write {str(dest)!r}: a folder of that name exists.")
        self._ensure_dir(dest.parent)
        if not os.access(dest.parent, os.W_OK):
            raise ExportError(os_error_message(OSError(errno.EACCES, "Permission denied"), dest))
        if estimated_bytes:
            free = shutil.disk_usage(dest.parent).free
            if free < estimated_bytes:
                need, have = estimated_bytes / 1e6, free / 1e6
                raise ExportError(
                    f"Not enough free space in {str(dest.parent)!r} for {dest.name!r}: "
                    f"about {need:.0f} MB needed, {have:.0f} MB free."
                )
        tmp = dest.parent / f".{dest.stem}.{self._token}.partial{dest.suffix}"
        self._pending.append((tmp, dest))
        return tmp

    def commit(self) -> list[Path]:
        done: list[Path] = []
        try:
            for tmp, dest in self._pending:
                os.replace(tmp, dest)
                done.append(dest)
        except OSError as exc:
            self.rollback()
            raise ExportError(os_error_message(exc, dest)) from exc
        self._pending.clear()
        self._created_dirs.clear()
        return done

    def rollback(self) -> None:
        for tmp, _ in self._pending:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
        self._pending.clear()
        for d in reversed(self._created_dirs):
            try:
                d.rmdir()
            except OSError:
                pass
        self._created_dirs.clear()

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.rollback()


class AudioWriter(Protocol):
    def write(self, block: np.ndarray) -> None:
        """Append float32 ``(frames, channels)`` audio."""
        ...

    def close(self) -> None:
        """Finish the file (raises ExportError if it could not be completed)."""
        ...

    def abort(self) -> None:
        """Stop without finishing; the caller removes the file."""
        ...


def _to_int(block: np.ndarray, bits: int, rng: np.random.Generator | None) -> np.ndarray:
    """Float ``(frames, channels)`` (any memory layout) to C-ordered PCM integers, clipped.

    16 bits get TPDF dither of ±1 LSB; 24-bit samples come left-aligned in int32 (libsndfile's PCM_24).
    """
    scale = float(2 ** (bits - 1) - 1)
    work = np.float64 if rng is not None else np.float32
    y = np.multiply(block, work(scale), dtype=work, order="C")
    if rng is not None:
        y += rng.random(y.shape) - rng.random(y.shape)
    np.rint(y, out=y)
    np.clip(y, -scale - 1, scale, out=y)
    out: np.ndarray = y.astype(np.int16 if bits == 16 else np.int32)
    if bits > 16:
        out <<= 32 - bits
    return out


class SoundfileWriter:
    """WAV / FLAC through libsndfile; converts to integers itself (clipping, TPDF dither at 16 bits)."""

    def __init__(self, path: Path, settings: EncodeSettings, dither_seed: int = 0) -> None:
        self.path = path
        self.settings = settings
        subtype = {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}[settings.bit_depth]
        fmt = "WAV" if settings.format == "wav" else "FLAC"
        try:
            self._file = sf.SoundFile(
                str(path),
                "w",
                samplerate=settings.sample_rate,
                channels=settings.channels,
                format=fmt,
                subtype=subtype,
            )
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise ExportError(f"Cannot create {path.name!r}: {exc}") from exc
        for key, value in settings.tags:
            if value and key in ("title", "artist", "album", "comment"):
                try:
                    setattr(self._file, key, value)
                except (sf.LibsndfileError, RuntimeError):
                    pass
        self._rng = np.random.default_rng(dither_seed) if settings.bit_depth == 16 else None

    def write(self, block: np.ndarray) -> None:
        if self.settings.bit_depth == 32:
            data = np.ascontiguousarray(block, dtype=np.float32)
        else:
            data = _to_int(block, self.settings.bit_depth, self._rng)
        try:
            self._file.write(data)
        except (sf.LibsndfileError, RuntimeError) as exc:
            if "space" in str(exc).lower():
                raise OSError(errno.ENOSPC, "No space left on device") from exc
            raise ExportError(f"Cannot write {self.path.name!r}: {exc}") from exc

    def close(self) -> None:
        self._file.close()

    def abort(self) -> None:
        try:
            self._file.close()
        except Exception:
            pass


class FfmpegWriter:
    """MP3 / OGG Vorbis / Opus (or anything ffmpeg writes) from raw float PCM on a pipe."""

    def __init__(self, path: Path, settings: EncodeSettings) -> None:
        self.path = path
        self.settings = settings
        self._tmpdir = tempfile.TemporaryDirectory(prefix="chorus-export-")
        self._stderr = open(Path(self._tmpdir.name) / "stderr.txt", "w+b")  # noqa: SIM115
        args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
        args += [
            "-f",
            "f32le",
            "-ar",
            str(settings.sample_rate),
            "-ac",
            str(settings.channels),
            "-i",
            "pipe:0",
        ]
        tags = {k: v for k, v in settings.tags if v}
        if tags or settings.chapters:
            meta = Path(self._tmpdir.name) / "metadata.txt"
            meta.write_text(format_ffmetadata(tags, list(settings.chapters)), encoding="utf-8")
            args += ["-f", "ffmetadata", "-i", str(meta), "-map_metadata", "1", "-map_chapters", "1"]
        args += ["-map", "0:a"]
        kbps = f"{settings.bitrate_kbps}k"
        if settings.format == "mp3":
            args += [
                "-c:a",
                "libmp3lame",
                "-b:a",
                kbps,
                "-id3v2_version",
                "3",
                "-write_id3v1",
                "1",
                "-f",
                "mp3",
            ]
        elif settings.format == "ogg":
            args += ["-c:a", "libvorbis", "-b:a", kbps, "-f", "ogg"]
        elif settings.format == "opus":
            if settings.sample_rate not in OPUS_RATES:
                args += ["-ar", "48000"]
            args += ["-c:a", "libopus", "-b:a", kbps, "-f", "opus"]
        elif settings.format == "flac":
            args += [
                "-c:a",
                "flac",
                "-sample_fmt",
                "s16" if settings.bit_depth == 16 else "s32",
                "-f",
                "flac",
            ]
        else:
            codec = {16: "pcm_s16le", 24: "pcm_s24le", 32: "pcm_f32le"}[settings.bit_depth]
            args += ["-c:a", codec, "-f", "wav"]
        args.append(str(path))
        try:
            self._proc = subprocess.Popen(
                args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr
            )
        except (OSError, FfmpegError) as exc:
            self._cleanup()
            raise ExportError(f"Cannot start ffmpeg to encode {path.name!r}: {exc}") from exc

    def _error(self, rc: int | None) -> ExportError:
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace")
        if "No space left" in text:
            return ExportError(os_error_message(OSError(errno.ENOSPC, "No space left on device"), self.path))
        if "Permission denied" in text:
            return ExportError(os_error_message(OSError(errno.EACCES, "Permission denied"), self.path))
        detail = tail(text) or f"exit status {rc}"
        return ExportError(f"ffmpeg could not encode {self.path.name!r}: {detail}")

    def write(self, block: np.ndarray) -> None:
        assert self._proc.stdin is not None
        data = np.ascontiguousarray(block, dtype="<f4")
        try:
            self._proc.stdin.write(data.tobytes())
        except (BrokenPipeError, ValueError):
            rc = self._proc.wait()
            raise self._error(rc) from None

    def close(self) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.close()
        except BrokenPipeError:
            pass
        rc = self._proc.wait()
        try:
            if rc != 0:
                raise self._error(rc)
        finally:
            self._cleanup()

    def abort(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        try:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        except OSError:
            pass
        self._proc.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        try:
            self._stderr.close()
        finally:
            self._tmpdir.cleanup()


def open_writer(path: Path, settings: EncodeSettings) -> AudioWriter:
    """A writer for ``settings.format`` at ``path`` (validates the settings first)."""
    settings.validate()
    try:
        if settings.format in ("wav", "flac"):
            return SoundfileWriter(path, settings)
        return FfmpegWriter(path, settings)
    except OSError as exc:
        raise ExportError(os_error_message(exc, path)) from exc


class ThreadedWriter:
    """Runs another writer on a helper thread, so encoding overlaps with mixing (bounded queue).

    ``tap``, if given, sees every block on the helper thread before it is written (e.g. a meter).
    """

    def __init__(
        self, inner: AudioWriter, depth: int = 3, tap: Callable[[np.ndarray], None] | None = None
    ) -> None:
        self._inner = inner
        self._tap = tap
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="chorus-audio-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            block = self._queue.get()
            if block is None:
                return
            if self._error is None:
                try:
                    if self._tap is not None:
                        self._tap(block)
                    self._inner.write(block)
                except BaseException as exc:  # handed to the producer thread
                    self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, block: np.ndarray) -> None:
        self._raise()
        self._queue.put(block)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._raise()
        self._inner.close()

    def abort(self) -> None:
        self._error = self._error or ExportError("aborted")
        self._queue.put(None)
        self._thread.join()
        self._inner.abort()
