"""True-peak limiter: holds the ceiling (checked with an independent 8× oversampling), leaves quiet
audio untouched bit for bit, and gives the same output for any block size."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal

from studio.audio.limiter import LimiterSettings, TruePeakLimiter, true_peak_db

SR = 48000


def independent_true_peak_db(x: np.ndarray) -> float:
    """8× polyphase oversampling (scipy's own filter design), per channel."""
    up = scipy.signal.resample_poly(np.atleast_2d(x), 8, 1, axis=1)
    return 20 * math.log10(max(float(np.abs(up).max()), float(np.abs(x).max())))


def run(lim: TruePeakLimiter, x: np.ndarray, block: int) -> np.ndarray:
    padded = np.pad(x, ((0, 0), (lim.history, lim.lookahead)))
    out = []
    for s in range(0, x.shape[1], block):
        n = min(block, x.shape[1] - s)
        out.append(np.array(lim.process(padded[:, s : s + lim.history + n + lim.lookahead], n)))
    return np.concatenate(out, axis=1)


def intersample_sine(seconds: float, amp: float) -> np.ndarray:
    """fs/4 sine at 45°: samples sit at ±0.707·amp, the true peak is amp (+3 dB over sample peak)."""
    n = np.arange(round(seconds * SR))
    x: np.ndarray = (amp * np.sin(np.pi / 2 * n + np.pi / 4)).astype(np.float32)
    return x


def band_limited_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """White noise low-passed at 18 kHz, like real recordings (a 4× detector, as BS.1770's own,
    under-reads content right at Nyquist)."""
    sos = scipy.signal.butter(10, 18000, fs=SR, output="sos")
    noise: np.ndarray = scipy.signal.sosfilt(sos, rng.standard_normal(n))
    return noise


def loud_programme() -> np.ndarray:
    rng = np.random.default_rng(7)
    n = 2 * SR
    t = np.arange(n) / SR
    left = 0.9 * np.sin(2 * np.pi * 97 * t) + 0.6 * band_limited_noise(n, rng) * (
        np.sin(2 * np.pi * 3 * t) > 0
    )
    right = np.concatenate([intersample_sine(1.0, 1.6), 0.3 * band_limited_noise(n - SR, rng)])
    return np.stack([left, right]).astype(np.float32)


@pytest.mark.parametrize("ceiling", [-1.0, -3.0])
def test_output_true_peak_stays_under_the_ceiling(ceiling: float) -> None:
    x = loud_programme()
    assert independent_true_peak_db(x) > 3.0
    lim = TruePeakLimiter(SR, 2, LimiterSettings(ceiling_db=ceiling))
    y = run(lim, x, 4096)
    assert independent_true_peak_db(y) <= ceiling
    assert true_peak_db(y) <= ceiling
    # and it does not over-limit: the loudest part comes close to the ceiling
    assert true_peak_db(y) > ceiling - 0.5


def test_intersample_peaks_are_caught() -> None:
    x = intersample_sine(0.5, 0.99)[None, :]  # sample peak −3.1 dBFS, true peak −0.1 dBTP
    assert 20 * math.log10(np.abs(x).max()) < -3.0
    y = run(TruePeakLimiter(SR, 1, LimiterSettings(ceiling_db=-1.0)), x, 5000)
    assert independent_true_peak_db(y[:, 2000:-2000]) <= -1.0


def test_quiet_audio_passes_bit_exact() -> None:
    rng = np.random.default_rng(0)
    x = (0.2 * rng.standard_normal((2, SR))).clip(-0.35, 0.35).astype(np.float32)  # ≤ −9 dBFS
    y = run(TruePeakLimiter(SR, 2), x, 3000)
    assert np.array_equal(x, y)


def test_block_size_does_not_change_the_output() -> None:
    x = loud_programme()
    ref = run(TruePeakLimiter(SR, 2), x, x.shape[1])
    for block in (1, 17, 1000, 4096, 33333):
        if block == 1:  # (a short stretch: one call per frame is slow)
            xs = x[:, :3000]
            got = run(TruePeakLimiter(SR, 2), xs, 1)
            assert np.abs(got - run(TruePeakLimiter(SR, 2), xs, 3000)).max() <= 1e-6
            continue
        got = run(TruePeakLimiter(SR, 2), x, block)
        assert np.abs(got - ref).max() <= 1e-6, block


def test_reset_and_preroll_reproduce_an_uninterrupted_run() -> None:
    x = loud_programme()
    lim = TruePeakLimiter(SR, 2)
    ref = run(lim, x, 8192)
    start = 60_000
    lim2 = TruePeakLimiter(SR, 2)
    p0 = start - lim2.preroll
    got = run(lim2, x[:, p0 : start + 5000], 4096)[:, start - p0 :]
    assert np.abs(got - ref[:, start : start + 5000]).max() <= 1e-6
