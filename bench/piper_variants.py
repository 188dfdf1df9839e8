"""Piper variants: how different they sound and whether the words stay clear — style 1 (old) beside style 2.

For every variant 0–7 of each style, renders the same sentences with the bundled Piper voice (the
engine's own synthesiser, in this process) and measures:

* f0 — median pitch (YIN, voiced frames), and its shift from variant 0 in semitones;
* centroid — median spectral centroid of voiced frames (Hz): moves with the formants, i.e. with how
  large the speaker sounds; pitch-only shifts (formants kept) leave it nearly where it was;
* duration — relative to variant 0 (the variant's rate);
* WER — word error rate of Whisper tiny.en (faster-whisper, bundled, offline) against the text;
  the baseline is variant 0 (the voice as Piper makes it). The bar: every variant within 0.05.
* distance — to the nearest other variant of the same style in (f0 semitones, centroid semitones):
  how far apart two speakers of one project sound at the least.

    .venv/bin/python bench/piper_variants.py [--styles 1 2] [--sentences 6] [--repeat 2]

Results (2-core CPU, en_US-joe-medium; style 1 one render, style 2 two renders per variant — Piper's
noise makes the WER of one render wander by about ±0.02). Style 1's deep variants lose words
(variant 7: +0.30); style 2 keeps every variant within 0.05 of the voice and spreads them further
apart (nearest neighbour 2.5–3.4 semitones in pitch × formant space, style 1 1.8–2.7):

| style | variant | pitch st | formant st | rate | f0 Hz | Δcentroid st | WER | ΔWER | nearest |
|---|---|---|---|---|---|---|---|---|---|
| 1 | 0 | +0.0 | = pitch | 1.00 | 93 | +0.0 | 0.121 | +0.000 | 2.0 |
| 1 | 1 | -3.0 | = pitch | 1.06 | 79 | -3.4 | 0.099 | -0.022 | 2.4 |
| 1 | 2 | +3.0 | = pitch | 0.96 | 109 | +3.3 | 0.099 | -0.022 | 2.0 |
| 1 | 3 | -5.0 | = pitch | 1.00 | 71 | -6.6 | 0.231 | +0.110 | 1.8 |
| 1 | 4 | +5.0 | = pitch | 1.03 | 123 | +5.0 | 0.121 | +0.000 | 2.7 |
| 1 | 5 | -1.5 | = pitch | 0.93 | 86 | -1.4 | 0.132 | +0.011 | 2.0 |
| 1 | 6 | +1.5 | = pitch | 1.09 | 102 | +1.7 | 0.077 | -0.044 | 2.0 |
| 1 | 7 | -7.0 | = pitch | 1.04 | 66 | -7.8 | 0.418 | +0.297 | 1.8 |
| 2 | 0 | +0.0 | +0.0 | 1.00 | 93 | +0.0 | 0.126 | +0.000 | 2.5 |
| 2 | 1 | -2.5 | -1.0 | 1.06 | 81 | -1.3 | 0.132 | +0.005 | 2.6 |
| 2 | 2 | +4.0 | +2.0 | 0.96 | 117 | +2.1 | 0.115 | -0.011 | 2.9 |
| 2 | 3 | -4.5 | -3.0 | 1.02 | 73 | -4.1 | 0.121 | -0.005 | 3.4 |
| 2 | 4 | +6.5 | +3.0 | 1.03 | 134 | +3.7 | 0.126 | +0.000 | 2.9 |
| 2 | 5 | -2.0 | +1.5 | 0.93 | 82 | +1.7 | 0.148 | +0.022 | 2.7 |
| 2 | 6 | +2.0 | -1.5 | 1.09 | 104 | -1.6 | 0.099 | -0.027 | 2.5 |
| 2 | 7 | +0.0 | -2.5 | 1.04 | 91 | -2.8 | 0.099 | -0.027 | 2.5 |

Earlier style-2 candidates that missed the bar and were dropped: (−5 st, formants −2.5) +0.055 and
(−7, −3) +0.055 (pitch under ~72 Hz costs Whisper words); (+8, +4) +0.066.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from engine.asr.recognizer import Recognizer  # noqa: E402
from engine.backends.piper_synth import Synthesizer, SynthSettings  # noqa: E402
from engine.backends.piper_variants import STYLES, variant_params  # noqa: E402

SENTENCES = [
    "Welcome back to the show about how sound gets made.",
    "Today we are talking about synthetic voices, and whether you can hear the seams.",
    "The ferry leaves the harbour at seven, so pack the maps tonight.",
    "Real people pause in odd places, and they speed up when they are excited.",
    "Bring me the copper lantern from the cellar before the storm arrives.",
    "Nobody expected the quiet librarian to win the chess tournament.",
    "Six thick thistle sticks stood by the sunny southern shore.",
    "Which witch wished for the wristwatch in the window?",
]


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


def wer(ref: list[str], hyp: list[str]) -> tuple[int, int]:
    """(edit distance in words, reference length)."""
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[len(hyp)], len(ref)


def frames(x: np.ndarray, win: int, hop: int) -> np.ndarray:
    n = 1 + max(0, (len(x) - win) // hop)
    idx = np.arange(win)[None, :] + hop * np.arange(n)[:, None]
    return x[idx]


def f0_and_centroid(x: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Per 10 ms frame: YIN f0 (NaN unvoiced) and spectral centroid (NaN where f0 is NaN)."""
    win, hop = int(0.04 * sr), int(0.01 * sr)
    tmin, tmax = int(sr / 400), int(sr / 55)
    fr = frames(np.concatenate([x, np.zeros(tmax)]), win + tmax, hop)
    loud = np.sqrt(np.mean(fr[:, :win] ** 2, axis=1)) > 0.3 * np.sqrt(np.mean(x**2))
    f0 = np.full(len(fr), np.nan)
    for k in np.flatnonzero(loud):
        f = fr[k].astype(np.float64)
        d = np.array([np.sum((f[:win] - f[t : t + win]) ** 2) for t in range(tmax + 1)])
        c = np.ones_like(d)
        c[1:] = d[1:] * np.arange(1, tmax + 1) / np.maximum(np.cumsum(d[1:]), 1e-12)
        dips = np.flatnonzero((c[tmin:tmax] < 0.15) & (c[tmin:tmax] <= c[tmin + 1 : tmax + 1]))
        if len(dips):
            f0[k] = sr / (tmin + dips[0])
    spec = np.abs(np.fft.rfft(fr[:, :win] * np.hanning(win), axis=1))
    freqs = np.fft.rfftfreq(win, 1 / sr)
    centroid = (spec * freqs).sum(axis=1) / np.maximum(spec.sum(axis=1), 1e-12)
    centroid[np.isnan(f0)] = np.nan
    return f0, centroid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--styles", type=int, nargs="+", default=sorted(STYLES))
    ap.add_argument("--sentences", type=int, default=len(SENTENCES))
    ap.add_argument(
        "--repeat", type=int, default=2, help="renders per variant (Piper's noise differs each time)"
    )
    args = ap.parse_args()
    synth = Synthesizer(SynthSettings(model="", threads=0))
    asr = Recognizer()
    asr.load()
    text = " ".join(SENTENCES[: args.sentences])
    ref_words = words(text)
    rows: dict[tuple[int, int], dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for style in args.styles:
            for variant in range(8):
                errors = n = 0
                f0s, cens, seconds = [], [], 0.0
                for r in range(args.repeat):
                    audio, sr, _ = synth.render(text, "", variant, lambda f: None, lambda: False, style)
                    path = Path(tmp) / f"s{style}v{variant}r{r}.wav"
                    sf.write(path, audio, sr)
                    heard = asr.transcribe(path).text
                    e, k = wer(ref_words, words(heard))
                    errors, n = errors + e, n + k
                    f0, cen = f0_and_centroid(audio, sr)
                    f0s.append(f0)
                    cens.append(cen)
                    seconds += len(audio) / sr
                rows[(style, variant)] = {
                    "f0": float(np.nanmedian(np.concatenate(f0s))),
                    "centroid": float(np.nanmedian(np.concatenate(cens))),
                    "seconds": seconds,
                    "wer": errors / n,
                }
                print(f"  style {style} variant {variant}: {heard[:70]!r}", file=sys.stderr)
    print(
        f"{len(ref_words)} words × {args.repeat} renders per variant; WER by Whisper tiny.en; f0/centroid medians over voiced frames\n"
    )
    print(
        "| style | variant | pitch st | formant st | rate | f0 Hz | Δf0 st | centroid Hz | Δcentroid st | duration | WER | ΔWER | nearest |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for style in args.styles:
        base = rows[(style, 0)]
        pts = {
            v: (
                12 * math.log2(rows[(style, v)]["f0"] / base["f0"]),
                12 * math.log2(rows[(style, v)]["centroid"] / base["centroid"]),
            )
            for v in range(8)
        }
        for v in range(8):
            r, p = rows[(style, v)], variant_params(v, style)
            nearest = min(math.dist(pts[v], pts[u]) for u in range(8) if u != v)
            formant = "= pitch" if p.formant_semitones is None else f"{p.formant_semitones:+.1f}"
            print(
                f"| {style} | {v} | {p.semitones:+.1f} | {formant} | {p.length_scale:.2f} | {r['f0']:.0f} | {pts[v][0]:+.1f} "
                f"| {r['centroid']:.0f} | {pts[v][1]:+.1f} | {r['seconds'] / base['seconds']:.2f} | {r['wer']:.3f} "
                f"| {r['wer'] - base['wer']:+.3f} | {nearest:.1f} |"
            )


if __name__ == "__main__":
    main()
