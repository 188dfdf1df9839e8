"""Timeline layout: place the script's rendered lines on tracks, in script order, with gaps.

One dialogue track per speaker (so stems and level matching work per voice); humming lines go on a
humming track and music lines on a music track at the start of their scene. Gaps come from the
project settings: between lines of the same speaker, between turns of different speakers, and between
scenes. A clip the user moved by hand (``pinned``) stays where it is; the lines after it follow on
from its end.

Thread contract: pure functions of the project; call on the project's thread.
"""

from __future__ import annotations

from typing import Any

from studio.core import ops
from studio.core.model import Clip, LineKind, ScriptLine, Track, TrackKind, new_id
from studio.core.project import Project, ProjectSettings

_KIND_TRACK = {LineKind.HUMMING: TrackKind.HUMMING, LineKind.MUSIC: TrackKind.MUSIC}


def gap_before(
    settings: ProjectSettings, line: ScriptLine, prev_speaker: str | None, prev_scene: str | None
) -> float:
    """Silence before ``line`` given the speaker and scene of the line placed before it (None: first)."""
    if prev_speaker is None:
        return 0.0
    if line.scene_id != prev_scene:
        return settings.gap_new_scene
    if line.speaker_id != prev_speaker:
        return settings.gap_new_speaker
    return settings.gap_same_speaker


def _track_for(project: Project, kind: TrackKind, speaker_id: str, created: dict[Any, Track]) -> Track:
    key = (kind, speaker_id if kind == TrackKind.DIALOGUE else "")
    if key in created:
        return created[key]
    for track in project.tracks.values():
        if track.kind == kind and (kind != TrackKind.DIALOGUE or track.speaker_id == speaker_id):
            created[key] = track
            return track
    if kind == TrackKind.DIALOGUE:
        speaker = project.speakers.get(speaker_id)
        name = speaker.name if speaker else "Dialogue"
    else:
        name = kind.value.capitalize()
    track = Track(
        id=new_id("trk"), name=name, kind=kind, speaker_id=speaker_id if kind == TrackKind.DIALOGUE else ""
    )
    created[key] = track
    return track


def layout_ops(project: Project) -> ops.Batch:
    """The edits that place every line with a selected take; empty Batch if nothing moves."""
    settings = project.settings
    created: dict[Any, Track] = {}
    edits: list[Any] = []
    cursor = settings.lead_in
    scene_start = cursor
    prev_speaker: str | None = None
    prev_scene: str | None = None
    clip_of_line = {c.line_id: c for c in project.clips.values() if c.line_id}
    for line in project.ordered_lines():
        take = project.takes.get(line.selected_take) if line.selected_take else None
        clip = clip_of_line.get(line.id)
        if take is None:
            continue
        gap = gap_before(settings, line, prev_speaker, prev_scene)
        if line.scene_id != prev_scene:
            scene_start = cursor + gap
        kind = _KIND_TRACK.get(line.kind, TrackKind.DIALOGUE)
        track = _track_for(project, kind, line.speaker_id, created)
        start = scene_start if kind == TrackKind.MUSIC else cursor + gap
        if clip is not None and clip.pinned:
            if clip.media != take.media:
                edits.append(
                    ops.Update(
                        "clip",
                        clip.id,
                        (
                            ("media", take.media),
                            ("duration", take.duration),
                            ("source_in", 0.0),
                            ("source_out", take.duration),
                        ),
                    )
                )
            end = clip.start + take.duration if clip.media != take.media else clip.end
        else:
            placed = Clip(
                id=clip.id if clip else new_id("clip"),
                track_id=track.id,
                media=take.media,
                start=round(start, 6),
                source_in=0.0,
                source_out=take.duration,
                duration=take.duration,
                line_id=line.id,
            )
            if clip is None:
                edits.append(ops.Insert(placed))
            else:
                names = ("track_id", "media", "start", "source_in", "source_out", "duration")
                changes = tuple(
                    (k, getattr(placed, k)) for k in names if getattr(clip, k) != getattr(placed, k)
                )
                if changes:
                    edits.append(ops.Update("clip", clip.id, changes))
            end = start + take.duration
        if kind != TrackKind.MUSIC:
            cursor = end
            prev_speaker = line.speaker_id
        prev_scene = line.scene_id
    new_tracks = [ops.Insert(t) for t in created.values() if t.id not in project.tracks]
    return ops.Batch(tuple(new_tracks + edits), "Lay out timeline")
