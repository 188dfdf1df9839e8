"""Audio helpers for recordings: streamed reading, quiet points, zero crossings, matching a patch.

Thread contract: pure functions of arrays and files; safe from any worker thread.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile as sf

from studio.audio.decode import AudioReader
from studio.audio.errors import DecodeError
from studio.audio.loudness import LoudnessMeter, k_weighting_sos

FRAME_S = 0.02  # analysis frame for level envelopes


class RecordingError(ValueError):
    """A recording or an edit that cannot be done; the message is one line that says what."""


def mono_of(block: np.ndarray) -> np.ndarray:
    block = np.asarray(block, dtype=np.float32)
    return block.mean(axis=1) if block.ndim == 2 else block


def read_span(path: Path, start: float, end: float) -> tuple[np.ndarray, int]:
    """Mono float32 samples of ``path`` from ``start`` to ``end`` seconds, and the file's rate."""
    try:
        with AudioReader(path) as reader:
            rate = reader.info.sample_rate
            a = max(0, int(round(start * rate)))
            b = min(reader.info.frames, int(round(end * rate)))
            reader.seek(a)
            return mono_of(reader.read(max(0, b - a))), rate
    except DecodeError as exc:
        raise RecordingError(str(exc)) from None


def level_db(mono: np.ndarray, rate: int, frame_s: float = FRAME_S) -> np.ndarray:
    """RMS level (dBFS) per ``frame_s`` frame."""
    n = max(1, int(rate * frame_s))
    usable = len(mono) // n * n
    if usable == 0:
        return np.full(1, -120.0)
    frames = mono[:usable].reshape(-1, n).astype(np.float64)
    return np.asarray(10 * np.log10(np.mean(frames**2, axis=1) + 1e-12))


def quietest_frame(mono: np.ndarray, rate: int, lo: int, hi: int) -> int:
    """The sample index (frame centre) of the quietest ``FRAME_S`` frame between ``lo`` and ``hi``."""
    n = max(1, int(rate * FRAME_S))
    lo, hi = max(0, lo), min(len(mono), hi)
    if hi - lo < 2 * n:
        return hi
    levels = level_db(mono[lo:hi], rate)
    return lo + int(np.argmin(levels)) * n + n // 2


def snap_to_zero(mono: np.ndarray, index: int, window: int) -> int:
    """The sample nearest ``index`` (within ``window``) where the signal crosses zero (or is smallest)."""
    a, b = max(1, index - window), min(len(mono) - 1, index + window)
    if b <= a:
        return index
    seg = mono[a - 1 : b + 1]
    crossings = np.nonzero(np.signbit(seg[:-1]) != np.signbit(seg[1:]))[0] + a
    if crossings.size:
        return int(crossings[np.argmin(np.abs(crossings - index))])
    return a + int(np.argmin(np.abs(mono[a:b])))


def loudness_lufs(mono: np.ndarray, rate: int) -> float:
    """Integrated loudness (LUFS, mono); falls back to K-weighted RMS for audio under one 400 ms block."""
    meter = LoudnessMeter(rate, 1)
    meter.add(np.asarray(mono, dtype=np.float64)[:, None])
    value = meter.integrated_lufs()
    if not np.isfinite(value) or len(mono) < int(0.4 * rate):
        from scipy import signal

        weighted = signal.sosfilt(k_weighting_sos(rate), np.asarray(mono, dtype=np.float64))
        return float(-0.691 + 10 * np.log10(np.mean(weighted**2) + 1e-12))
    return float(value)


def match_spectrum(patch: np.ndarray, reference: np.ndarray, rate: int, max_db: float = 12.0) -> np.ndarray:
    """``patch`` filtered so its long-term spectrum follows ``reference`` (third-octave smoothed,
    limited to ±``max_db``), with a linear-phase FIR."""
    from scipy import signal

    nfft = 1024
    if len(patch) < nfft or len(reference) < nfft:
        return patch
    f, p_patch = signal.welch(patch, rate, nperseg=nfft)
    _, p_ref = signal.welch(reference, rate, nperseg=nfft)
    ratio = 10 * np.log10((p_ref + 1e-12) / (p_patch + 1e-12))
    smooth = np.empty_like(ratio)
    for i, freq in enumerate(f):
        band = (f >= freq / 2 ** (1 / 6)) & (f <= freq * 2 ** (1 / 6)) if freq > 0 else f <= f[1]
        smooth[i] = np.mean(ratio[band])
    smooth = np.clip(smooth - np.median(smooth), -max_db, max_db)
    taps = signal.firwin2(511, f / (rate / 2), 10 ** (smooth / 20))
    return np.asarray(signal.fftconvolve(patch, taps, mode="same"), dtype=np.float32)


def match_loudness(patch: np.ndarray, reference: np.ndarray, rate: int) -> np.ndarray:
    gain_db = loudness_lufs(reference, rate) - loudness_lufs(patch, rate)
    out = patch * np.float32(10 ** (np.clip(gain_db, -40.0, 40.0) / 20))
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    return out / peak * 0.98 if peak > 0.98 else out


def trim_silence(mono: np.ndarray, rate: int, below_db: float = 35.0) -> np.ndarray:
    """``mono`` without its leading/trailing frames more than ``below_db`` under its loudest frame."""
    levels = level_db(mono, rate)
    loud = np.nonzero(levels > levels.max() - below_db)[0]
    if not loud.size:
        return mono
    n = max(1, int(rate * FRAME_S))
    return mono[max(0, loud[0] * n - n) : min(len(mono), (loud[-1] + 2) * n)]


def wav_bytes(mono: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.asarray(mono, dtype=np.float32), rate, format="WAV", subtype="FLOAT")
    return buffer.getvalue()
