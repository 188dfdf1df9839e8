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


def step_frames(sample_rate: int) -> int:
    """Frames per 100 ms gating step; export chunks are whole numbers of steps."""
    return round(STEP_S * sample_rate)


def _gated_lufs(seg: np.ndarray, frames: int, sample_rate: int) -> float:
    """BS.1770 gating over per-step energy sums ``seg`` (steps, channels), as pyloudnorm blocks them."""
    channels = seg.shape[1]
    duration = frames / sample_rate
    if duration < BLOCK_S:
        return -math.inf
    blocks = int(np.round((duration - BLOCK_S) / STEP_S)) + 1
    per_block = round(BLOCK_S / STEP_S)
    need = blocks + per_block - 1
    if seg.shape[0] < need:
        seg = np.concatenate((seg, np.zeros((need - seg.shape[0], channels))))
    csum = np.concatenate((np.zeros((1, channels)), np.cumsum(seg, axis=0)))
    z = (csum[per_block : per_block + blocks] - csum[:blocks]) / (BLOCK_S * sample_rate)
    g = np.array(_CHANNEL_WEIGHTS[:channels])
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


def _rms_db(square_sum: float, count: int) -> float:
    if count == 0 or square_sum <= 0:
        return -math.inf
    return 10.0 * math.log10(square_sum / count)


@dataclass(frozen=True)
class Checkpoint:
    """The meter's state before one ``add``: where its audio starts, filter state, running sums."""

    step: int  # index of the gating step the block starts in
    aligned: bool  # the block starts on a step boundary
    zi: np.ndarray
    square_sum: float


class LoudnessMeter:
    """Integrated loudness (LUFS), RMS and sample peak of audio fed in blocks.

    With ``checkpoints=True`` it remembers its state before every block, so that
    :class:`GainedLoudness` can later give the loudness of the same audio after a gain and a limiter
    without metering it again.
    """

    def __init__(self, sample_rate: int, channels: int, checkpoints: bool = False) -> None:
        if channels > len(_CHANNEL_WEIGHTS):
            raise ValueError(f"loudness of more than {len(_CHANNEL_WEIGHTS)} channels is not defined")
        self.sample_rate = sample_rate
        self.channels = channels
        self.sos = k_weighting_sos(sample_rate)
        self._zi = np.zeros((self.sos.shape[0], channels, 2), dtype=np.float64)
        self._step = step_frames(sample_rate)
        self._segments: list[np.ndarray] = []  # (k, channels) energy sums per full step
        self._nseg = 0
        self._partial = np.zeros(channels, dtype=np.float64)
        self._partial_n = 0
        self.frames = 0
        self.square_sum = 0.0
        self.peak = 0.0
        self.checkpoints: list[Checkpoint] | None = [] if checkpoints else None

    def add(self, block: np.ndarray, planar: bool = False) -> None:
        """Feed ``(frames, channels)`` audio, or ``(channels, frames)`` with ``planar=True``."""
        x = np.asarray(block)
        x = x if planar else x.T
        if x.ndim == 1:
            x = x[None, :]
        if x.shape[0] != self.channels:
            raise ValueError(f"meter expects {self.channels} channels, got {x.shape[0]}")
        if self.checkpoints is not None:
            self.checkpoints.append(
                Checkpoint(self._nseg, self._partial_n == 0, self._zi.copy(), self.square_sum)
            )
        n = x.shape[1]
        if n == 0:
            return
        for row in x:
            self.square_sum += float(np.dot(row, row))
            self.peak = max(self.peak, float(row.max()), float(-row.min()))
        y, self._zi = scipy.signal.sosfilt(self.sos, x, axis=1, zi=self._zi)
        i = 0
        if self._partial_n:
            take = min(n, self._step - self._partial_n)
            self._partial += np.einsum("ck,ck->c", y[:, :take], y[:, :take])
            self._partial_n += take
            i = take
            if self._partial_n == self._step:
                self._segments.append(self._partial[None, :].copy())
                self._nseg += 1
                self._partial[:] = 0.0
                self._partial_n = 0
        full = (n - i) // self._step
        if full:
            seg = y[:, i : i + full * self._step].reshape(self.channels, full, self._step)
            self._segments.append(np.einsum("csk,csk->sc", seg, seg))
            self._nseg += full
            i += full * self._step
        if i < n:
            self._partial += np.einsum("ck,ck->c", y[:, i:], y[:, i:])
            self._partial_n += n - i
        self.frames += n

    def segment_energies(self) -> np.ndarray:
        """K-weighted energy sums per 100 ms step, ``(steps, channels)`` (the last may be partial)."""
        segs = list(self._segments)
        if self._partial_n:
            segs.append(self._partial[None, :])
        return np.concatenate(segs) if segs else np.zeros((0, self.channels))

    def integrated_lufs(self) -> float:
        """Gated integrated loudness; ``-inf`` for silence or less than 400 ms of audio."""
        return _gated_lufs(self.segment_energies(), self.frames, self.sample_rate)

    def recent_lufs(self, seconds: float) -> float:
        """Ungated loudness of the last ``seconds`` (whole 100 ms steps, the step in progress counted):
        momentary at 0.4 s, short-term at 3 s (EBU Tech 3341). ``-inf`` before any audio."""
        weights = np.array(_CHANNEL_WEIGHTS[: self.channels])
        want = max(1, round(seconds / STEP_S))
        total, frames, steps = 0.0, 0, 0
        if self._partial_n:
            total, frames, steps = float(self._partial @ weights), self._partial_n, 1
        for block in reversed(self._segments):
            take = block[max(0, len(block) - (want - steps)) :]
            total += float((take @ weights).sum())
            frames += len(take) * self._step
            steps += len(take)
            if steps >= want:
                break
        if frames == 0 or total <= 0:
            return -math.inf
        return -0.691 + 10 * math.log10(total / frames)

    def rms_db(self) -> float:
        """Unweighted RMS level over all channels (dBFS, as ACX measures it)."""
        return _rms_db(self.square_sum, self.frames * self.channels)

    def peak_db(self) -> float:
        return 20.0 * math.log10(self.peak) if self.peak > 0 else -math.inf


class LiveLoudness:
    """Momentary, short-term and integrated loudness of audio as it plays, in one K-weighting pass.

    Thread contract: fed from one thread (playback's feeder).
    """

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.meter = LoudnessMeter(sample_rate, channels)

    def add(self, block: np.ndarray) -> tuple[float, float, float]:
        """Feed ``(frames, channels)`` audio; returns (momentary, short-term, integrated) LUFS."""
        self.meter.add(block)
        return self.meter.recent_lufs(0.4), self.meter.recent_lufs(3.0), self.meter.integrated_lufs()


class GainedLoudness:
    """Loudness of a metered programme after a gain, re-metering only the blocks a limiter changed.

    ``meter`` must have been fed with ``checkpoints=True``, every block starting on a 100 ms step
    (blocks a whole number of steps long). Blocks the limiter left alone are the measured audio times
    the gain, and their energies are simply scaled; a changed block is filtered again from the
    scaled filter state at its start. (The filter's memory of a changed block reaches a few
    milliseconds into the next one; that is ignored.)
    """

    def __init__(self, meter: LoudnessMeter, gain_db: float) -> None:
        if meter.checkpoints is None:
            raise ValueError("the meter was not keeping checkpoints")
        self._meter = meter
        self._gain = 10.0 ** (gain_db / 20.0)
        g2 = self._gain**2
        self._energy = meter.segment_energies() * g2
        self._square_sum = meter.square_sum * g2
        self._step = step_frames(meter.sample_rate)
        self.replaced = 0

    def replace(self, index: int, block: np.ndarray, planar: bool = False) -> None:
        """Block ``index`` (in feeding order) came out as ``block`` instead of gain × the measured one."""
        m = self._meter
        assert m.checkpoints is not None
        cp = m.checkpoints[index]
        if not cp.aligned:
            raise ValueError("blocks must start on a 100 ms step to be replaced")
        x = np.asarray(block, dtype=np.float64)
        x = x if planar else x.T
        end_sum = m.checkpoints[index + 1].square_sum if index + 1 < len(m.checkpoints) else m.square_sum
        g2 = self._gain**2
        self._square_sum += float(np.einsum("ck,ck->", x, x)) - (end_sum - cp.square_sum) * g2
        y, _ = scipy.signal.sosfilt(m.sos, x, axis=1, zi=cp.zi * self._gain)
        n = y.shape[1]
        full = n // self._step
        seg = y[:, : full * self._step].reshape(m.channels, full, self._step)
        rows = [np.einsum("csk,csk->sc", seg, seg)]
        if n > full * self._step:
            tail = y[:, full * self._step :]
            rows.append(np.einsum("ck,ck->c", tail, tail)[None, :])
        new = np.concatenate(rows)
        self._energy[cp.step : cp.step + new.shape[0]] = new
        self.replaced += 1

    def integrated_lufs(self) -> float:
        return _gated_lufs(self._energy, self._meter.frames, self._meter.sample_rate)

    def rms_db(self) -> float:
        return _rms_db(self._square_sum, self._meter.frames * self._meter.channels)


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
