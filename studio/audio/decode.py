"""Reading audio files: soundfile (libsndfile: WAV, FLAC, OGG, MP3, …) with an ffmpeg fallback.

Files libsndfile cannot open (m4a/AAC, WMA, …) are decoded once by the bundled ffmpeg into a float WAV
in a temporary folder and read from there. Everything is returned as float32, ``(frames, channels)``.

Thread contract: an :class:`AudioReader` is used by one thread at a time; the functions are thread-safe.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
import soundfile as sf

from studio.audio.errors import DecodeError
from studio.audio.ffmpeg_tool import FfmpegError, decode_to_wav


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def _unreadable(path: Path, reason: str) -> DecodeError:
    return DecodeError(f"Cannot read the audio file {str(path)!r}: {reason}")


class AudioReader:
    """A seekable reader of one audio file; use as a context manager or call :meth:`close`."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        if not self.path.exists():
            raise _unreadable(self.path, "the file does not exist")
        if self.path.is_dir():
            raise _unreadable(self.path, "it is a folder, not a file")
        try:
            self._file = sf.SoundFile(str(self.path))
        except (sf.LibsndfileError, RuntimeError, TypeError) as first:
            self._file = self._open_with_ffmpeg(first)
        except OSError as exc:
            raise _unreadable(self.path, exc.strerror or str(exc)) from exc
        if self._file.samplerate <= 0 or self._file.channels <= 0:
            self.close()
            raise _unreadable(self.path, "the header declares no audio")
        self.info = AudioInfo(
            self.path, int(self._file.samplerate), int(self._file.channels), int(self._file.frames)
        )

    def _open_with_ffmpeg(self, first: Exception) -> sf.SoundFile:
        self._tmpdir = tempfile.TemporaryDirectory(prefix="chorus-decode-")
        wav = Path(self._tmpdir.name) / "decoded.wav"
        try:
            decode_to_wav(self.path, wav)
            return sf.SoundFile(str(wav))
        except (FfmpegError, sf.LibsndfileError, RuntimeError) as exc:
            self._tmpdir.cleanup()
            self._tmpdir = None
            reason = str(exc) or str(first)
            raise _unreadable(self.path, f"the file is corrupt or not audio ({reason})") from exc

    def seek(self, frame: int) -> None:
        self._file.seek(max(0, min(frame, self.info.frames)))

    def read(self, frames: int) -> np.ndarray:
        """Up to ``frames`` frames from the current position, float32 ``(n, channels)``."""
        try:
            data = self._file.read(frames, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise _unreadable(self.path, f"decoding failed ({exc})") from exc
        return np.asarray(data, dtype=np.float32)

    def close(self) -> None:
        try:
            self._file.close()
        except Exception:  # pragma: no cover - closing a broken handle
            pass
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> AudioReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def audio_info(path: Path | str) -> AudioInfo:
    """Rate, channels and length of an audio file (decoding it with ffmpeg if libsndfile can't)."""
    with AudioReader(path) as reader:
        return reader.info


def read_audio(path: Path | str) -> tuple[np.ndarray, int]:
    """The whole file as float32 ``(frames, channels)`` and its sample rate."""
    with AudioReader(path) as reader:
        data = reader.read(reader.info.frames)
        if data.shape[0] == 0 and reader.info.frames > 0:
            raise _unreadable(reader.path, "no audio data could be decoded (truncated or corrupt file)")
        return data, reader.info.sample_rate
