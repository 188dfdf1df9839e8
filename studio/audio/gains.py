"""Gain laws: dB conversion, constant-power pan, stereo balance and equal-power fade curves.

Thread contract: pure functions, callable from any thread.
"""

from __future__ import annotations

import math

import numpy as np

# Below this a gain is treated as silence.
SILENT_DB = -120.0


def db_to_gain(db: float) -> float:
    return 0.0 if db <= SILENT_DB else 10.0 ** (db / 20.0)


def gain_to_db(gain: float) -> float:
    return 20.0 * math.log10(gain) if gain > 0 else -math.inf


def pan_angle(pan: float) -> float:
    """θ = (pan + 1)·π/4 for pan in −1 (left) … +1 (right)."""
    return (min(1.0, max(-1.0, pan)) + 1.0) * math.pi / 4.0


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power pan of a mono signal: L = cos θ, R = sin θ (−3 dB each at centre)."""
    theta = pan_angle(pan)
    return math.cos(theta), math.sin(theta)


def balance_gains(pan: float) -> tuple[float, float]:
    """Balance of a stereo signal on the same law, scaled so that centre leaves it unchanged."""
    left, right = pan_gains(pan)
    return min(1.0, math.sqrt(2.0) * left), min(1.0, math.sqrt(2.0) * right)


def fade_in_curve(offset: int, frames: int, length: int) -> np.ndarray:
    """Equal-power fade-in gains ``sin(π/2 · k/length)`` for k in ``[offset, offset+frames)``."""
    k = np.arange(offset, offset + frames, dtype=np.float64)
    return np.sin((math.pi / 2.0) * np.clip(k / length, 0.0, 1.0))


def fade_out_curve(offset: int, frames: int, length: int) -> np.ndarray:
    """Equal-power fade-out gains ``cos(π/2 · k/length)`` for k in ``[offset, offset+frames)``."""
    k = np.arange(offset, offset + frames, dtype=np.float64)
    return np.cos((math.pi / 2.0) * np.clip(k / length, 0.0, 1.0))
