"""Ducking: depth and timing measured on the mixer's output; blocked == per-sample reference."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from studio.audio.ducking import Ducker, DuckingParams
from studio.audio.mixer import Mixdown
from studio.audio.synthetic import ProjectBuilder, speechlike
from studio.core.model import Ducking, TrackKind

SR = 48000


def build(tmp_path: Path, ducking: Ducking, onset: float = 2.0, talk: float = 1.5) -> ProjectBuilder:
    b = ProjectBuilder(tmp_path, channels=1)
    b.track("dlg")
    b.track("bed", kind=TrackKind.MUSIC, ducking=ducking)
    bed = b.media(np.full((6 * SR, 1), 0.1, dtype=np.float32), SR)
    b.clip("bed", bed, 0.0, duration=6.0)
    voice = b.media(speechlike(talk, SR, seed=4, level=0.2), SR)
    b.clip("dlg", voice, onset, duration=talk)
    return b


def duck_gain_db(b: ProjectBuilder) -> np.ndarray:
    """The music track's gain over time, read off its stem (the bed is a constant 0.1)."""
    stem = Mixdown(b.project, b.resolver(), tracks=["bed"]).render(0, 6 * SR)[:, 0]
    gain: np.ndarray = 20 * np.log10(np.maximum(stem, 1e-12) / 0.1)
    return gain


def test_music_dips_by_the_depth_under_dialogue_and_before_the_first_word(tmp_path: Path) -> None:
    d = Ducking(depth_db=-12.0, threshold_db=-45.0, attack_ms=60.0, release_ms=450.0, lookahead_ms=120.0)
    b = build(tmp_path, d)
    gain = duck_gain_db(b)
    dialogue = Mixdown(b.project, b.resolver(), tracks=["dlg"]).render(0, 6 * SR)[:, 0]
    onset = int(np.flatnonzero(np.abs(dialogue) > 10 ** (-45 / 20))[0])  # the first word, as keyed
    start = round(2.0 * SR)
    assert start <= onset < start + SR // 100
    lookahead, attack = round(0.120 * SR), round(0.060 * SR)
    # untouched until exactly look-ahead before the onset, then dipping
    first_dip = 1000 + int(np.flatnonzero(gain[1000:] < -1e-4)[0])  # (after the bed's declick)
    assert first_dip == onset - lookahead
    assert first_dip < start  # the music is moving before the dialogue starts
    assert np.abs(gain[1000 : onset - lookahead]).max() < 1e-4
    # full depth from look-ahead − attack before the onset, all through the talk
    talk_end = round(3.5 * SR)
    assert gain[onset - lookahead + attack : talk_end - SR // 10] == pytest.approx(-12.0, abs=1e-3)
    # halfway through the attack, half the depth (linear in dB)
    assert gain[onset - lookahead + attack // 2] == pytest.approx(-6.0, abs=0.05)
    # back to unity after hold + release (with the talk's last syllable fading)
    assert np.abs(gain[talk_end + round(0.6 * SR) : -1000]).max() < 1e-4


def test_disabled_or_no_dialogue_means_no_ducking(tmp_path: Path) -> None:
    b = build(tmp_path, Ducking(enabled=False))
    assert np.abs(duck_gain_db(b)[1000:-1000]).max() < 1e-4
    b2 = build(tmp_path / "b", Ducking())
    b2.project.tracks["dlg"] = replace(b2.project.tracks["dlg"], mute=True)
    assert np.abs(duck_gain_db(b2)[1000:-1000]).max() < 1e-4


def reference_gain(sc: np.ndarray, p: DuckingParams) -> np.ndarray:
    """Per-sample definition: max of the attack ramp before the next key and the release after the last."""
    on = np.flatnonzero(np.abs(sc) > p.threshold)
    out = np.zeros(len(sc))
    for f in range(len(sc)):
        prev, nxt = on[on <= f], on[on >= f]
        a = 0.0
        if prev.size:
            a = max(a, np.clip(1 - (f - prev[-1] - p.hold) / p.release, 0, 1))
        if nxt.size:
            a = max(a, np.clip((p.lookahead - (nxt[0] - f) + 1) / p.attack, 0, 1))
        out[f] = a
    return 10 ** (p.depth_db * out / 20)


def test_blocked_ducker_matches_the_per_sample_definition() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        p = DuckingParams(
            -12.0,
            0.1,
            int(rng.integers(1, 40)),
            int(rng.integers(1, 60)),
            int(rng.integers(0, 50)),
            int(rng.integers(0, 20)),
        )
        n = 500
        sc = np.zeros(n + p.lookahead, np.float32)
        for _ in range(int(rng.integers(0, 6))):
            a = int(rng.integers(0, n))
            seg = sc[a : a + int(rng.integers(1, 80))]
            seg[:] = (rng.random(seg.shape) > 0.3) * 0.5
        ref = reference_gain(sc, p)[:n]
        for block in (n, 1, 7, 64, 133):
            d = Ducker(p)
            parts, pos = [], 0
            while pos < n:
                k = min(block, n - pos)
                window = np.pad(sc[pos:], (0, max(0, pos + k + p.lookahead - len(sc))))
                g = d.process(window, k)
                parts.append(np.ones(k) if g is None else g)
                pos += k
            assert np.abs(np.concatenate(parts) - ref).max() < 1e-5
