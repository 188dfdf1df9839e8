"""Waveform peak summaries: min/max/rms of a media file at several resolutions, computed once.

A summary is stored beside the audio as ``media/<name>.peaks.npz`` (REAPER-style multi-level peak
file; Tenacity keeps the same min/max/rms per block). Each level holds one row per bucket of
``bucket`` source frames, channels mixed to mono: ``min``, ``max`` (signed) and ``rms``. Drawing code
picks the coarsest level whose bucket is no wider than one pixel (:meth:`Peaks.level_for`) and
reduces it further to pixel columns with :func:`columns`.

Media files are immutable (content-addressed), so a stored summary never goes stale; a summary written
by another version (``PEAKS_VERSION``) or an unreadable one is recomputed.

Thread contract: pure functions and immutable results; :func:`load_or_compute` may run on any
thread (it only reads the media file and writes the ``.peaks.npz`` through a temporary file + rename).
"""

from __future__ import annotations

import contextlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.audio.decode import AudioReader
from studio.core.files import atomic_target

PEAKS_VERSION = 1
PEAKS_SUFFIX = ".peaks.npz"
# Source frames per bucket, finest first. At 48 kHz: ~5 ms, ~85 ms, ~1.4 s.
LEVELS: tuple[int, ...] = (256, 4096, 65536)
READ_BLOCK = 1 << 18  # frames read per step (a multiple of every bucket size)


class PeaksError(RuntimeError):
    """The audio file cannot be summarised (unreadable, missing)."""


@dataclass(frozen=True)
class PeakLevel:
    """One resolution: ``bucket`` source frames per row; arrays are float32 of equal length."""

    bucket: int
    min: np.ndarray
    max: np.ndarray
    rms: np.ndarray

    def __len__(self) -> int:
        return int(self.min.shape[0])


@dataclass(frozen=True)
class Peaks:
    sample_rate: int
    frames: int
    levels: tuple[PeakLevel, ...]  # finest first

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    def level_for(self, seconds_per_pixel: float) -> PeakLevel:
        """The coarsest level whose bucket is at most one pixel wide (the finest if none is)."""
        frames_per_pixel = seconds_per_pixel * self.sample_rate
        best = self.levels[0]
        for level in self.levels:
            if level.bucket <= frames_per_pixel:
                best = level
        return best


def peaks_path(audio: Path) -> Path:
    return audio.with_name(audio.name + PEAKS_SUFFIX)


def compute_peaks(audio: Path, levels: tuple[int, ...] = LEVELS) -> Peaks:
    """Read ``audio`` block by block (bounded memory) and summarise it at every level."""
    finest = levels[0]
    if any(b % finest for b in levels) or READ_BLOCK % max(levels):
        raise ValueError("every level must be a multiple of the finest, and READ_BLOCK of every level")
    mins: list[np.ndarray] = []
    maxs: list[np.ndarray] = []
    sqs: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    try:
        with AudioReader(audio) as reader:
            rate = reader.info.sample_rate
            total = 0
            while True:
                block = reader.read(READ_BLOCK)
                n = block.shape[0]
                if n == 0:
                    break
                total += n
                mono = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
                buckets = -(-n // finest)
                padded = np.zeros(buckets * finest, dtype=np.float32)
                padded[:n] = mono
                shaped = padded.reshape(buckets, finest)
                count = np.full(buckets, finest, dtype=np.float32)
                count[-1] = n - (buckets - 1) * finest
                if count[-1] < finest:  # don't let the zero padding become a fake minimum/maximum
                    tail = shaped[-1, : int(count[-1])]
                    shaped_min = shaped.min(axis=1)
                    shaped_max = shaped.max(axis=1)
                    shaped_min[-1] = tail.min()
                    shaped_max[-1] = tail.max()
                else:
                    shaped_min = shaped.min(axis=1)
                    shaped_max = shaped.max(axis=1)
                mins.append(shaped_min)
                maxs.append(shaped_max)
                sqs.append(np.square(shaped, dtype=np.float32).sum(axis=1))
                counts.append(count)
                if n < READ_BLOCK:
                    break
    except Exception as exc:  # decode errors of any kind: one clear error
        raise PeaksError(f"cannot draw the waveform of {audio.name}: {exc}") from exc
    fine_min = np.concatenate(mins) if mins else np.zeros(0, np.float32)
    fine_max = np.concatenate(maxs) if maxs else np.zeros(0, np.float32)
    fine_sq = np.concatenate(sqs) if sqs else np.zeros(0, np.float32)
    fine_n = np.concatenate(counts) if counts else np.zeros(0, np.float32)
    out: list[PeakLevel] = []
    for bucket in levels:
        factor = bucket // finest
        out.append(_reduce(bucket, factor, fine_min, fine_max, fine_sq, fine_n))
    return Peaks(int(rate), int(total), tuple(out))


def _reduce(
    bucket: int, factor: int, mn: np.ndarray, mx: np.ndarray, sq: np.ndarray, n: np.ndarray
) -> PeakLevel:
    rows = -(-mn.shape[0] // factor) if mn.shape[0] else 0
    pad = rows * factor - mn.shape[0]
    if pad:
        mn = np.concatenate([mn, np.full(pad, np.inf, np.float32)])
        mx = np.concatenate([mx, np.full(pad, -np.inf, np.float32)])
        sq = np.concatenate([sq, np.zeros(pad, np.float32)])
        n = np.concatenate([n, np.zeros(pad, np.float32)])
    lo = mn.reshape(rows, factor).min(axis=1)
    hi = mx.reshape(rows, factor).max(axis=1)
    total_sq = sq.reshape(rows, factor).sum(axis=1)
    total_n = np.maximum(n.reshape(rows, factor).sum(axis=1), 1.0)
    rms = np.sqrt(total_sq / total_n)
    return PeakLevel(bucket, lo.astype(np.float32), hi.astype(np.float32), rms.astype(np.float32))


def save_peaks(peaks: Peaks, path: Path) -> None:
    """Write atomically (temporary file in the same folder, then rename)."""
    arrays: dict[str, np.ndarray] = {
        "meta": np.array([PEAKS_VERSION, peaks.sample_rate, peaks.frames], dtype=np.int64),
        "buckets": np.array([lv.bucket for lv in peaks.levels], dtype=np.int64),
    }
    for i, level in enumerate(peaks.levels):
        arrays[f"min{i}"] = level.min
        arrays[f"max{i}"] = level.max
        arrays[f"rms{i}"] = level.rms
    with atomic_target(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]


def read_peaks(path: Path) -> Peaks | None:
    """A stored summary, or None if it is absent, unreadable or from another version."""
    try:
        with np.load(path) as data:
            meta = data["meta"]
            if int(meta[0]) != PEAKS_VERSION:
                return None
            levels = tuple(
                PeakLevel(int(bucket), data[f"min{i}"], data[f"max{i}"], data[f"rms{i}"])
                for i, bucket in enumerate(data["buckets"])
            )
            return Peaks(int(meta[1]), int(meta[2]), levels)
    except (OSError, KeyError, ValueError, IndexError, EOFError, zipfile.BadZipFile):
        return None


def load_or_compute(audio: Path) -> Peaks:
    """The stored summary beside ``audio``, computing and storing it first if needed.

    A folder that cannot be written (a read-only project) still gets its peaks, just not stored.
    """
    stored = peaks_path(audio)
    if stored.is_file():
        peaks = read_peaks(stored)
        if peaks is not None:
            return peaks
    if not audio.is_file():
        raise PeaksError(f"the audio file {audio.name} is missing")
    peaks = compute_peaks(audio)
    with contextlib.suppress(OSError):
        save_peaks(peaks, stored)
    return peaks


def columns(
    level: PeakLevel, first_bucket: float, buckets_per_column: float, n_columns: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reduce ``level`` to ``n_columns`` pixel columns: (min, max, rms) arrays, NaN where no audio.

    Column ``i`` covers buckets ``[first_bucket + i·k, first_bucket + (i+1)·k)`` with ``k`` =
    ``buckets_per_column`` (may be < 1 when zoomed in: a bucket then spans several columns).
    """
    n = len(level)
    edges = first_bucket + buckets_per_column * np.arange(n_columns + 1, dtype=np.float64)
    lo_idx = np.floor(edges[:-1]).astype(np.int64)
    hi_idx = np.maximum(np.ceil(edges[1:]).astype(np.int64), lo_idx + 1)
    valid = (lo_idx < n) & (hi_idx > 0)
    lo_idx = np.clip(lo_idx, 0, max(n - 1, 0))
    hi_idx = np.clip(hi_idx, 1, max(n, 1))
    out_min = np.full(n_columns, np.nan, np.float32)
    out_max = np.full(n_columns, np.nan, np.float32)
    out_rms = np.full(n_columns, np.nan, np.float32)
    if n == 0 or not valid.any():
        return out_min, out_max, out_rms
    if buckets_per_column <= 1.0:
        # each column touches one or two buckets: take the bucket at its left edge
        out_min[valid] = level.min[lo_idx[valid]]
        out_max[valid] = level.max[lo_idx[valid]]
        out_rms[valid] = level.rms[lo_idx[valid]]
        return out_min, out_max, out_rms
    starts = lo_idx[valid]
    out_min[valid] = np.minimum.reduceat(level.min, starts)[: starts.shape[0]]
    out_max[valid] = np.maximum.reduceat(level.max, starts)[: starts.shape[0]]
    out_rms[valid] = np.maximum.reduceat(level.rms, starts)[: starts.shape[0]]
    # reduceat runs each segment to the next start; the last valid column must stop at its hi edge
    last = np.flatnonzero(valid)[-1]
    out_min[last] = level.min[lo_idx[last] : hi_idx[last]].min()
    out_max[last] = level.max[lo_idx[last] : hi_idx[last]].max()
    out_rms[last] = level.rms[lo_idx[last] : hi_idx[last]].max()
    return out_min, out_max, out_rms
