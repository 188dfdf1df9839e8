"""Timeline layout: place the script's rendered lines on tracks, in script order, with gaps.

One dialogue track per speaker (so stems and level matching work per voice); humming lines go on a
humming track and music lines on a music track at the start of their scene. Gaps come from the
project settings: between lines of the same speaker, between turns of different speakers, and between
scenes. A clip the user moved by hand (``pinned``) stays where it is; the lines after it follow on
from its end.

The timeline speaks one language (``ProjectSettings.timeline_language``, "" = the source): each line's
clip is its selected take in that language, and a line with no take in it has no clip (see
:func:`lines_without_take`). :func:`set_timeline_language` switches it in one undoable edit, so
playback and the mix, both built on clips, follow.

Thread contract: pure functions of the project; call on the project's thread.
"""

from __future__ import annotations

from typing import Any

from studio.core import ops
from studio.core.model import Clip, LineKind, ScriptLine, Track, TrackKind, new_id
from studio.core.project import Project, ProjectSettings
from studio.core.workflow import check_language, is_source, project_languages, selected_take_key

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


def timeline_language(project: Project) -> str:
    """The language the timeline speaks: a target language, or "" for the source (also when the
    setting names a language the project no longer has)."""
    code = project.settings.timeline_language
    if is_source(project, code) or code not in project.settings.target_languages:
        return ""
    return code


def lines_without_take(project: Project, language: str | None = None) -> list[str]:
    """Ids of the lines (script order) with no selected take in ``language`` (None: the timeline's)."""
    code = timeline_language(project) if language is None else language
    return [
        line.id for line in project.ordered_lines() if project.takes.get(selected_take_key(project, line, code)) is None
    ]


def layout_ops(project: Project, language: str | None = None) -> ops.Batch:
    """The edits that place every line's selected take in ``language`` (None: the timeline's language);
    a line without one loses its clip. Empty Batch if nothing moves."""
    code = timeline_language(project) if language is None else language
    settings = project.settings
    created: dict[Any, Track] = {}
    edits: list[Any] = []
    cursor = settings.lead_in
    scene_start = cursor
    prev_speaker: str | None = None
    prev_scene: str | None = None
    clip_of_line = {c.line_id: c for c in project.clips.values() if c.line_id}
    for line in project.ordered_lines():
        key = selected_take_key(project, line, code)
        take = project.takes.get(key) if key else None
        clip = clip_of_line.get(line.id)
        if take is None:
            if clip is not None:  # no take (in this language): the line is silent here
                edits.append(ops.Delete("clip", clip.id))
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


def set_timeline_language(project: Project, language: str) -> ops.Batch:
    """One undoable edit: the timeline speaks ``language`` ("" or the source code = the source) — the
    setting and the relayout together. Raises EditError for a language the project does not have."""
    code = check_language(language) if language.strip() else ""
    if code and code not in project_languages(project):
        known = ", ".join(project_languages(project))
        raise ops.EditError(f"the project has no language {code!r}; its languages are {known}")
    code = "" if is_source(project, code) else code
    name = code or project.settings.source_language
    edits: list[Any] = []
    if project.settings.timeline_language != code:
        edits.append(ops.SetSettings((("timeline_language", code),), "Timeline language"))
    layout = layout_ops(project, code)
    if layout.ops:
        edits.append(layout)
    return ops.Batch(tuple(edits), f"Timeline in {name}")
