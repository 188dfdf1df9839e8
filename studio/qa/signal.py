"""What a take's audio alone shows: leading/trailing silence, the longest pause, clipping, level.

Silence is a 20 ms window whose RMS is below ``SILENCE_DBFS`` or more than ``SILENCE_BELOW_DB`` under
the take's loudest windows (so a quiet but noisy room floor still counts as silence). Clipping is the
share of samples at full scale (|x| ≥ 0.999) that sit in runs of three or more.

Pure numpy; safe from any thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

WINDOW_S = 0.02
SILENCE_DBFS = -50.0
SILENCE_BELOW_DB = 40.0
FULL_SCALE = 0.999


@dataclass(frozen=True)
class SignalScores:
    duration: float
    leading_silence: float
    trailing_silence: float
    longest_pause: float
    clipping: float  # share of samples clipped, 0..1
    peak_dbfs: float
    level_dbfs: float  # RMS of the windows that are not silence ("speech level")


def _db(value: float) -> float:
    return 20.0 * math.log10(value) if value > 1e-10 else -200.0


def measure(audio: np.ndarray, sample_rate: int) -> SignalScores:
    """Scores of mono (or (frames, channels)) float ``audio``."""
    data = np.asarray(audio, dtype=np.float32)
    if data.ndim == 2:
        data = data.mean(axis=1)
    duration = data.size / sample_rate if sample_rate else 0.0
    window = max(1, int(round(WINDOW_S * sample_rate)))
    count = data.size // window
    if count == 0:
        return SignalScores(duration, duration, 0.0, 0.0, 0.0, -200.0, -200.0)
    frames = data[: count * window].reshape(count, window).astype(np.float64)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    rms_db = 20.0 * np.log10(np.maximum(rms, 1e-10))
    loud = float(np.percentile(rms_db, 95))
    silent = (rms_db < SILENCE_DBFS) | (rms_db < loud - SILENCE_BELOW_DB)
    peak = float(np.max(np.abs(data)))
    clipped = np.abs(data) >= FULL_SCALE
    clip_share = 0.0
    if clipped.any():
        padded = np.concatenate(([0], clipped.astype(np.int8), [0]))
        edges = np.flatnonzero(np.diff(padded))
        runs = edges[1::2] - edges[0::2]
        clip_share = float(runs[runs >= 3].sum()) / data.size
    if silent.all():
        return SignalScores(duration, duration, 0.0, 0.0, clip_share, _db(peak), -200.0)
    sound = np.flatnonzero(~silent)
    first, last = int(sound[0]), int(sound[-1])
    leading = first * WINDOW_S
    trailing = duration - (last + 1) * WINDOW_S
    inner = silent[first : last + 1]
    longest = 0
    run = 0
    for is_silent in inner:
        run = run + 1 if is_silent else 0
        longest = max(longest, run)
    level = float(np.sqrt(np.mean(rms[~silent] ** 2)))
    return SignalScores(
        round(duration, 4),
        round(leading, 3),
        round(max(0.0, trailing), 3),
        round(longest * WINDOW_S, 3),
        round(clip_share, 6),
        round(_db(peak), 2),
        round(_db(level), 2),
    )
