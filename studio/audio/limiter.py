"""A look-ahead true-peak limiter and a true-peak meter (4× oversampled, BS.1770 style).

Detection: the peak around each sample is the larger of the sample itself and the three 4×
interpolated values on each side of it (16-tap Kaiser-windowed sinc per phase). Interpolation is only
computed where the neighbourhood could exceed the ceiling at all (|x| · L1 norm of the filter), so
quiet passages cost one comparison per sample.

Gain: the required attenuation ``r`` (dB) is held for the look-ahead ``A`` (max over ``[n, n+A]``),
released at a constant rate (dB/s, an exact running maximum of decaying ramps) and smoothed by a
box average over ``A+1`` frames. Every smoothed value is an average of values ≥ ``r[n]``, so the gain
at ``n`` always meets the ceiling: output true peak ≤ ceiling (less a small safety margin for the
inter-sample effect of a moving gain).

Blocks: :meth:`TruePeakLimiter.process` takes ``history`` frames before and ``lookahead`` frames
after the block it returns, and carries the release state and the last ``A`` attenuation values;
after :meth:`reset` and :attr:`preroll` frames of input the state equals that of an uninterrupted
run (attenuation is capped at ``max_reduction_db``, which bounds how long the past matters).

Thread contract: a limiter belongs to one mixer (one thread); :func:`true_peak` is thread-safe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.ndimage

_TAPS_HALF = 8  # interpolation taps each side
_OFFSETS = np.arange(-_TAPS_HALF + 1, _TAPS_HALF + 1)  # 16 taps: x[n-7] … x[n+8]


def _interp_filter() -> np.ndarray:
    """(16, 3) weights of the 4× interpolation between x[n] and x[n+1] at +¼, +½, +¾."""
    frac = np.array([0.25, 0.5, 0.75])
    t = frac[None, :] - _OFFSETS[:, None]
    window = np.i0(6.0 * np.sqrt(np.clip(1.0 - (t / _TAPS_HALF) ** 2, 0.0, None))) / np.i0(6.0)
    h = np.sinc(t) * window
    result: np.ndarray = h / h.sum(axis=0, keepdims=True)
    return result


_H = _interp_filter()
_L1 = float(np.abs(_H).sum(axis=0).max())


def true_peak(x: np.ndarray) -> float:
    """True peak (linear) of planar ``(channels, frames)`` or mono ``(frames,)`` audio."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    if x.size == 0:
        return 0.0
    peak = float(np.abs(x).max())
    n = x.shape[1]
    padded = np.pad(x, ((0, 0), (_TAPS_HALF, _TAPS_HALF)))
    for p in range(3):
        y = np.zeros_like(x)
        for j, off in enumerate(_OFFSETS):
            a = _TAPS_HALF + off
            y += _H[j, p] * padded[:, a : a + n]
        peak = max(peak, float(np.abs(y).max()))
    return peak


def true_peak_db(x: np.ndarray) -> float:
    tp = true_peak(x)
    return 20.0 * math.log10(tp) if tp > 0 else -math.inf


@dataclass(frozen=True)
class LimiterSettings:
    ceiling_db: float = -1.0
    lookahead_ms: float = 3.0
    release_db_per_s: float = 40.0
    max_reduction_db: float = 24.0
    margin_db: float = 0.15


class TruePeakLimiter:
    """Holds planar audio under a true-peak ceiling, block by block."""

    def __init__(self, sample_rate: int, channels: int, settings: LimiterSettings | None = None) -> None:
        self.settings = s = settings or LimiterSettings()
        self.sample_rate = sample_rate
        self.channels = channels
        self._a = max(1, round(s.lookahead_ms * sample_rate / 1000.0))
        self._decay = s.release_db_per_s / sample_rate  # dB per frame
        self._thr_db = s.ceiling_db - s.margin_db
        self._thr = 10.0 ** (self._thr_db / 20.0)
        self.history = _TAPS_HALF
        self.lookahead = self._a + _TAPS_HALF
        self.preroll = math.ceil(s.max_reduction_db / self._decay) + 2 * self._a + 2 * _TAPS_HALF
        self.reset()

    def reset(self) -> None:
        self._carry = 0.0  # release state: attenuation (dB) at the last frame of the previous block
        self._tail = np.zeros(self._a, dtype=np.float64)  # last A released attenuations
        self._quiet = True  # carry == 0 and tail all zero
        self._fresh = True  # no block since reset: the A frames before the first one are virtual
        self.engaged = False  # the last block was changed

    def process(self, x: np.ndarray, frames: int) -> np.ndarray:
        """Limit the block ``x[:, history : history+frames]``; ``x`` holds history and look-ahead too.

        Returns planar float32 ``(channels, frames)`` (a view of ``x`` where no gain was needed).
        """
        h, a = self.history, self._a
        need = h + frames + self.lookahead
        if x.shape[1] != need:
            raise ValueError(f"limiter needs {need} frames of input, got {x.shape[1]}")
        block = x[:, h : h + frames]
        self.engaged = False
        absx = np.abs(x[0]) if x.shape[0] == 1 else np.maximum(np.abs(x[0]), np.abs(x[1]))
        for c in range(2, x.shape[0]):
            np.maximum(absx, np.abs(x[c]), out=absx)
        hot = np.flatnonzero(absx > np.float32(self._thr / _L1))
        fresh, self._fresh = self._fresh, False
        if hot.size == 0 and self._quiet:
            return block
        att = self._attenuation(x, absx, hot, frames)
        if att is None and self._quiet:
            return block
        if fresh and att is not None:
            # The virtual frames before the first block see its first A frames ahead (the signal
            # before a reset is taken as silence): their held attenuation is a running maximum.
            self._tail = np.maximum.accumulate(att[:a])
            self._carry = float(self._tail[-1])
        if att is None:
            att = np.zeros(frames + a, dtype=np.float64)
        gain = self._gain(att, frames)
        self.engaged = True
        out: np.ndarray = (block * gain).astype(np.float32, copy=False)
        return out

    def _attenuation(
        self, x: np.ndarray, absx: np.ndarray, hot: np.ndarray, frames: int
    ) -> np.ndarray | None:
        """Required attenuation (dB) for frames ``[0, frames + A)`` of the block, or None if none.

        ``absx`` is the channel maximum of ``|x|`` and ``hot`` the frames (of ``x``) where it could
        make an interpolated value reach the ceiling.
        """
        h, a = self.history, self._a
        count = frames + a
        if hot.size == 0:
            return None
        # Interpolated peaks between m and m+1 (x coordinates) that a hot frame could reach.
        mask = np.zeros(x.shape[1] + 2 * _TAPS_HALF, dtype=bool)
        for off in _OFFSETS:
            mask[hot - off + _TAPS_HALF] = True
        m = np.flatnonzero(mask) - _TAPS_HALF
        m = m[(m >= h - 1) & (m < h + count)]
        over = np.flatnonzero(absx[h : h + count] > self._thr)  # sample peaks over the ceiling
        pos = [over]
        val = [absx[h + over].astype(np.float64)]
        if m.size:
            idx = m[:, None] + _OFFSETS[None, :]  # (ncand, 16), all inside x
            vals = np.abs(x[:, idx].astype(np.float64) @ _H).max(axis=(0, 2))
            big = vals > self._thr
            i = m[big] - h  # an interpolated peak between frames i and i+1 bounds both
            for side in (i, i + 1):
                ok = (side >= 0) & (side < count)
                pos.append(side[ok])
                val.append(vals[big][ok])
        where = np.concatenate(pos)
        if where.size == 0:
            return None
        over_db = np.minimum(
            20.0 * np.log10(np.concatenate(val)) - self._thr_db, self.settings.max_reduction_db
        )
        att = np.zeros(count, dtype=np.float64)
        np.maximum.at(att, where, over_db)
        return att

    def _gain(self, att: np.ndarray, frames: int) -> np.ndarray:
        a = self._a
        held = scipy.ndimage.maximum_filter1d(att, size=a + 1, origin=-((a + 1) // 2), mode="constant")
        held = held[:frames]
        ramp = np.arange(frames, dtype=np.float64) * self._decay
        released = np.maximum.accumulate(held + ramp) - ramp
        released = np.maximum(released, self._carry - ramp - self._decay)
        np.maximum(released, 0.0, out=released)
        full = np.concatenate((self._tail, released))
        csum = np.concatenate(([0.0], np.cumsum(full)))
        smooth = (csum[a + 1 :] - csum[: -a - 1]) / (a + 1)
        self._carry = float(released[-1])
        self._tail = full[-a:].copy()
        self._quiet = self._carry <= 0.0 and not self._tail.any()
        result: np.ndarray = np.power(10.0, -smooth / 20.0)
        return result
