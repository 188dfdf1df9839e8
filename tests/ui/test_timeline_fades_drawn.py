"""The waveform under a fade is drawn with the gain the mixer applies (equal power), not another curve."""

from __future__ import annotations

import numpy as np

from studio.audio.gains import fade_in_curve, fade_out_curve
from studio.core.model import Clip
from studio.ui.qt_timeline_painter import _clip_gain


def test_the_drawn_fade_is_the_mixers_equal_power_fade() -> None:
    clip = Clip(id="c", track_id="t", media="m", start=10.0, duration=4.0, fade_in=1.0, fade_out=2.0)
    rate = 1000
    t = clip.start + np.arange(int(clip.duration * rate)) / rate
    drawn = _clip_gain(clip, t)
    expected = np.ones_like(drawn)
    expected[:rate] *= fade_in_curve(0, rate, rate)
    out = 2 * rate
    expected[-out:] *= fade_out_curve(0, out, out)
    assert np.max(np.abs(drawn - expected)) < 2e-3
    assert abs(float(drawn[rate // 4]) - np.sin(np.pi / 8)) < 2e-3  # a quarter in: 0.38 (a square root draws 0.5)
