"""Peak summaries: correct min/max/rms per level, stored once beside the audio, reduced to columns."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from studio.render import peaks as pk


def _tone(path, seconds=1.0, rate=48000, amp=0.5, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    mono = (amp * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    data = np.stack([mono] * channels, axis=1) if channels > 1 else mono
    sf.write(path, data, rate, subtype="FLOAT")
    return mono


def test_levels_hold_min_max_rms_of_each_bucket(tmp_path):
    mono = _tone(tmp_path / "a.wav", seconds=1.3)
    peaks = pk.compute_peaks(tmp_path / "a.wav")
    assert peaks.frames == mono.shape[0] and peaks.sample_rate == 48000
    assert [lv.bucket for lv in peaks.levels] == list(pk.LEVELS)
    fine = peaks.levels[0]
    assert len(fine) == -(-mono.shape[0] // 256)
    assert fine.max[3] == pytest.approx(mono[768:1024].max())
    assert fine.min[3] == pytest.approx(mono[768:1024].min())
    assert fine.rms[3] == pytest.approx(np.sqrt(np.mean(mono[768:1024] ** 2)), rel=1e-4)
    coarse = peaks.levels[1]
    assert coarse.max.max() == pytest.approx(0.5, abs=1e-3)
    # the last, partial bucket is not dragged to zero by padding
    assert fine.rms[-1] == pytest.approx(np.sqrt(np.mean(mono[(len(fine) - 1) * 256 :] ** 2)), rel=1e-4)


def test_stereo_is_summarised_as_mono(tmp_path):
    _tone(tmp_path / "s.wav", channels=2, amp=0.25)
    peaks = pk.compute_peaks(tmp_path / "s.wav")
    assert peaks.levels[0].max.max() == pytest.approx(0.25, abs=1e-3)


def test_stored_beside_audio_and_reused(tmp_path):
    audio = tmp_path / "b.wav"
    _tone(audio)
    first = pk.load_or_compute(audio)
    stored = pk.peaks_path(audio)
    assert stored.name == "b.wav.peaks.npz" and stored.is_file()
    audio.unlink()  # a stored summary does not need the audio again
    again = pk.load_or_compute(audio)
    assert np.array_equal(first.levels[1].max, again.levels[1].max)
    assert not list(tmp_path.glob("*.part"))


def test_unreadable_summary_is_recomputed_and_missing_audio_is_a_clear_error(tmp_path):
    audio = tmp_path / "c.wav"
    _tone(audio)
    pk.peaks_path(audio).write_bytes(b"garbage")
    assert pk.load_or_compute(audio).frames == 48000
    with pytest.raises(pk.PeaksError, match="missing"):
        pk.load_or_compute(tmp_path / "nope.wav")
    (tmp_path / "bad.wav").write_bytes(b"not audio at all")
    with pytest.raises(pk.PeaksError, match="bad.wav"):
        pk.load_or_compute(tmp_path / "bad.wav")


def test_level_for_picks_coarsest_not_wider_than_a_pixel(tmp_path):
    _tone(tmp_path / "d.wav")
    peaks = pk.compute_peaks(tmp_path / "d.wav")
    assert peaks.level_for(1 / 48000).bucket == 256  # zoomed in beyond the finest level
    assert peaks.level_for(5000 / 48000).bucket == 4096
    assert peaks.level_for(100.0).bucket == 65536


def test_columns_reduce_buckets_to_pixels():
    level = pk.PeakLevel(
        256,
        np.array([-1, -2, -3, -4, -5, -6], np.float32),
        np.array([1, 2, 3, 4, 5, 6], np.float32),
        np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], np.float32),
    )
    lo, hi, rms = pk.columns(level, 0, 2.0, 4)
    assert list(hi[:3]) == [2, 4, 6] and list(lo[:3]) == [-2, -4, -6]
    assert np.isnan(hi[3])  # past the end of the audio
    lo, hi, _ = pk.columns(level, 0, 0.5, 4)  # zoomed in: a bucket spans two columns
    assert list(hi) == [1, 1, 2, 2]


def test_truncated_summary_is_recomputed(tmp_path):
    audio = tmp_path / "t.wav"
    _tone(audio)
    stored = pk.peaks_path(audio)
    pk.load_or_compute(audio)
    data = stored.read_bytes()
    stored.write_bytes(data[: len(data) // 2])  # starts like a zip, but is cut short
    assert pk.read_peaks(stored) is None
    assert pk.load_or_compute(audio).frames == 48000
