"""Clip sources: media files decoded and resampled to the project rate, read by frame range.

Short files (most takes, sound effects, a music loop) are decoded and resampled once and kept in
memory, least-recently-used first out when over the cache's byte budget. Long files (an hour-long
music bed) are streamed: decoded and resampled block by block as the mixer moves forward; a jump
restarts the stream on the common sample grid with a pre-roll (see :mod:`studio.audio.resample`).

All audio is planar float32 ``(channels, frames)`` at the project rate; files with more than two
channels keep their first two.

Thread contract: a :class:`SourceCache` and the sources it hands out belong to one thread (each
mixer worker makes its own). Arrays returned by ``read`` are read-only and must not be modified.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from studio.audio.decode import AudioReader
from studio.audio.resample import SEEK_PREROLL, StreamResampler, grid_step, resampled_length

MediaResolver = Callable[[str], Path]

# A source bigger than this (float32 at the project rate) is streamed instead of held in memory.
STREAM_OVER_BYTES = 160 * 1024 * 1024  # ≈ 14 min of 48 kHz stereo
# Default budget of the in-memory cache.
CACHE_BUDGET_BYTES = 384 * 1024 * 1024
# Input frames decoded per step of a streaming source.
STREAM_BLOCK = 1 << 16
# Output frames a streaming source keeps behind the last read (small backward reads need no restart).
STREAM_KEEP = 1 << 15
# How far ahead of its position a streaming source decodes through instead of restarting.
STREAM_SKIP = 1 << 18


@dataclass(frozen=True)
class SourceInfo:
    media: str
    path: Path
    frames: int  # at the project rate
    channels: int  # 1 or 2
    file_rate: int


class Source(Protocol):
    info: SourceInfo

    def read(self, start: int, frames: int) -> np.ndarray:
        """Planar float32 ``(channels, frames)``; zeros outside the file."""
        ...


def _take_channels(block: np.ndarray) -> np.ndarray:
    return block[:, :2] if block.shape[1] > 2 else block


class MemorySource:
    """A whole file resampled into memory."""

    def __init__(self, info: SourceInfo, data: np.ndarray) -> None:
        self.info = info
        self.data = data  # (channels, frames), read-only
        self.data.flags.writeable = False

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)

    def read(self, start: int, frames: int) -> np.ndarray:
        total = self.data.shape[1]
        if start >= 0 and start + frames <= total:
            return self.data[:, start : start + frames]
        out = np.zeros((self.data.shape[0], frames), dtype=np.float32)
        a, b = max(start, 0), min(start + frames, total)
        if a < b:
            out[:, a - start : b - start] = self.data[:, a:b]
        return out


class StreamingSource:
    """A long file decoded and resampled on the fly; cheap for forward reads."""

    def __init__(self, info: SourceInfo, sample_rate: int) -> None:
        self.info = info
        self._rate = sample_rate
        self._reader = AudioReader(info.path)
        self._in_channels = self._reader.info.channels
        self._resampler = StreamResampler(info.file_rate, sample_rate, min(self._in_channels, 2))
        self._step_in, self._step_out = grid_step(info.file_rate, sample_rate)
        self._buf = np.zeros((info.channels, 0), dtype=np.float32)
        self._buf_start = 0  # output frame of self._buf[:, 0]
        self._eof = False
        self._restart(0)

    def _restart(self, out_frame: int) -> None:
        if self.info.file_rate == self._rate:
            k_in = k_out = max(0, out_frame)
        else:
            k = max(0, out_frame - SEEK_PREROLL) // self._step_out
            k_in, k_out = k * self._step_in, k * self._step_out
        self._reader.seek(k_in)
        self._resampler.reset()
        self._buf = np.zeros((self.info.channels, 0), dtype=np.float32)
        self._buf_start = k_out
        self._eof = False

    @property
    def _buf_end(self) -> int:
        return self._buf_start + self._buf.shape[1]

    def _fill_to(self, end: int) -> None:
        parts = [self._buf]
        have = self._buf_end
        while have < end and not self._eof:
            block = _take_channels(self._reader.read(STREAM_BLOCK))
            self._eof = block.shape[0] < STREAM_BLOCK
            out = self._resampler.process(block, last=self._eof)
            parts.append(np.ascontiguousarray(out.T))
            have += out.shape[0]
        if len(parts) > 1:
            self._buf = np.concatenate(parts, axis=1)

    def read(self, start: int, frames: int) -> np.ndarray:
        out = np.zeros((self.info.channels, frames), dtype=np.float32)
        a, b = max(start, 0), min(start + frames, self.info.frames)
        if a >= b:
            return out
        if a < self._buf_start or a > self._buf_end + STREAM_SKIP:
            self._restart(a)
        self._fill_to(b)
        lo, hi = a - self._buf_start, min(b, self._buf_end) - self._buf_start
        if hi > lo:
            out[:, a - start : a - start + hi - lo] = self._buf[:, lo:hi]
        drop = max(0, lo + (hi - lo) - STREAM_KEEP)
        if drop > 0:
            self._buf = self._buf[:, drop:].copy()
            self._buf_start += drop
        return out

    def close(self) -> None:
        self._reader.close()


class SourceCache:
    """Hands out sources for media names, resolved with ``media_resolver`` and cached by byte budget."""

    def __init__(
        self,
        media_resolver: MediaResolver,
        sample_rate: int,
        budget_bytes: int = CACHE_BUDGET_BYTES,
        stream_over_bytes: int = STREAM_OVER_BYTES,
    ) -> None:
        self.resolve = media_resolver
        self.sample_rate = sample_rate
        self.budget_bytes = budget_bytes
        self.stream_over_bytes = stream_over_bytes
        self._infos: dict[str, SourceInfo] = {}
        self._memory: OrderedDict[str, MemorySource] = OrderedDict()
        self._streams: OrderedDict[tuple[str, str], StreamingSource] = OrderedDict()
        self._bytes = 0

    def info(self, media: str) -> SourceInfo:
        """Length (project rate) and channels of a media file; raises DecodeError if unreadable."""
        info = self._infos.get(media)
        if info is None:
            path = Path(self.resolve(media))
            with AudioReader(path) as reader:
                fi = reader.info
            info = SourceInfo(
                media=media,
                path=path,
                frames=resampled_length(fi.frames, fi.sample_rate, self.sample_rate),
                channels=min(fi.channels, 2),
                file_rate=fi.sample_rate,
            )
            self._infos[media] = info
        return info

    def streams(self, media: str) -> bool:
        info = self.info(media)
        return info.frames * info.channels * 4 > self.stream_over_bytes

    def get(self, media: str, key: str = "") -> Source:
        """The source for ``media``; streamed sources are per ``key`` (one stream per clip)."""
        if self.streams(media):
            return self._stream(media, key)
        src = self._memory.get(media)
        if src is not None:
            self._memory.move_to_end(media)
            return src
        src = self._load(media)
        self._memory[media] = src
        self._bytes += src.nbytes
        while self._bytes > self.budget_bytes and len(self._memory) > 1:
            _, old = self._memory.popitem(last=False)
            self._bytes -= old.nbytes
        return src

    def _load(self, media: str) -> MemorySource:
        """Decode and resample block by block into one planar array (memory: the result + a block)."""
        info = self.info(media)
        planar = np.zeros((info.channels, info.frames), dtype=np.float32)
        resampler = StreamResampler(info.file_rate, self.sample_rate, info.channels)
        pos = 0
        with AudioReader(info.path) as reader:
            while True:
                block = _take_channels(reader.read(STREAM_BLOCK * 4))
                last = block.shape[0] < STREAM_BLOCK * 4
                out = resampler.process(block, last=last)
                n = min(out.shape[0], info.frames - pos)
                if n > 0:
                    planar[:, pos : pos + n] = out[:n].T
                    pos += n
                if last:
                    break
        return MemorySource(info, planar)

    def _stream(self, media: str, key: str) -> StreamingSource:
        k = (media, key)
        src = self._streams.get(k)
        if src is None:
            src = StreamingSource(self.info(media), self.sample_rate)
            self._streams[k] = src
            while len(self._streams) > 16:
                _, old = self._streams.popitem(last=False)
                old.close()
        else:
            self._streams.move_to_end(k)
        return src

    def close(self) -> None:
        for src in self._streams.values():
            src.close()
        self._streams.clear()
        self._memory.clear()
        self._bytes = 0
