"""Piper voice variants: distinct, stable voices from one voice file (pitch, formants and rate).

A variant is a fixed recipe from a table (:func:`variant_params`); its DSP is pedalboard's Rubber
Band time-stretcher (:func:`shift_voice`), no hand-written signal processing. Two styles exist:

* style 1 (projects made before effect chains): pitch and rate only, the formants move with the
  pitch (a resampling shift) — kept so old projects' takes stay what they were;
* style 2 (new voices): pitch and *formants* are chosen apart. The formants (the resonances of the
  vocal tract) tell a listener the size of the speaker, the pitch tells the voice's register; moving
  them by different amounts gives a different person rather than the same one sped up. The table
  comes from ``bench/piper_variants.py`` (pitch, spectral centroid and Whisper word error rate of
  every variant); its numbers are in that script's docstring.

Thread contract: pure functions, callable from any thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LATEST_STYLE = 2


@dataclass(frozen=True)
class VoiceVariant:
    """How a variant differs from the voice: pitch and formants in semitones, rate as a Piper length scale."""

    semitones: float = 0.0
    length_scale: float = 1.0
    formant_semitones: float | None = None  # None: formants move with the pitch (style 1)


_STYLE1: tuple[VoiceVariant, ...] = (
    VoiceVariant(0.0, 1.00),  # 0 the voice as it is
    VoiceVariant(-3.0, 1.06),  # 1 lower, slightly slower
    VoiceVariant(3.0, 0.96),  # 2 higher, slightly quicker
    VoiceVariant(-5.0, 1.00),  # 3 deep
    VoiceVariant(5.0, 1.03),  # 4 bright
    VoiceVariant(-1.5, 0.93),  # 5 a little lower, brisk
    VoiceVariant(1.5, 1.09),  # 6 a little higher, unhurried
    VoiceVariant(-7.0, 1.04),  # 7 very deep
)

_STYLE2: tuple[VoiceVariant, ...] = (
    VoiceVariant(0.0, 1.00, 0.0),  # 0 the voice as it is
    VoiceVariant(-2.5, 1.06, -1.0),  # 1 lower and larger, slightly slower
    VoiceVariant(4.0, 0.96, 2.0),  # 2 higher and smaller, slightly quicker
    VoiceVariant(-4.5, 1.02, -3.0),  # 3 deep, big-chested
    VoiceVariant(6.5, 1.03, 3.0),  # 4 bright, light
    VoiceVariant(-2.0, 0.93, 1.5),  # 5 low register in a small frame, brisk
    VoiceVariant(2.0, 1.09, -1.5),  # 6 high register in a large frame, unhurried
    VoiceVariant(0.0, 1.04, -2.5),  # 7 the voice's pitch in a larger frame
)

STYLES: dict[int, tuple[VoiceVariant, ...]] = {1: _STYLE1, 2: _STYLE2}


def variant_params(variant: int, style: int = LATEST_STYLE) -> VoiceVariant:
    """The fixed recipe of a variant (deterministic; any int is valid, negatives mirror positives).

    Variants 0–7 come from the style's table; higher ones cycle through it with an extra offset of
    ±0.75 semitone (pitch only) per round so they stay distinct. Unknown styles raise ValueError.
    """
    table = STYLES.get(int(style))
    if table is None:
        raise ValueError(f"unknown Piper variant style {style}; this engine knows {sorted(STYLES)}")
    index = abs(int(variant))
    base = table[index % len(table)]
    rounds = index // len(table)
    if rounds == 0:
        return base
    offset = 0.75 * ((rounds + 1) // 2) * (1 if rounds % 2 else -1)
    semitones = float(np.clip(base.semitones + offset, -9.0, 9.0))
    return VoiceVariant(semitones, base.length_scale, base.formant_semitones)


def shift_voice(
    audio: np.ndarray, sample_rate: int, semitones: float, formant_semitones: float | None = None
) -> np.ndarray:
    """Move pitch by ``semitones`` and formants by ``formant_semitones`` (None: with the pitch); same length.

    Rubber Band (through pedalboard) shifts the pitch by ``semitones − formants`` keeping the formants,
    stretched by the formant ratio; resampling that back to the original length then moves pitch and
    formants together by the formant ratio. With ``formant_semitones`` None it is one Rubber Band
    shift without formant preservation.
    """
    import pedalboard

    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    formants = semitones if formant_semitones is None else float(formant_semitones)
    if len(x) == 0 or (abs(semitones) < 1e-6 and abs(formants) < 1e-6):
        return x.copy()
    if formant_semitones is None:
        out = pedalboard.time_stretch(x, float(sample_rate), 1.0, float(semitones), preserve_formants=False)
        return _fit(np.asarray(out, dtype=np.float32).reshape(-1), len(x))
    ratio = float(2.0 ** (formants / 12.0))
    stretched = pedalboard.time_stretch(
        x, float(sample_rate), 1.0 / ratio, float(semitones - formants), preserve_formants=True
    )
    stretched = np.asarray(stretched, dtype=np.float32).reshape(-1)
    if abs(formants) < 1e-6:
        return _fit(stretched, len(x))
    import soxr

    shifted = soxr.resample(stretched, sample_rate * ratio, sample_rate, quality="HQ")
    return _fit(np.asarray(shifted, dtype=np.float32), len(x))


def time_stretch(audio: np.ndarray, factor: float, sample_rate: int) -> np.ndarray:
    """Stretch ``audio`` to ``round(len * factor)`` samples keeping its pitch (Rubber Band)."""
    import pedalboard

    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    n_out = int(round(len(x) * factor))
    if len(x) == 0 or n_out == 0:
        return np.zeros(n_out, dtype=np.float32)
    out = pedalboard.time_stretch(x, float(sample_rate), 1.0 / float(factor))
    return _fit(np.asarray(out, dtype=np.float32).reshape(-1), n_out)


def pitch_shift(audio: np.ndarray, sample_rate: int, semitones: float) -> np.ndarray:
    """Shift pitch by ``semitones`` keeping the exact length; formants move with the pitch (style 1)."""
    return shift_voice(audio, sample_rate, semitones, None)


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    if len(x) >= n:
        return np.ascontiguousarray(x[:n])
    return np.concatenate([x, np.zeros(n - len(x), dtype=np.float32)])
