"""Mixer: placement, gain laws, fades, mute/solo, chunked == whole, seek, no clicks."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from studio.audio.errors import MediaError
from studio.audio.limiter import LimiterSettings
from studio.audio.mixer import Mixdown
from studio.audio.synthetic import ProjectBuilder, music, speechlike, tone
from studio.core.model import Ducking, TrackKind

SR = 48000


def dc(seconds: float, value: float = 0.5, rate: int = SR, channels: int = 1) -> np.ndarray:
    return np.full((round(seconds * rate), channels), value, dtype=np.float32)


def impulse(seconds: float, at: int, rate: int = SR) -> np.ndarray:
    x = np.zeros((round(seconds * rate), 1), dtype=np.float32)
    x[at, 0] = 1.0
    return x


def test_impulse_lands_on_the_sample_grid(tmp_path: Path) -> None:
    b = ProjectBuilder(tmp_path, channels=1)
    b.track("t")
    m = b.media(impulse(0.5, 4800), SR)
    start = 1.23456789
    b.clip("t", m, start, duration=0.5)
    out = Mixdown(b.project, b.resolver()).render(0, SR * 2)[:, 0]
    expected = round(start * SR) + 4800
    assert np.flatnonzero(out).tolist() == [expected]
    assert out[expected] == pytest.approx(1.0)


def test_source_in_and_resampled_impulse(tmp_path: Path) -> None:
    b = ProjectBuilder(tmp_path, channels=1)
    b.track("t")
    m = b.media(impulse(1.0, 12000, rate=24000), 24000)  # 0.5 s into a 24 kHz file
    b.clip("t", m, 0.25, source_in=0.125, duration=0.75)
    out = Mixdown(b.project, b.resolver()).render(0, SR * 2)[:, 0]
    assert int(np.argmax(np.abs(out))) == round(0.25 * SR) + round((0.5 - 0.125) * SR)


def test_clip_placement_starts_exactly_and_is_silent_before(tmp_path: Path) -> None:
    b = ProjectBuilder(tmp_path, channels=1)
    b.track("t")
    b.clip("t", b.media(dc(1.0), SR), 0.5, duration=1.0)
    out = Mixdown(b.project, b.resolver()).render(0, SR * 2)[:, 0]
    s = round(0.5 * SR)
    assert not out[:s].any() and out[s + 1] > 0  # declick fade starts at 0 on the first frame
    assert not out[s + SR :].any()


@pytest.mark.parametrize(
    "pan, left_db, right_db",
    [(0.0, -3.0103, -3.0103), (-1.0, 0.0, None), (1.0, None, 0.0), (-0.5, None, None)],
)
def test_constant_power_pan_law(
    tmp_path: Path, pan: float, left_db: float | None, right_db: float | None
) -> None:
    b = ProjectBuilder(tmp_path)
    b.track("t", pan=pan)
    b.clip("t", b.media(dc(1.0, 0.5), SR), 0.0, duration=1.0)
    out = Mixdown(b.project, b.resolver()).render(SR // 2, 1)[0]
    left, right = out / 0.5
    assert left**2 + right**2 == pytest.approx(1.0, abs=1e-6)  # constant power
    theta = (pan + 1) * math.pi / 4
    assert left == pytest.approx(math.cos(theta), abs=1e-6)
    assert right == pytest.approx(math.sin(theta), abs=1e-6)
    if left_db is not None:
        assert 20 * math.log10(left) == pytest.approx(left_db, abs=1e-3)
    if right_db is not None:
        assert 20 * math.log10(right) == pytest.approx(right_db, abs=1e-3)
    if pan == -1.0:
        assert right == pytest.approx(0.0, abs=1e-7)
    if pan == 1.0:
        assert left == pytest.approx(0.0, abs=1e-7)


def test_stereo_source_is_balanced_not_attenuated_at_centre(tmp_path: Path) -> None:
    b = ProjectBuilder(tmp_path)
    b.track("c")
    b.track("l", pan=-1.0)
    src = np.concatenate([dc(1.0, 0.4), dc(1.0, 0.2)], axis=1)
    m = b.media(src, SR)
    b.clip("c", m, 0.0, duration=1.0)
    centre = Mixdown(b.project, b.resolver(), tracks=["c"]).render(SR // 2, 1)[0]
    assert centre == pytest.approx([0.4, 0.2], abs=1e-6)
    b.clip("l", m, 0.0, duration=1.0)
    left = Mixdown(b.project, b.resolver(), tracks=["l"]).render(SR // 2, 1)[0]
    assert left == pytest.approx([0.4, 0.0], abs=1e-6)


def test_equal_power_fades(tmp_path: Path) -> None:
    b = ProjectBuilder(tmp_path, channels=1)
    b.track("t")
    b.clip("t", b.media(dc(2.0, 1.0), SR), 0.0, duration=2.0, fade_in=0.1, fade_out=0.2)
    out = Mixdown(b.project, b.resolver()).render(0, 2 * SR)[:, 0]
    fin, fout = round(0.1 * SR), round(0.2 * SR)
    assert out[0] == 0.0
    assert out[fin // 2] == pytest.approx(math.sin(math.pi / 4), abs=1e-6)
    assert out[fin // 4] == pytest.approx(math.sin(math.pi / 8), abs=1e-6)
    assert out[fin] == pytest.approx(1.0)
    start_out = 2 * SR - fout
    assert out[start_out] == pytest.approx(1.0)
    assert out[start_out + fout // 2] == pytest.approx(math.cos(math.pi / 4), abs=1e-6)
    # equal power: a fade-in and a fade-out of the same length sum to constant power
    k = np.arange(fin)
    fi = out[:fin]
    fo = np.cos(np.pi / 2 * k / fin)
    assert np.allclose(fi**2 + fo**2, 1.0, atol=1e-6)


def test_gains_multiply(tmp_path: Path) -> None:
    b = ProjectBuilder(tmp_path, channels=1, master_gain_db=-6.0)
    b.track("t", gain_db=-3.0)
    b.clip("t", b.media(dc(1.0, 0.5), SR), 0.0, duration=1.0, gain_db=-2.0)
    out = Mixdown(b.project, b.resolver(), gain_db=1.0).render(SR // 2, 1)[0, 0]
    assert 20 * math.log10(out / 0.5) == pytest.approx(-10.0, abs=1e-4)


def test_mute_and_solo(tmp_path: Path) -> None:
    b = ProjectBuilder(tmp_path, channels=1)
    b.track("a")
    b.track("b")
    b.clip("a", b.media(dc(1.0, 0.1), SR), 0.0, duration=1.0)
    b.clip("b", b.media(dc(1.0, 0.2), SR), 0.0, duration=1.0)

    def level() -> float:
        return float(Mixdown(b.project, b.resolver()).render(SR // 2, 1)[0, 0])

    assert level() == pytest.approx(0.3)
    tracks = b.project.tracks
    tracks["a"] = replace(tracks["a"], mute=True)
    assert level() == pytest.approx(0.2)
    tracks["a"] = replace(tracks["a"], mute=False, solo=True)
    assert level() == pytest.approx(0.1)
    tracks["b"] = replace(tracks["b"], solo=True, mute=True)  # mute wins over solo
    assert level() == pytest.approx(0.1)


def test_mono_output_sums_mono_and_averages_stereo(tmp_path: Path) -> None:
    b = ProjectBuilder(tmp_path, channels=1)
    b.track("m", pan=-1.0)
    b.track("s", kind=TrackKind.SFX)
    b.clip("m", b.media(dc(1.0, 0.25), SR), 0.0, duration=1.0)
    b.clip("s", b.media(np.concatenate([dc(1.0, 0.4), dc(1.0, 0.2)], axis=1), SR), 0.0, duration=1.0)
    out = Mixdown(b.project, b.resolver()).render(SR // 2, 1)
    assert out.shape == (1, 1)
    assert out[0, 0] == pytest.approx(0.25 + 0.3)


def podcast_like(b: ProjectBuilder) -> None:
    """A few seconds of everything: takes at TTS rates, a ducked music bed, an effect, fades."""
    b.track("host", speaker_id="s1", pan=-0.3)
    b.track("guest", speaker_id="s2", pan=0.4, gain_db=-2.0)
    b.track("bed", kind=TrackKind.MUSIC, ducking=Ducking(lookahead_ms=50.0, attack_ms=30.0, release_ms=200.0))
    b.track("fx", kind=TrackKind.SFX)
    a = b.media(speechlike(1.3, 22050, seed=1), 22050)
    g = b.media(speechlike(1.1, 24000, seed=2), 24000)
    bed = b.media(music(6.0, 44100), 44100)
    fx = b.media(tone(660.0, 0.3, SR, 0.4, 2), SR)
    b.clip("host", a, 0.40, duration=1.3)
    b.clip("guest", g, 1.95, duration=1.1, fade_out=0.2)
    b.clip("host", a, 3.30, duration=1.0, source_in=0.2, gain_db=3.0)
    b.clip("bed", bed, 0.0, duration=6.0, fade_in=0.5, fade_out=1.0, gain_db=6.0)
    b.clip("fx", fx, 2.5, duration=0.3)


@pytest.mark.parametrize("limited", [False, True])
def test_chunked_render_equals_whole_buffer(tmp_path: Path, limited: bool) -> None:
    b = ProjectBuilder(tmp_path)
    podcast_like(b)
    lim = LimiterSettings(ceiling_db=-6.0) if limited else None
    whole = Mixdown(b.project, b.resolver(), limiter=lim, gain_db=6.0)
    ref = whole.render(0, whole.length)
    assert np.abs(ref).max() > 0.1
    for chunk in (131072, 4099, 1000, 333):
        mix = Mixdown(b.project, b.resolver(), limiter=lim, gain_db=6.0, sources=whole.sources)
        got = np.concatenate(list(mix.chunks(chunk)))
        assert got.shape == ref.shape
        assert np.abs(got - ref).max() <= 1e-6, chunk
    # tiny chunks across a ducking transition and a clip boundary
    mix = Mixdown(b.project, b.resolver(), limiter=lim, gain_db=6.0, sources=whole.sources)
    s0 = round(0.3 * SR)
    got = np.concatenate(
        list(mix.chunks(1, start=s0, end=s0 + 300)) + list(mix.chunks(7, start=s0 + 300, end=s0 + 3000))
    )
    assert np.abs(got - ref[s0 : s0 + 3000]).max() <= 1e-6


def test_seek_matches_an_uninterrupted_render(tmp_path: Path) -> None:
    b = ProjectBuilder(tmp_path)
    podcast_like(b)
    lim = LimiterSettings(ceiling_db=-6.0)
    whole = Mixdown(b.project, b.resolver(), limiter=lim, gain_db=6.0)
    ref = whole.render(0, whole.length)
    mix = Mixdown(b.project, b.resolver(), limiter=lim, gain_db=6.0, sources=whole.sources)
    for start in (200_000, 10, 120_000, 96_000, 250_000, 0):
        got = mix.render(start, 4000)
        assert np.abs(got - ref[start : start + 4000]).max() <= 1e-6, start


def test_no_click_at_clip_boundaries(tmp_path: Path) -> None:
    b = ProjectBuilder(tmp_path, channels=1)
    b.track("t")
    m = b.media(tone(1000.0, 2.0, SR, 0.8), SR)
    # clips cut mid-waveform, butted against each other and overlapping
    b.clip("t", m, 0.1, source_in=0.0123, duration=0.5)
    b.clip("t", m, 0.6, source_in=0.5077, duration=0.4)
    b.clip("t", m, 0.95, source_in=1.0031, duration=0.3)
    out = Mixdown(b.project, b.resolver()).render(0, round(1.5 * SR))[:, 0]
    natural = 2 * math.pi * 1000 / SR * 0.8  # the sine's own largest step
    assert np.abs(np.diff(out)).max() <= natural * 1.3


def test_missing_media_is_a_clear_error_or_silence(tmp_path: Path) -> None:
    b = ProjectBuilder(tmp_path, channels=1)
    b.track("t", name="Host")
    b.clip("t", "gone.wav", 0.0, duration=1.0)
    with pytest.raises(MediaError, match="Host.*gone.wav"):
        Mixdown(b.project, b.resolver())
    mix = Mixdown(b.project, b.resolver(), on_missing="silence")
    assert mix.missing == {"gone.wav"}
    assert mix.length == 0


def test_corrupt_media_is_a_clear_error(tmp_path: Path) -> None:
    b = ProjectBuilder(tmp_path, channels=1)
    b.track("t", name="Host")
    (tmp_path / "bad.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage" * 3)
    b.clip("t", "bad.wav", 0.0, duration=1.0)
    with pytest.raises(MediaError, match="bad.wav"):
        Mixdown(b.project, b.resolver())


def test_length_and_clip_shorter_than_media_duration(tmp_path: Path) -> None:
    b = ProjectBuilder(tmp_path, channels=1)
    b.track("t")
    m = b.media(dc(0.5, 0.5), SR)
    b.clip("t", m, 1.0, duration=2.0)  # asks for more than the media holds
    b.clip("t", m, 3.0)  # duration 0: to the end of the file
    mix = Mixdown(b.project, b.resolver())
    assert mix.length == round(3.5 * SR)
    out = mix.render(0, mix.length)[:, 0]
    assert not out[round(1.5 * SR) + 1 : round(3.0 * SR)].any()
