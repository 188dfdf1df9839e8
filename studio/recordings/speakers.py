"""Who speaks each recorded line of a mixed recording (one file, several speakers).

A small, deterministic diarisation for the common case of a few clearly different voices: each line
(segment) is described by its median pitch and its long-term average spectrum (24 log-spaced bands,
80 Hz–8 kHz, level-normalised), the features are standardised, and k-means with farthest-first
seeding groups the lines into the number of speakers the user named. Speaker order follows first
appearance, so the first voice heard gets the first name. Not a substitute for a trained diariser on
overlapping speech; lines can be reassigned afterwards.

Pure numpy; safe from any thread.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BANDS = 24
FRAME_S = 0.04
F0_RANGE = (60.0, 400.0)


def _frames(x: np.ndarray, size: int) -> np.ndarray:
    n = len(x) // size
    return x[: n * size].reshape(n, size) if n else np.zeros((0, size), np.float32)


def median_f0(mono: np.ndarray, rate: int) -> float:
    """Median pitch (Hz) of the voiced frames (autocorrelation peak), 0 when none is voiced."""
    size = int(rate * FRAME_S)
    frames = _frames(mono.astype(np.float64), size)
    if not len(frames):
        return 0.0
    energy = np.sqrt((frames**2).mean(axis=1))
    voiced = frames[energy > max(1e-4, 0.3 * np.percentile(energy, 90))]
    lo, hi = int(rate / F0_RANGE[1]), int(rate / F0_RANGE[0])
    pitches = []
    for frame in voiced:
        frame = frame - frame.mean()
        spectrum = np.fft.rfft(frame, 2 * size)
        corr = np.fft.irfft(np.abs(spectrum) ** 2)[: size]
        if corr[0] <= 0 or hi >= size:
            continue
        lag = lo + int(np.argmax(corr[lo:hi]))
        if corr[lag] / corr[0] > 0.4:
            pitches.append(rate / lag)
    return float(np.median(pitches)) if pitches else 0.0


def spectrum_shape(mono: np.ndarray, rate: int) -> np.ndarray:
    """Long-term average spectrum in :data:`BANDS` log-spaced bands (dB, mean removed)."""
    size = 1024
    frames = _frames(mono.astype(np.float64), size)
    if not len(frames):
        return np.zeros(BANDS)
    power = (np.abs(np.fft.rfft(frames * np.hanning(size), axis=1)) ** 2).mean(axis=0)
    freqs = np.fft.rfftfreq(size, 1.0 / rate)
    edges = np.geomspace(80.0, min(8000.0, rate / 2 - 1), BANDS + 1)
    bands = np.array([power[(freqs >= a) & (freqs < b)].sum() + 1e-12 for a, b in zip(edges[:-1], edges[1:], strict=True)])
    db = 10 * np.log10(bands)
    return np.asarray(db - db.mean())


def features(parts: Sequence[tuple[np.ndarray, int]]) -> np.ndarray:
    """One feature row per segment's audio (mono, rate): pitch (weighted ×4) and spectrum shape."""
    rows = []
    for mono, rate in parts:
        f0 = median_f0(mono, rate)
        pitch = 12 * np.log2(f0 / 100.0) if f0 > 0 else 0.0
        rows.append(np.concatenate([[pitch] * 4, spectrum_shape(mono, rate)]))
    return np.array(rows)


def assign_speakers(parts: Sequence[tuple[np.ndarray, int]], speakers: int) -> list[int]:
    """A speaker index (0 … speakers−1, in order of first appearance) for each segment's audio."""
    n = len(parts)
    if speakers <= 1 or n == 0:
        return [0] * n
    k = min(speakers, n)
    x = features(parts)
    spread = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(spread > 1e-9, spread, 1.0)
    centres = [x[0]]
    for _ in range(1, k):
        distance = np.min([((x - c) ** 2).sum(axis=1) for c in centres], axis=0)
        centres.append(x[int(np.argmax(distance))])
    centre = np.array(centres)
    labels = np.zeros(n, dtype=int)
    for _ in range(50):
        labels = np.argmin(((x[:, None, :] - centre[None, :, :]) ** 2).sum(axis=2), axis=1)
        moved = np.array([x[labels == j].mean(axis=0) if np.any(labels == j) else centre[j] for j in range(k)])
        if np.allclose(moved, centre):
            break
        centre = moved
    order: dict[int, int] = {}
    for label in labels:
        order.setdefault(int(label), len(order))
    return [order[int(label)] for label in labels]
