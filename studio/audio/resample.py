"""Sample-rate conversion with soxr, whole-buffer or streaming (chunked output == whole-buffer output).

``soxr.ResampleStream`` output does not depend on how the input is chunked, and equals
``soxr.resample`` on the whole buffer bit for bit; :class:`StreamResampler` keeps that property.
A stream restarted at an input frame that is a multiple of ``in_rate / gcd(in_rate, out_rate)`` stays
on the same output grid, and after :data:`SEEK_PREROLL` output frames matches the uninterrupted
stream to float32 rounding (~2e-7) — that is how a long source seeks.

Thread contract: a :class:`StreamResampler` is used by one thread at a time; functions are thread-safe.
"""

from __future__ import annotations

import math

import numpy as np
import soxr

QUALITY = "HQ"
# Output frames to discard after restarting a stream mid-file (soxr HQ settles in < 300 frames).
SEEK_PREROLL = 2048


def resampled_length(frames: int, in_rate: int, out_rate: int) -> int:
    """Number of frames soxr produces for ``frames`` input frames (round half up of frames·out/in)."""
    if in_rate == out_rate:
        return frames
    return (2 * frames * out_rate + in_rate) // (2 * in_rate)


def grid_step(in_rate: int, out_rate: int) -> tuple[int, int]:
    """(input frames, output frames) of the smallest interval that starts on both sample grids."""
    g = math.gcd(in_rate, out_rate)
    return in_rate // g, out_rate // g


def resample(data: np.ndarray, in_rate: int, out_rate: int) -> np.ndarray:
    """Resample float32 ``(frames, channels)`` audio; returns float32 ``(frames', channels)``."""
    data = np.ascontiguousarray(data, dtype=np.float32)
    if in_rate == out_rate or data.shape[0] == 0:
        return data
    out = soxr.resample(data, in_rate, out_rate, quality=QUALITY)
    return np.asarray(out, dtype=np.float32).reshape(-1, data.shape[1])


class StreamResampler:
    """Streaming resampler: feed blocks in order with :meth:`process`, the last one with ``last=True``."""

    def __init__(self, in_rate: int, out_rate: int, channels: int) -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self.channels = channels
        self._stream: soxr.ResampleStream | None = None
        self.reset()

    def reset(self) -> None:
        if self.in_rate != self.out_rate:
            self._stream = soxr.ResampleStream(
                self.in_rate, self.out_rate, self.channels, dtype=np.float32, quality=QUALITY
            )

    def process(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        block = np.ascontiguousarray(block, dtype=np.float32).reshape(-1, self.channels)
        if self._stream is None:
            return block
        out = self._stream.resample_chunk(block, last=last)
        return np.asarray(out, dtype=np.float32).reshape(-1, self.channels)
