"""Side-chain ducking: a music/humming track dips under the summed dialogue signal.

The key is the dialogue side-chain (mono sum of the audible dialogue tracks, post track gain): every
sample whose magnitude exceeds the threshold is "on". The duck amount ``a`` (0 = none, 1 = full depth)
ramps up linearly in dB over ``attack``, starting ``lookahead`` before the next on-sample — so the music
is already dipping when the first word starts — stays at full depth while the key is on and for
:data:`HOLD_S` after it (bridging gaps between words), then ramps back over ``release``. The gain is
``depth_db · a`` dB.

Because the key is a per-sample comparison and the ramps are integer distances, the result does not
depend on block boundaries: blocked == whole-buffer exactly. The state carried across blocks is the
distance to the last on-sample; a seek re-primes it from the side-chain ``lookbehind`` frames back.

Thread contract: a :class:`Ducker` belongs to one mixer (one thread).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.core.model import Ducking

# Full depth is held this long after the key goes off (bridges gaps between words).
HOLD_S = 0.1
_NEVER = -(10**15)


@dataclass(frozen=True)
class DuckingParams:
    depth_db: float
    threshold: float  # linear
    attack: int  # frames
    release: int  # frames
    lookahead: int  # frames
    hold: int  # frames

    @classmethod
    def from_settings(cls, ducking: Ducking, sample_rate: int) -> DuckingParams:
        def frames(ms: float) -> int:
            return max(0, round(ms * sample_rate / 1000.0))

        return cls(
            depth_db=min(0.0, ducking.depth_db),
            threshold=10.0 ** (ducking.threshold_db / 20.0),
            attack=max(1, frames(ducking.attack_ms)),
            release=max(1, frames(ducking.release_ms)),
            lookahead=frames(ducking.lookahead_ms),
            hold=round(HOLD_S * sample_rate),
        )


class Ducker:
    """The ducking gain of one track, block by block, with state carried across blocks."""

    def __init__(self, params: DuckingParams) -> None:
        self.params = params
        self._last = _NEVER  # index of the last on-sample, relative to the next block's first frame

    @property
    def lookahead(self) -> int:
        """Side-chain frames needed after each block."""
        return self.params.lookahead

    @property
    def lookbehind(self) -> int:
        """How far back an on-sample still affects the gain (side-chain needed to prime after a seek)."""
        return self.params.hold + self.params.release

    def reset(self) -> None:
        self._last = _NEVER

    def prime(self, sidechain: np.ndarray) -> None:
        """Set the state from the side-chain just before the next block (any length, ends at it)."""
        on = np.flatnonzero(np.abs(sidechain) > self.params.threshold)
        self._last = int(on[-1]) - len(sidechain) if on.size else _NEVER

    def process(self, sidechain: np.ndarray, frames: int) -> np.ndarray | None:
        """Gain for the next ``frames`` frames, from the side-chain over ``frames + lookahead`` frames.

        Returns float32 ``(frames,)``, or None where the gain is exactly 1 throughout.
        """
        p = self.params
        on = np.flatnonzero(np.abs(sidechain[: frames + p.lookahead]) > p.threshold)
        reach = p.hold + p.release
        carry = self._last if -self._last < reach else None
        if on.size == 0 and carry is None:
            self._last = _NEVER
            return None
        # Runs of on-samples; gaps of at most hold+1 frames are fully ducked anyway, so merge them.
        if on.size:
            brk = np.flatnonzero(np.diff(on) > p.hold + 1)
            starts = on[np.concatenate(([0], brk + 1))].tolist()
            ends = on[np.concatenate((brk, [on.size - 1]))].tolist()
        else:
            starts, ends = [], []
        if carry is not None:
            if starts and starts[0] - carry <= p.hold + 1:
                starts[0] = carry
            else:
                starts.insert(0, carry)
                ends.insert(0, carry)
        amount = np.zeros(frames, dtype=np.float32)
        prev_end: int | None = None
        for k in range(len(starts) + 1):
            nxt = starts[k] if k < len(starts) else None
            g0 = 0 if prev_end is None else max(0, prev_end + p.hold + 1)
            g1 = frames if nxt is None else min(frames, nxt)
            if g0 < g1:  # a gap between runs: release of the previous, attack of the next
                if prev_end is not None:
                    r1 = min(g1, prev_end + reach)
                    if g0 < r1:
                        f = np.arange(g0, r1, dtype=np.float32)
                        amount[g0:r1] = 1.0 - (f - np.float32(prev_end + p.hold)) / np.float32(p.release)
                if nxt is not None:
                    a0 = max(g0, nxt - p.lookahead)
                    if a0 < g1:
                        f = np.arange(a0, g1, dtype=np.float32)
                        ramp = np.minimum((f - np.float32(nxt - p.lookahead - 1)) / np.float32(p.attack), 1.0)
                        np.maximum(amount[a0:g1], ramp, out=amount[a0:g1])
            if nxt is not None:
                end = ends[k]
                amount[max(0, nxt) : max(0, min(frames, end + p.hold + 1))] = 1.0
                prev_end = end
        own = on[on < frames]
        self._last = int(own[-1]) - frames if own.size else max(_NEVER, self._last - frames)
        if not amount.any():
            return None
        result: np.ndarray = np.exp(amount * np.float32(p.depth_db * np.log(10.0) / 20.0))
        return result
