"""Synthesise the demo podcast's music bed: a soft electric-piano-and-pad progression, 48 kHz stereo OGG.

Run: python projects/sources/make_music_bed.py [OUT]   (deterministic; ~100 s)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 48000
BPM = 84
BEAT = 60.0 / BPM
# Chords as MIDI notes (Cmaj9, Am9, Fmaj7#11, G6sus) — two bars each.
PROGRESSION = [[48, 55, 64, 71, 74], [45, 52, 60, 67, 71], [41, 48, 57, 64, 71], [43, 50, 59, 64, 69]]
BARS_PER_CHORD = 2


def midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def pad(freq: float, dur: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(dur * SR)) / SR
    detune = [0.997, 1.0, 1.003]
    wave = sum(np.sin(2 * np.pi * freq * d * t + rng.uniform(0, 2 * np.pi)) for d in detune)
    wave += 0.25 * np.sin(2 * np.pi * 2 * freq * t)
    env = np.minimum(1.0, t / 1.2) * np.minimum(1.0, (dur - t) / 1.0).clip(0, 1)
    return wave * env / 3.0


def pluck(freq: float, dur: float) -> np.ndarray:
    t = np.arange(int(dur * SR)) / SR
    env = np.exp(-t * 3.5) * np.minimum(1.0, t / 0.005)
    return (np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(2 * np.pi * 3 * freq * t) * np.exp(-t * 8)) * env


def make(seconds: float = 100.0) -> np.ndarray:
    rng = np.random.default_rng(7)
    n = int(seconds * SR)
    out = np.zeros((n, 2))
    chord_len = BARS_PER_CHORD * 4 * BEAT
    t0 = 0.0
    i = 0
    while t0 < seconds:
        chord = PROGRESSION[i % len(PROGRESSION)]
        for k, note in enumerate(chord):
            start = int(t0 * SR)
            sig = pad(midi_hz(note), chord_len + 1.0, rng)[: max(0, n - start)]
            pan = 0.3 + 0.4 * (k / (len(chord) - 1))
            out[start : start + len(sig), 0] += sig * np.cos(pan * np.pi / 2) * 0.12
            out[start : start + len(sig), 1] += sig * np.sin(pan * np.pi / 2) * 0.12
        for beat in range(BARS_PER_CHORD * 4 * 2):  # eighth-note arpeggio
            note = chord[[0, 2, 3, 4, 3, 2, 1, 2][beat % 8]] + 12
            start = int((t0 + beat * BEAT / 2) * SR)
            if start >= n:
                break
            sig = pluck(midi_hz(note), 1.5)[: n - start] * (0.10 if beat % 2 == 0 else 0.07)
            pan = 0.5 + 0.25 * np.sin(beat)
            out[start : start + len(sig), 0] += sig * np.cos(pan * np.pi / 2)
            out[start : start + len(sig), 1] += sig * np.sin(pan * np.pi / 2)
        t0 += chord_len
        i += 1
    fade = int(4 * SR)
    out[-fade:] *= np.linspace(1, 0, fade)[:, None] ** 2
    out[: int(0.05 * SR)] *= np.linspace(0, 1, int(0.05 * SR))[:, None]
    return (out / np.max(np.abs(out)) * 0.7).astype(np.float32)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("music_bed.ogg")
    audio = make()
    # libsndfile's Vorbis encoder crashes on very large single writes: feed it in blocks.
    with sf.SoundFile(target, "w", SR, 2, format="OGG", subtype="VORBIS") as handle:
        for start in range(0, len(audio), SR):
            handle.write(audio[start : start + SR])
    print(f"wrote {target} ({target.stat().st_size // 1024} KiB)")
