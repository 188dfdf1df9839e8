"""Loudness: a streaming BS.1770 gated meter and the export presets (podcast, EBU R128, ACX, …).

:class:`LoudnessMeter` takes audio block by block and gives the integrated loudness of everything it
was fed — the same number pyloudnorm's ``Meter.integrated_loudness`` gives on the whole buffer (it uses
pyloudnorm's K-weighting coefficients and block/gating arithmetic, including its handling of the last,
partial block), without holding the signal: it keeps one energy sum per 100 ms per channel.
It also keeps the plain RMS and the sample peak (the ACX check).

Thread contract: a meter belongs to one thread; presets are immutable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.signal
from pyloudnorm.iirfilter import IIRfilter

from studio.audio.errors import ExportError

BLOCK_S = 0.400
STEP_S = 0.100  # 75 % overlap
ABS_GATE = -70.0
REL_GATE = -10.0
_CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)


def k_weighting_sos(sample_rate: int) -> np.ndarray:
    """Second-order sections of pyloudnorm's K-weighting (high shelf, then high pass)."""
    shelf = IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, sample_rate, "high_shelf")
    hp = IIRfilter(0.0, 0.5, 38.0, sample_rate, "high_pass")
    return np.array([[*shelf.b, *shelf.a], [*hp.b, *hp.a]], dtype=np.float64)


class LoudnessMeter:
    """Integrated loudness (LUFS), RMS and sample peak of audio fed in blocks."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        if channels > len(_CHANNEL_WEIGHTS):
            raise ValueError(f"loudness of more than {len(_CHANNEL_WEIGHTS)} channels is not defined")
        self.sample_rate = sample_rate
        self.channels = channels
        self._sos = k_weighting_sos(sample_rate)
        self._zi = np.zeros((self._sos.shape[0], channels, 2), dtype=np.float64)
        self._step = round(STEP_S * sample_rate)
        self._block = BLOCK_S * sample_rate  # block length in frames (the divisor, as pyloudnorm)
        self._per_block = round(BLOCK_S / STEP_S)  # steps per block
        self._segments: list[np.ndarray] = []  # (k, channels) energy sums per full step
        self._partial = np.zeros(channels, dtype=np.float64)
        self._partial_n = 0
        self.frames = 0
        self._square_sum = 0.0
        self.peak = 0.0

    def add(self, block: np.ndarray, planar: bool = False) -> None:
        """Feed ``(frames, channels)`` audio, or ``(channels, frames)`` with ``planar=True``."""
        x = np.asarray(block)
        x = x if planar else x.T
        if x.ndim == 1:
            x = x[None, :]
        if x.shape[0] != self.channels:
            raise ValueError(f"meter expects {self.channels} channels, got {x.shape[0]}")
        n = x.shape[1]
        if n == 0:
            return
        for row in x:
            self._square_sum += float(np.dot(row, row))
            self.peak = max(self.peak, float(row.max()), float(-row.min()))
        y, self._zi = scipy.signal.sosfilt(self._sos, x, axis=1, zi=self._zi)
        i = 0
        if self._partial_n:
            take = min(n, self._step - self._partial_n)
            self._partial += np.einsum("ck,ck->c", y[:, :take], y[:, :take])
            self._partial_n += take
            i = take
            if self._partial_n == self._step:
                self._segments.append(self._partial[None, :].copy())
                self._partial[:] = 0.0
                self._partial_n = 0
        full = (n - i) // self._step
        if full:
            seg = y[:, i : i + full * self._step].reshape(self.channels, full, self._step)
            self._segments.append(np.einsum("csk,csk->sc", seg, seg))
            i += full * self._step
        if i < n:
            self._partial += np.einsum("ck,ck->c", y[:, i:], y[:, i:])
            self._partial_n += n - i
        self.frames += n

    def _block_energies(self) -> np.ndarray:
        """Mean-square energy per gating block and channel, ``(blocks, channels)``."""
        duration = self.frames / self.sample_rate
        if duration < BLOCK_S:
            return np.zeros((0, self.channels))
        blocks = int(np.round((duration - BLOCK_S) / STEP_S)) + 1
        segs = list(self._segments)
        if self._partial_n:
            segs.append(self._partial[None, :])
        seg = np.concatenate(segs) if segs else np.zeros((0, self.channels))
        per_block = self._per_block
        need = blocks + per_block - 1
        if seg.shape[0] < need:
            seg = np.concatenate((seg, np.zeros((need - seg.shape[0], self.channels))))
        csum = np.concatenate((np.zeros((1, self.channels)), np.cumsum(seg, axis=0)))
        energy: np.ndarray = (csum[per_block : per_block + blocks] - csum[:blocks]) / self._block
        return energy

    def integrated_lufs(self) -> float:
        """Gated integrated loudness; ``-inf`` for silence or less than 400 ms of audio."""
        z = self._block_energies()
        if z.shape[0] == 0:
            return -math.inf
        g = np.array(_CHANNEL_WEIGHTS[: self.channels])
        weighted = z @ g
        with np.errstate(divide="ignore"):
            lj = -0.691 + 10.0 * np.log10(weighted)
        above_abs = lj >= ABS_GATE
        if not above_abs.any():
            return -math.inf
        gamma_r = -0.691 + 10.0 * math.log10(float(z[above_abs].mean(axis=0) @ g)) + REL_GATE
        gated = (lj > gamma_r) & (lj > ABS_GATE)
        if not gated.any():
            return -math.inf
        return -0.691 + 10.0 * math.log10(float(z[gated].mean(axis=0) @ g))

    def rms_db(self) -> float:
        """Unweighted RMS level over all channels (dBFS, as ACX measures it)."""
        count = self.frames * self.channels
        if count == 0 or self._square_sum <= 0:
            return -math.inf
        return 10.0 * math.log10(self._square_sum / count)

    def peak_db(self) -> float:
        return 20.0 * math.log10(self.peak) if self.peak > 0 else -math.inf


@dataclass(frozen=True)
class LoudnessPreset:
    """A loudness target: ``measure`` is "lufs" (integrated), "rms" (ACX) or "none"."""

    name: str
    measure: str
    target: float = 0.0  # LUFS, or dBFS RMS
    ceiling_db: float | None = -1.0  # true-peak ceiling (dBTP); None = no limiter
    label: str = ""


PRESET_NAMES = ("podcast", "ebu", "acx", "custom", "none")


def resolve_preset(
    name: str, channels: int, target: float | None = None, ceiling_db: float | None = None
) -> LoudnessPreset:
    """The preset called ``name`` for a mix of ``channels``; ``target``/``ceiling_db`` override it."""
    key = (name or "none").strip().lower().replace("-", "").replace(" ", "")
    if key in ("ebu", "ebur128", "r128"):
        preset = LoudnessPreset("ebu", "lufs", -23.0, -1.0, "EBU R128 (−23 LUFS, −1 dBTP)")
    elif key == "podcast":
        t = -16.0 if channels >= 2 else -19.0
        preset = LoudnessPreset("podcast", "lufs", t, -1.0, f"Podcast ({t:g} LUFS, −1 dBTP)")
    elif key == "acx":
        preset = LoudnessPreset("acx", "rms", -20.0, -3.0, "ACX (−20 dB RMS, peaks ≤ −3 dB)")
    elif key == "custom":
        if target is None:
            raise ExportError("The custom loudness preset needs a target loudness in LUFS.")
        preset = LoudnessPreset("custom", "lufs", target, -1.0, "Custom")
    elif key == "none":
        preset = LoudnessPreset("none", "none", 0.0, None, "No loudness normalisation")
    else:
        raise ExportError(f"Unknown loudness preset {name!r}: choose one of {', '.join(PRESET_NAMES)}.")
    if target is not None and preset.measure != "none":
        preset = LoudnessPreset(preset.name, preset.measure, target, preset.ceiling_db, preset.label)
    if ceiling_db is not None:
        preset = LoudnessPreset(preset.name, preset.measure, preset.target, ceiling_db, preset.label)
    return preset


# ACX accepts RMS between these levels.
ACX_RMS_RANGE = (-23.0, -18.0)


def normalisation_gain_db(meter: LoudnessMeter, preset: LoudnessPreset) -> float:
    """Gain (dB) that brings the metered mix to the preset's target; 0 for silence or "none"."""
    if preset.measure == "lufs":
        level = meter.integrated_lufs()
    elif preset.measure == "rms":
        level = meter.rms_db()
    else:
        return 0.0
    if not math.isfinite(level):
        return 0.0
    return preset.target - level
