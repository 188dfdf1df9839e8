"""Clips placed on the sample grid: start, length, source offset, gain and fades in frames.

A clip starts at ``round(start · rate)`` and its first frame is source frame
``round(source_in · rate)`` of the media resampled to the project rate. Its length is
``round(duration · rate)`` (or the source's ``source_out``/end when ``duration`` is 0), never more
than the source holds. Every clip gets at least a :data:`DECLICK_S` equal-power fade at each end,
so no clip boundary clicks.

Thread contract: pure functions and frozen records, usable from any thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.audio.gains import db_to_gain, fade_in_curve, fade_out_curve
from studio.core.model import Clip

# Shortest fade at each clip end (declick), in seconds.
DECLICK_S = 0.0025


@dataclass(frozen=True)
class PlacedClip:
    clip_id: str
    track_id: str
    media: str
    start: int  # first frame on the timeline
    frames: int  # placed length
    source_start: int  # first frame of the (resampled) source
    gain: float  # linear clip gain (× speaker level match)
    fade_in: int  # frames
    fade_out: int  # frames
    speaker_id: str = ""

    @property
    def end(self) -> int:
        return self.start + self.frames

    def envelope(self, offset: int, frames: int) -> np.ndarray | float:
        """Gain for clip frames ``[offset, offset+frames)``: a scalar when no fade is involved."""
        fin, fout = self.fade_in, self.fade_out
        out_from = self.frames - fout
        if offset >= fin and offset + frames <= out_from:
            return self.gain
        env = np.full(frames, self.gain, dtype=np.float64)
        if offset < fin:
            n = min(frames, fin - offset)
            env[:n] *= fade_in_curve(offset, n, fin)
        if offset + frames > out_from:
            a = max(offset, out_from)
            env[a - offset :] *= fade_out_curve(a - out_from, offset + frames - a, fout)
        return env


def place_clip(
    clip: Clip, sample_rate: int, source_frames: int, speaker_id: str = "", extra_gain_db: float = 0.0
) -> PlacedClip | None:
    """Sample positions of ``clip`` over a source of ``source_frames`` frames; None if it is empty."""
    start = round(clip.start * sample_rate)
    src_in = max(0, round(clip.source_in * sample_rate))
    src_end = source_frames
    if clip.source_out > 0:
        src_end = min(src_end, round(clip.source_out * sample_rate))
    available = max(0, src_end - src_in)
    frames = round(clip.duration * sample_rate) if clip.duration > 0 else available
    frames = min(frames, available)
    if frames <= 0:
        return None
    declick = max(1, round(DECLICK_S * sample_rate))
    fin = max(declick, round(max(0.0, clip.fade_in) * sample_rate))
    fout = max(declick, round(max(0.0, clip.fade_out) * sample_rate))
    if fin + fout > frames:
        scale = frames / (fin + fout)
        fin, fout = int(fin * scale), int(fout * scale)
    return PlacedClip(
        clip_id=clip.id,
        track_id=clip.track_id,
        media=clip.media,
        start=start,
        frames=frames,
        source_start=src_in,
        gain=db_to_gain(clip.gain_db + extra_gain_db),
        fade_in=max(fin, 0),
        fade_out=max(fout, 0),
        speaker_id=speaker_id,
    )
