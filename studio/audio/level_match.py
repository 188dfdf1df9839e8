"""Per-speaker level matching: measure each speaker's dialogue and find gains that even them out.

Each speaker's clips (clip gain and fades applied, before track gain) are metered together as one
gated BS.1770 programme; every speaker is then moved to the mean of the speakers' loudness (in dB),
by at most :data:`MAX_MATCH_DB` either way. Speakers with no measurable audio get 0 dB.

Thread contract: pure function over a project snapshot; runs on the calling thread.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from studio.audio.loudness import LoudnessMeter
from studio.audio.placement import place_clip
from studio.audio.sources import SourceCache
from studio.core.model import Clip, ScriptLine, Track, TrackKind

MAX_MATCH_DB = 12.0


def clip_speaker(clip: Clip, tracks: Mapping[str, Track], lines: Mapping[str, ScriptLine]) -> str:
    """The speaker a clip voices: its line's speaker, else its dialogue track's speaker, else ""."""
    line = lines.get(clip.line_id) if clip.line_id else None
    if line is not None and line.speaker_id:
        return line.speaker_id
    track = tracks.get(clip.track_id)
    return track.speaker_id if track is not None else ""


def speaker_gains_db(
    clips: Mapping[str, Clip],
    tracks: Mapping[str, Track],
    lines: Mapping[str, ScriptLine],
    sources: SourceCache,
) -> dict[str, float]:
    """Gain (dB) per speaker id that brings every speaker to the speakers' mean loudness."""
    sr = sources.sample_rate
    meters: dict[str, LoudnessMeter] = {}
    for clip in sorted(clips.values(), key=lambda c: (c.start, c.id)):
        track = tracks.get(clip.track_id)
        if track is None or track.kind != TrackKind.DIALOGUE:
            continue
        speaker = clip_speaker(clip, tracks, lines)
        if not speaker:
            continue
        info = sources.info(clip.media)
        pc = place_clip(clip, sr, info.frames)
        if pc is None:
            continue
        data = sources.get(clip.media, clip.id).read(pc.source_start, pc.frames)
        mono = data.mean(axis=0) if data.shape[0] > 1 else data[0]
        meter = meters.setdefault(speaker, LoudnessMeter(sr, 1))
        meter.add(np.asarray(mono * pc.envelope(0, pc.frames), dtype=np.float64), planar=True)
    levels = {spk: m.integrated_lufs() for spk, m in meters.items()}
    finite = [v for v in levels.values() if math.isfinite(v)]
    if not finite:
        return {spk: 0.0 for spk in levels}
    target = sum(finite) / len(finite)
    return {
        spk: (max(-MAX_MATCH_DB, min(MAX_MATCH_DB, target - v)) if math.isfinite(v) else 0.0)
        for spk, v in levels.items()
    }
