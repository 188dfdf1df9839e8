"""The waveform at sample level: what the timeline draws when it is zoomed in past the finest peak
level (:data:`studio.render.peaks.LEVELS`, 256 frames), so the samples themselves are drawn
instead of blocks of peaks.

The drawn signal is the samples joined by straight lines (as Audacity and Sonic Visualiser draw it).
:func:`trace_extent` gives, for every pixel column, the lowest and highest point of that line inside
the column — exact, whether a column covers many samples (their min/max, joined to the neighbours so
the trace has no gaps) or a sample spans many columns (the line between two samples).
:func:`sample_marks` places a dot on each sample once they are far enough apart to see.

Samples are read in blocks of :data:`BLOCK` frames, mixed to mono (:func:`read_block`,
:class:`BlockReader`); the widget caches them (:mod:`studio.ui.qt_sample_store`) and reads them
on a worker.

Pure functions (except :func:`read_block`, which reads a file); safe from any thread.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np

from studio.audio.decode import AudioReader

BLOCK = 1 << 15  # frames per cached block of samples (0.68 s at 48 kHz)
MARK_MIN_PX = 4.0  # samples at least this far apart get a dot


def wants_samples(px_per_s: float, sample_rate: int, finest_bucket: int) -> bool:
    """True when one pixel column covers fewer frames than the finest peak bucket (peaks would be
    drawn as blocks several pixels wide): draw the samples instead."""
    return px_per_s > 0 and sample_rate / px_per_s < finest_bucket


def block_range(first_frame: float, last_frame: float) -> range:
    """The indices of the :data:`BLOCK` blocks that hold frames ``[first_frame, last_frame]`` (+1 each side
    for the lines to the neighbouring samples)."""
    lo = max(0, int(np.floor(first_frame)) - 1) // BLOCK
    hi = max(0, int(np.ceil(last_frame)) + 1) // BLOCK
    return range(lo, hi + 1)


def read_block(path: Path | str, index: int) -> np.ndarray:
    """Block ``index`` of the file's samples, mono float32 (shorter at the end, empty past it)."""
    with AudioReader(path) as reader:
        return _block(reader, index)


def _block(reader: AudioReader, index: int) -> np.ndarray:
    start = index * BLOCK
    if start >= reader.info.frames:
        return np.zeros(0, np.float32)
    reader.seek(start)
    data = reader.read(BLOCK)
    mono = data.mean(axis=1) if data.ndim == 2 else data
    return np.ascontiguousarray(mono, dtype=np.float32)


class BlockReader:
    """:func:`read_block` keeping the last few files open, so a file only ffmpeg can read (m4a, WMA)
    is decoded once, not once per block. Thread contract: one thread at a time."""

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self._open: OrderedDict[Path, AudioReader] = OrderedDict()

    def read(self, path: Path | str, index: int) -> np.ndarray:
        key = Path(path)
        reader = self._open.get(key)
        if reader is None:
            reader = AudioReader(key)
            self._open[key] = reader
            while len(self._open) > self.keep:
                _, old = self._open.popitem(last=False)
                old.close()
        else:
            self._open.move_to_end(key)
        return _block(reader, index)

    def close(self) -> None:
        for reader in self._open.values():
            reader.close()
        self._open.clear()


def trace_extent(
    samples: np.ndarray, window_start: int, first_frame: float, frames_per_col: float, cols: int
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of the joined-samples line in each of ``cols`` pixel columns; NaN where no audio.

    ``samples[i]`` is frame ``window_start + i``; column ``c`` covers frames
    ``[first_frame + c·k, first_frame + (c+1)·k]`` with ``k = frames_per_col`` (any k > 0).
    """
    n = samples.shape[0]
    lo = np.full(cols, np.nan, np.float32)
    hi = np.full(cols, np.nan, np.float32)
    if n == 0 or cols <= 0 or frames_per_col <= 0:
        return lo, hi
    edges = first_frame + frames_per_col * np.arange(cols + 1, dtype=np.float64) - window_start
    inside = (edges[1:] >= 0) & (edges[:-1] <= n - 1)
    if not inside.any():
        return lo, hi
    clipped = np.clip(edges, 0, n - 1)
    at_edges = np.interp(clipped, np.arange(n, dtype=np.float64), samples.astype(np.float64))
    lo_v = np.minimum(at_edges[:-1], at_edges[1:])
    hi_v = np.maximum(at_edges[:-1], at_edges[1:])
    # samples strictly inside a column (those on its edges are in at_edges already)
    starts = np.floor(clipped[:-1]).astype(np.int64) + 1
    stops = np.ceil(clipped[1:]).astype(np.int64)
    has = inside & (stops > starts)
    if has.any():
        seg_min, seg_max = _segments_min_max(samples, starts[has], stops[has])
        lo_v[has] = np.minimum(lo_v[has], seg_min)
        hi_v[has] = np.maximum(hi_v[has], seg_max)
    lo[inside] = lo_v[inside]
    hi[inside] = hi_v[inside]
    return lo, hi


def _segments_min_max(x: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """min and max of ``x[starts[i]:stops[i]]`` for non-empty ranges in order (``stops[i] <= starts[i+1]``),
    in one ``reduceat`` each: the ranges interleaved with the gaps between them, every other result kept."""
    padded = np.append(x, x[-1:])  # reduceat indices must be < len: a stop may be len(x)
    bounds = np.empty(starts.shape[0] * 2, np.int64)
    bounds[0::2] = starts
    bounds[1::2] = stops
    return np.minimum.reduceat(padded, bounds)[0::2], np.maximum.reduceat(padded, bounds)[0::2]


def sample_marks(
    window_start: int, n: int, first_frame: float, frames_per_col: float, cols: int
) -> tuple[np.ndarray, np.ndarray]:
    """(x in columns, index into the window) of the samples to dot: none unless they are at least
    :data:`MARK_MIN_PX` columns apart."""
    if frames_per_col <= 0 or 1.0 / frames_per_col < MARK_MIN_PX or n == 0:
        return np.zeros(0), np.zeros(0, np.int64)
    f0 = max(window_start, int(np.ceil(first_frame)))
    f1 = min(window_start + n - 1, int(np.floor(first_frame + frames_per_col * cols)))
    if f1 < f0:
        return np.zeros(0), np.zeros(0, np.int64)
    frames = np.arange(f0, f1 + 1)
    return (frames - first_frame) / frames_per_col, frames - window_start
