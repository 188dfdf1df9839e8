"""The sample-level waveform maths (studio.audio.sample_view), checked against a brute-force trace."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from studio.audio import sample_view as sv


def brute_extent(samples, window_start, first, k, cols, fine=64):
    """Sample the joined-samples line densely inside each column (plus the samples themselves)."""
    n = len(samples)
    lo, hi = np.full(cols, np.nan), np.full(cols, np.nan)
    grid = np.arange(n)
    for c in range(cols):
        a, b = first + c * k - window_start, first + (c + 1) * k - window_start
        if b < 0 or a > n - 1:
            continue
        a, b = max(a, 0), min(b, n - 1)
        pts = list(np.linspace(a, b, fine)) + [i for i in range(n) if a <= i <= b]
        vals = np.interp(pts, grid, samples)
        lo[c], hi[c] = vals.min(), vals.max()
    return lo, hi


@pytest.mark.parametrize("k", [0.25, 0.5, 1.0, 1.7, 3.0, 12.5, 60.0])
def test_the_trace_extent_is_exact_at_any_zoom(k):
    rng = np.random.default_rng(3)
    samples = rng.uniform(-1, 1, 400).astype(np.float32)
    first, cols = 1000.3, int(380 / k)
    lo, hi = sv.trace_extent(samples, 1000, first, k, cols)
    blo, bhi = brute_extent(samples.astype(np.float64), 1000, first, k, cols)
    assert np.allclose(lo, blo, atol=1e-5, equal_nan=True)
    assert np.allclose(hi, bhi, atol=1e-5, equal_nan=True)


def test_columns_outside_the_window_are_empty_and_a_sine_peaks_where_it_should():
    rate = 48000
    t = np.arange(4800) / rate
    sine = np.sin(2 * np.pi * 100 * t).astype(np.float32)  # one period = 480 samples
    lo, hi = sv.trace_extent(sine, 0, -100.0, 2.0, 400)  # 2 samples per column, starting before the audio
    assert np.isnan(lo[:49]).all() and not np.isnan(lo[51])
    peak_col = int((120 + 100) / 2)  # the crest at sample 120
    assert hi[peak_col] == pytest.approx(1.0, abs=1e-3) and lo[peak_col] > 0.99
    trough_col = int((360 + 100) / 2)
    assert lo[trough_col] == pytest.approx(-1.0, abs=1e-3)
    # the trace is continuous: neighbouring columns touch or overlap
    valid = ~np.isnan(lo)
    a_hi, a_lo = hi[valid][:-1], lo[valid][:-1]
    b_hi, b_lo = hi[valid][1:], lo[valid][1:]
    assert np.all((a_lo <= b_hi + 1e-6) & (b_lo <= a_hi + 1e-6))


def test_zoom_threshold_is_the_finest_peak_level():
    assert not sv.wants_samples(40.0, 24000, 256)  # 600 frames per pixel: peaks
    assert sv.wants_samples(100.0, 24000, 256)  # 240 frames per pixel: finer than a 256-frame bucket
    assert sv.wants_samples(4000.0, 48000, 256)


def test_sample_dots_only_when_samples_are_far_apart():
    xs, idx = sv.sample_marks(100, 50, 110.5, 0.25, 40)  # 4 px per sample
    assert list(idx[:3]) == [11, 12, 13] and xs[0] == pytest.approx(2.0) and xs[1] == pytest.approx(6.0)
    assert sv.sample_marks(100, 50, 110.5, 0.5, 40)[0].size == 0  # 2 px apart: a line is enough


def test_blocks_are_read_mono_and_cover_the_asked_range(tmp_path):
    path = tmp_path / "st.wav"
    left = np.linspace(-1, 1, sv.BLOCK + 100, dtype=np.float32)
    sf.write(path, np.stack([left, -left * 0 + 0.5], axis=1), 48000, subtype="FLOAT")
    assert list(sv.block_range(sv.BLOCK - 10, sv.BLOCK + 5)) == [0, 1]
    block1 = sv.read_block(path, 1)
    assert block1.shape == (100,) and block1[0] == pytest.approx((left[sv.BLOCK] + 0.5) / 2)
    assert sv.read_block(path, 5).size == 0


def test_the_block_reader_keeps_files_open_and_reads_what_read_block_reads(tmp_path):
    paths = []
    for k in range(3):
        path = tmp_path / f"f{k}.wav"
        sf.write(path, np.full((sv.BLOCK * 2, 1), 0.1 * (k + 1), np.float32), 24000, subtype="FLOAT")
        paths.append(path)
    reader = sv.BlockReader(keep=2)
    for path in paths:
        for index in (1, 0):
            assert np.array_equal(reader.read(path, index), sv.read_block(path, index))
    assert len(reader._open) == 2  # the oldest was closed
    reader.close()
    assert not reader._open
