"""Loudness: the streaming BS.1770 meter against pyloudnorm; presets; per-speaker level matching."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest

from studio.audio.errors import ExportError
from studio.audio.level_match import speaker_gains_db
from studio.audio.loudness import GainedLoudness, LoudnessMeter, normalisation_gain_db, resolve_preset
from studio.audio.mixer import Mixdown
from studio.audio.sources import SourceCache
from studio.audio.synthetic import ProjectBuilder, music, speechlike
from studio.core.model import TrackKind


def programme(seconds: float, rate: int, channels: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = speechlike(seconds, rate, seed=seed)[:, 0]
    # loud and quiet passages, so both gates matter
    env = np.repeat(rng.choice([0.02, 0.3, 1.0], size=int(seconds) + 1), rate)[: len(x)]
    x = x * env
    out: np.ndarray = np.stack([x, 0.7 * np.roll(x, 100)], axis=1) if channels == 2 else x[:, None]
    return out


@pytest.mark.parametrize(
    "rate, channels, seconds", [(48000, 2, 7.37), (44100, 1, 5.0), (22050, 2, 3.05), (48000, 1, 0.93)]
)
def test_meter_matches_pyloudnorm_on_the_whole_buffer(rate: int, channels: int, seconds: float) -> None:
    x = programme(seconds, rate, channels).astype(np.float64)
    expected = pyloudnorm.Meter(rate).integrated_loudness(x if channels == 2 else x[:, 0])
    whole = LoudnessMeter(rate, channels)
    whole.add(x)
    assert whole.integrated_lufs() == pytest.approx(expected, abs=1e-6)
    blocked = LoudnessMeter(rate, channels)
    rng = np.random.default_rng(1)
    pos = 0
    while pos < len(x):
        n = int(rng.integers(1, 9000))
        blocked.add(x[pos : pos + n])
        pos += n
    assert blocked.integrated_lufs() == pytest.approx(expected, abs=1e-6)


def test_gained_loudness_equals_metering_the_output_again() -> None:
    rate, step = 48000, 4800
    x = programme(20.0, rate, 2, seed=5)[: 20 * rate - 1234]  # ends mid-step
    chunk = 7 * step
    meter = LoudnessMeter(rate, 2, checkpoints=True)
    for s in range(0, len(x), chunk):
        meter.add(x[s : s + chunk])
    gain_db = 4.0
    y = x * 10 ** (gain_db / 20)
    assert meter.checkpoints is not None
    changed = [3, 10, len(meter.checkpoints) - 1]  # a "limiter" squashes these chunks
    gained = GainedLoudness(meter, gain_db)
    for i in changed:
        seg = y[i * chunk : (i + 1) * chunk]
        seg[:] = np.tanh(seg * 3) / 3
        gained.replace(i, seg)
    direct = LoudnessMeter(rate, 2)
    direct.add(y)
    assert gained.replaced == len(changed)
    assert gained.integrated_lufs() == pytest.approx(direct.integrated_lufs(), abs=0.01)
    assert gained.rms_db() == pytest.approx(direct.rms_db(), abs=1e-6)
    assert direct.integrated_lufs() < meter.integrated_lufs() + gain_db - 0.1  # the changes mattered


def test_meter_rms_peak_and_silence() -> None:
    m = LoudnessMeter(48000, 2)
    m.add(np.zeros((48000, 2)))
    assert m.integrated_lufs() == -math.inf
    s = np.full((48000, 2), 0.1)
    m2 = LoudnessMeter(48000, 2)
    m2.add(s)
    assert m2.rms_db() == pytest.approx(-20.0, abs=1e-6)
    assert m2.peak_db() == pytest.approx(-20.0, abs=1e-6)
    short = LoudnessMeter(48000, 1)
    short.add(np.ones(1000) * 0.5)
    assert short.integrated_lufs() == -math.inf  # under one 400 ms block


def test_presets() -> None:
    assert resolve_preset("podcast", 2).target == -16.0
    assert resolve_preset("podcast", 1).target == -19.0
    ebu = resolve_preset("EBU", 2)
    assert (ebu.target, ebu.ceiling_db) == (-23.0, -1.0)
    acx = resolve_preset("acx", 1)
    assert (acx.measure, acx.target, acx.ceiling_db) == ("rms", -20.0, -3.0)
    assert resolve_preset("custom", 2, target=-14.0).target == -14.0
    assert resolve_preset("none", 2).ceiling_db is None
    with pytest.raises(ExportError, match="custom"):
        resolve_preset("custom", 2)
    with pytest.raises(ExportError, match="Unknown loudness preset"):
        resolve_preset("loud", 2)


def test_normalisation_gain() -> None:
    m = LoudnessMeter(48000, 2)
    m.add(programme(5.0, 48000, 2))
    lufs = m.integrated_lufs()
    assert normalisation_gain_db(m, resolve_preset("ebu", 2)) == pytest.approx(-23.0 - lufs)
    assert normalisation_gain_db(m, resolve_preset("acx", 2)) == pytest.approx(-20.0 - m.rms_db())
    assert normalisation_gain_db(m, resolve_preset("none", 2)) == 0.0
    silent = LoudnessMeter(48000, 2)
    silent.add(np.zeros((48000, 2)))
    assert normalisation_gain_db(silent, resolve_preset("podcast", 2)) == 0.0


def test_speaker_level_matching_evens_out_speakers(tmp_path: Path) -> None:
    b = ProjectBuilder(tmp_path, channels=1, level_match_speakers=True)
    b.speaker("s1", "Loud")
    b.speaker("s2", "Quiet")
    b.track("t1", speaker_id="s1")
    b.track("t2", speaker_id="s2")
    loud = b.media(speechlike(3.0, 24000, seed=1, level=0.3), 24000)
    quiet = b.media(speechlike(3.0, 22050, seed=2, level=0.05), 22050)
    b.line("L1", "s1", "hi", loud, 24000, 3.0)
    b.line("L2", "s2", "hello", quiet, 22050, 3.0)
    b.clip("t1", loud, 0.0, duration=3.0, line_id="L1")
    b.clip("t2", quiet, 3.5, duration=3.0, line_id="L2")
    b.track("bed", kind=TrackKind.MUSIC)
    b.clip("bed", b.media(music(7.0, 44100), 44100), 0.0, duration=7.0)
    sources = SourceCache(b.resolver(), 48000)
    gains = speaker_gains_db(b.project.clips, b.project.tracks, b.project.lines, sources)
    assert gains["s1"] == pytest.approx(-gains["s2"], abs=1e-6)
    assert gains["s2"] - gains["s1"] == pytest.approx(20 * math.log10(0.3 / 0.05), abs=0.5)

    def speaker_loudness(track: str, mix: Mixdown) -> float:
        stem = Mixdown(
            b.project, b.resolver(), tracks=[track], sources=sources, speaker_gain_db=mix.speaker_gain_db
        )
        m = LoudnessMeter(48000, 1)
        m.add(stem.render(0, stem.length))
        return m.integrated_lufs()

    mix = Mixdown(b.project, b.resolver(), sources=sources)  # the project asks for level matching
    assert mix.speaker_gain_db == pytest.approx(gains)
    assert speaker_loudness("t1", mix) == pytest.approx(speaker_loudness("t2", mix), abs=0.2)


def test_live_loudness_momentary_short_term_and_integrated() -> None:
    """A steady tone reads the same on all three; after it stops, momentary falls first."""
    import math

    import numpy as np
    import pyloudnorm

    from studio.audio.loudness import LiveLoudness

    rate = 48000
    t = np.arange(4 * rate) / rate
    tone = 0.1 * np.sin(2 * np.pi * 997 * t)
    stereo = np.stack([tone, tone], axis=1)
    expected = pyloudnorm.Meter(rate).integrated_loudness(stereo)
    live = LiveLoudness(rate, 2)
    for start in range(0, len(stereo), 1024):
        momentary, short, integrated = live.add(stereo[start : start + 1024])
    assert momentary == pytest.approx(expected, abs=0.1)
    assert short == pytest.approx(expected, abs=0.1)
    assert integrated == pytest.approx(expected, abs=0.1)
    for _ in range(24):  # ~0.5 s of silence
        momentary, short, _ = live.add(np.zeros((1024, 2)))
    assert momentary == -math.inf or momentary < expected - 20
    assert expected - 2 < short < expected
