"""Effect chains on pedalboard: a chain (:mod:`studio.core.effects`) made into DSP, for whole clips and streams.

Two ways a chain runs, one code path (:func:`build_board`) for both:

* :func:`process_clip` — a voice's chain on one clip: the whole clip at once, with the chain's tail
  (reverb, delay) appended, latency compensated by pedalboard. The mixer caches the result.
* :class:`ChainStream` — a track insert: consecutive blocks with the DSP state kept between calls
  (``reset=False``), so rendering in chunks equals rendering the whole range at once. pedalboard
  re-prepares (and so resets) a plugin when a block is longer than the first it saw; a stream
  therefore primes its board once with :data:`BLOCK` frames of silence, resets it, and never
  passes it more than :data:`BLOCK` frames at a time.

A bypassed effect is left out of the board; a chain with nothing active is not built at all, so
bypass is bit-identical to dry.

Thread contract: a board or a stream belongs to one thread (one per mixer); the functions are safe
from any thread.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pedalboard as pb
from pedalboard._pedalboard import Pedalboard  # re-exported by pedalboard without __all__ (mypy)

from studio.core.effects import active, chain_tail, params_of
from studio.core.model import Effect

# Largest block handed to a streaming board (see the module docstring).
BLOCK = 8192
MIN_FRAMES = 64


def _plugin(fx: Effect) -> Any:
    v = params_of(fx)
    kind = fx.kind
    if kind == "highpass":
        return pb.HighpassFilter(cutoff_frequency_hz=v["cutoff_hz"])
    if kind == "lowpass":
        return pb.LowpassFilter(cutoff_frequency_hz=v["cutoff_hz"])
    if kind == "low_shelf":
        return pb.LowShelfFilter(cutoff_frequency_hz=v["cutoff_hz"], gain_db=v["gain_db"], q=v["q"])
    if kind == "high_shelf":
        return pb.HighShelfFilter(cutoff_frequency_hz=v["cutoff_hz"], gain_db=v["gain_db"], q=v["q"])
    if kind == "peak":
        return pb.PeakFilter(cutoff_frequency_hz=v["cutoff_hz"], gain_db=v["gain_db"], q=v["q"])
    if kind == "compressor":
        comp = pb.Compressor(
            threshold_db=v["threshold_db"],
            ratio=v["ratio"],
            attack_ms=v["attack_ms"],
            release_ms=v["release_ms"],
        )
        return Pedalboard([comp, pb.Gain(v["makeup_db"])]) if v["makeup_db"] else comp
    if kind == "noise_gate":
        return pb.NoiseGate(
            threshold_db=v["threshold_db"],
            ratio=v["ratio"],
            attack_ms=v["attack_ms"],
            release_ms=v["release_ms"],
        )
    if kind == "limiter":
        return pb.Limiter(threshold_db=v["threshold_db"], release_ms=v["release_ms"])
    if kind == "deesser":
        # pedalboard has no de-esser and its compressor takes no side-chain: add to the signal the
        # difference a compressor makes to its high band, x + (C(HP x) − HP x). Below the threshold
        # the compressor is unity and the output is x exactly.
        band = v["frequency_hz"]
        return pb.Mix(
            [
                Pedalboard([]),
                Pedalboard(
                    [
                        pb.HighpassFilter(band),
                        pb.Compressor(
                            threshold_db=v["threshold_db"], ratio=v["ratio"], attack_ms=1, release_ms=60
                        ),
                    ]
                ),
                Pedalboard([pb.HighpassFilter(band), pb.Invert()]),
            ]
        )
    if kind == "reverb":
        return pb.Reverb(
            room_size=v["room_size"],
            damping=v["damping"],
            wet_level=v["wet"],
            dry_level=v["dry"],
            width=v["width"],
        )
    if kind == "delay":
        return pb.Delay(delay_seconds=v["delay_s"], feedback=v["feedback"], mix=v["mix"])
    if kind == "distortion":
        return pb.Distortion(drive_db=v["drive_db"])
    if kind == "chorus":
        return pb.Chorus(
            rate_hz=v["rate_hz"],
            depth=v["depth"],
            centre_delay_ms=v["centre_delay_ms"],
            feedback=v["feedback"],
            mix=v["mix"],
        )
    if kind == "bitcrush":
        return pb.Bitcrush(bit_depth=v["bit_depth"])
    if kind == "pitch_shift":
        return pb.PitchShift(semitones=v["semitones"])
    if kind == "gain":
        return pb.Gain(gain_db=v["gain_db"])
    raise ValueError(f"no DSP for effect {kind!r}")


def build_board(chain: tuple[Effect, ...]) -> Pedalboard | None:
    """The pedalboard of a chain's active effects; None when nothing is active (the signal passes as is)."""
    effects = active(chain)
    if not effects:
        return None
    return Pedalboard([_plugin(fx) for fx in effects])


def tail_frames(chain: tuple[Effect, ...], sample_rate: int) -> int:
    return math.ceil(chain_tail(active(chain)) * sample_rate)


def process_clip(chain: tuple[Effect, ...], audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """``audio`` (planar float32 ``(channels, frames)``) through the chain, tail included.

    Returns ``(channels, frames + tail_frames(chain))`` float32; ``audio`` itself when nothing is active.
    """
    board = build_board(chain)
    if board is None:
        return audio
    frames = audio.shape[1] + tail_frames(chain, sample_rate)
    # At least MIN_FRAMES, so pedalboard never mistakes a (channels, frames) buffer for (frames, channels).
    padded = np.zeros((audio.shape[0], max(frames, MIN_FRAMES)), dtype=np.float32)
    padded[:, : audio.shape[1]] = audio
    out = board.process(padded, float(sample_rate), reset=True)
    return np.ascontiguousarray(out[:, :frames], dtype=np.float32)


class ChainStream:
    """A chain over a signal that arrives in consecutive blocks (planar ``(channels, n)`` float32).

    :meth:`process` continues where the last call ended; :meth:`reset` starts afresh (a seek). The
    output of any split of a signal into calls is the same as one call over all of it.
    """

    def __init__(self, chain: tuple[Effect, ...], sample_rate: int, channels: int) -> None:
        self.sample_rate = int(sample_rate)
        self.channels = channels
        self.tail = tail_frames(chain, self.sample_rate)
        board = build_board(chain)
        if board is None:
            raise ValueError("a chain stream needs at least one active effect")
        if any(fx.kind == "pitch_shift" for fx in active(chain)):
            raise ValueError("pitch shift cannot stream (it works on a voice's chain, on whole lines)")
        self._board = board
        # Prepare every plugin for BLOCK-frame calls once (see the module docstring).
        board.process(np.zeros((channels, BLOCK), dtype=np.float32), float(self.sample_rate), reset=True)
        board.reset()

    def reset(self) -> None:
        self._board.reset()

    def process(self, block: np.ndarray) -> np.ndarray:
        """The chain's output for the next ``block.shape[1]`` frames (a new array)."""
        n = block.shape[1]
        if n == 0:
            return np.zeros((self.channels, 0), dtype=np.float32)
        x = np.ascontiguousarray(block, dtype=np.float32)
        rate = float(self.sample_rate)
        if n <= BLOCK:
            return np.asarray(self._board.process(x, rate, reset=False), dtype=np.float32)
        out = np.empty((self.channels, n), dtype=np.float32)
        for a in range(0, n, BLOCK):
            b = min(n, a + BLOCK)
            out[:, a:b] = self._board.process(x[:, a:b], rate, reset=False)
        return out
