"""Piper voice variants: distinct, stable voices from one voice file (pitch shift + rate).

Each variant is a fixed (pitch shift, rate) pair (:func:`variant_params`); the pitch shift keeps
duration (WSOLA time-stretch + resampling), so a variant sounds like a different person, not a faster
tape. Pure numpy DSP (soxr for resampling), no Piper import.

Thread contract: pure functions, callable from any thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class VoiceVariant:
    """How a variant differs from the voice: pitch in semitones, rate as a Piper length scale."""

    semitones: float = 0.0
    length_scale: float = 1.0


_VARIANTS: tuple[VoiceVariant, ...] = (
    VoiceVariant(0.0, 1.00),  # 0 the voice as it is
    VoiceVariant(-3.0, 1.06),  # 1 lower, slightly slower
    VoiceVariant(3.0, 0.96),  # 2 higher, slightly quicker
    VoiceVariant(-5.0, 1.00),  # 3 deep
    VoiceVariant(5.0, 1.03),  # 4 bright
    VoiceVariant(-1.5, 0.93),  # 5 a little lower, brisk
    VoiceVariant(1.5, 1.09),  # 6 a little higher, unhurried
    VoiceVariant(-7.0, 1.04),  # 7 very deep
)


def variant_params(variant: int) -> VoiceVariant:
    """The fixed pitch/rate of a variant (deterministic; any int is valid, negatives mirror positives).

    Variants 0–7 come from a table; higher ones cycle through it with an extra offset of ±0.75
    semitone per round so they stay distinct.
    """
    index = abs(int(variant))
    base = _VARIANTS[index % len(_VARIANTS)]
    rounds = index // len(_VARIANTS)
    if rounds == 0:
        return base
    offset = 0.75 * ((rounds + 1) // 2) * (1 if rounds % 2 else -1)
    semitones = float(np.clip(base.semitones + offset, -9.0, 9.0))
    return VoiceVariant(semitones, base.length_scale)


def time_stretch(audio: np.ndarray, factor: float, sample_rate: int) -> np.ndarray:
    """Stretch ``audio`` to ``round(len * factor)`` samples keeping its pitch (WSOLA).

    Frames of 32 ms are overlap-added at a fixed output hop; each is taken from within ±8 ms of its
    nominal input position where it best continues the previous frame (cross-correlation), which keeps
    the waveform periodic across joins.
    """
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    n = len(x)
    n_out = int(round(n * factor))
    if n == 0 or n_out == 0:
        return np.zeros(n_out, dtype=np.float32)
    win = max(16, int(0.032 * sample_rate) // 2 * 2)
    hop = win // 2
    tol = max(1, int(0.008 * sample_rate))
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win) / win)  # periodic Hann: sums to 1 at hop win/2
    pad = win + tol
    frames = int(np.ceil(n_out / hop)) + 1
    hop_in = hop / factor
    xp = np.concatenate([np.zeros(pad), x, np.zeros(pad + win + int(np.ceil(hop_in)) + 2)])
    out = np.zeros(frames * hop + win)
    norm = np.zeros_like(out)
    nfft = 1 << int(np.ceil(np.log2(2 * win + 2 * tol)))
    region_len = win + 2 * tol
    prev = pad - hop
    for k in range(frames):
        nominal = pad + int(round(k * hop_in))
        lo = max(nominal - tol, 0)
        pos = nominal
        template = xp[prev + hop : prev + hop + win]
        if k > 0 and template.any():
            region = xp[lo : lo + region_len]
            spectrum = np.fft.rfft(region, nfft) * np.conj(np.fft.rfft(template, nfft))
            corr = np.fft.irfft(spectrum, nfft)[: len(region) - win + 1]
            pos = lo + int(np.argmax(corr))
        out[k * hop : k * hop + win] += xp[pos : pos + win] * window
        norm[k * hop : k * hop + win] += window
        prev = pos
    out = out[:n_out]
    weight = norm[:n_out]
    out = np.where(weight > 1e-3, out / np.maximum(weight, 1e-3), out)
    return out.astype(np.float32)


def pitch_shift(audio: np.ndarray, sample_rate: int, semitones: float) -> np.ndarray:
    """Shift pitch by ``semitones`` keeping the exact length (stretch by r, then resample by 1/r).

    Formants move with the pitch, which is what makes a shifted variant sound like another speaker.
    """
    import soxr

    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    if abs(semitones) < 1e-6 or len(x) == 0:
        return x.copy()
    ratio = float(2.0 ** (semitones / 12.0))
    stretched = time_stretch(x, ratio, sample_rate)
    shifted = np.asarray(soxr.resample(stretched, sample_rate * ratio, sample_rate, quality="HQ"), np.float32)
    if len(shifted) >= len(x):
        return shifted[: len(x)]
    return np.concatenate([shifted, np.zeros(len(x) - len(shifted), dtype=np.float32)])
