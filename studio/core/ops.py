"""Edits as data: frozen operations and a pure ``apply(op, project) -> inverse``.

Five primitive operations cover every edit — :class:`Insert`, :class:`Delete`, :class:`Update`,
:class:`MoveLine`, :class:`SetSettings` — and :class:`Batch` groups several into one undo step.
The helpers at the bottom (``change_text``, ``move_clip``, ``split_clip`` …) build them with
the edit's meaning: the UI and CLI call those, never the primitives' fields by hand.

Audio never enters undo: ops reference takes and media by key.

Thread contract: call on the thread that owns the project.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from studio.core.model import (
    Clip,
    LineKind,
    LineStatus,
    ScriptLine,
    Track,
    TrackKind,
    new_id,
    record_kind,
)
from studio.core.project import Change, Project, ProjectSettings


class EditError(ValueError):
    """An operation that cannot be applied to this project (unknown id, bad value)."""


EMPTY_TEXT = "A line needs text: to drop the line, remove it (Remove in the Script panel)"


class _Applies:
    """Every op applies itself: ``Project.apply(op)`` calls ``op.apply_to(project)``, so the project
    module never imports this one (ops depend on the project, not the other way round)."""

    def apply_to(self, project: Project) -> Op:
        return apply(self, project)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Insert(_Applies):
    """Add a record. For lines, ``index`` is the position in the script (None = at the end)."""

    record: Any
    index: int | None = None
    label: str = "Add"


@dataclass(frozen=True)
class Delete(_Applies):
    kind: str
    id: str
    label: str = "Delete"


@dataclass(frozen=True)
class Update(_Applies):
    """Set fields of one record: ``changes`` is a tuple of (field name, new value)."""

    kind: str
    id: str
    changes: tuple[tuple[str, Any], ...]
    label: str = "Edit"


@dataclass(frozen=True)
class MoveLine(_Applies):
    line_id: str
    index: int
    label: str = "Move line"


@dataclass(frozen=True)
class SetSettings(_Applies):
    changes: tuple[tuple[str, Any], ...]
    label: str = "Project settings"


@dataclass(frozen=True)
class Batch(_Applies):
    ops: tuple[Any, ...]
    label: str = "Edit"


Op = Insert | Delete | Update | MoveLine | SetSettings | Batch


def _clip_range(*clips: Any) -> tuple[float, float]:
    found = [c for c in clips if isinstance(c, Clip)]
    if not found:
        return 0.0, 0.0
    return min(c.start for c in found), max(c.end for c in found)


def apply(op: Op, project: Project) -> Op:
    """Apply ``op`` to ``project``, announce the change, and return the inverse operation."""
    if isinstance(op, Batch):
        inverses: list[Op] = []
        try:
            for sub in op.ops:
                inverses.append(apply(sub, project))
        except Exception:
            for inverse in reversed(inverses):  # all or nothing
                apply(inverse, project)
            raise
        return Batch(tuple(reversed(inverses)), op.label)
    if isinstance(op, Insert):
        kind = record_kind(op.record)
        table = project.table(kind)
        if op.record.id in table:
            raise EditError(f"a {kind} with id {op.record.id!r} already exists")
        table[op.record.id] = op.record
        if kind == "line":
            at = len(project.line_order) if op.index is None else max(0, min(op.index, len(project.line_order)))
            project.line_order.insert(at, op.record.id)
        t0, t1 = _clip_range(op.record)
        project.announce(Change(kind, "insert", op.record.id, None, op.record, t0, t1))
        return Delete(kind, op.record.id, op.label)
    if isinstance(op, Delete):
        table = project.table(op.kind)
        if op.id not in table:
            raise EditError(f"no {op.kind} with id {op.id!r}")
        index: int | None = None
        if op.kind == "line":
            order = project.line_order
            # Undo of a bulk import deletes from the end: keep that O(1).
            index = len(order) - 1 if order and order[-1] == op.id else order.index(op.id)
            order.pop(index)
        old = table.pop(op.id)
        t0, t1 = _clip_range(old)
        project.announce(Change(op.kind, "delete", op.id, old, None, t0, t1))
        return Insert(old, index, op.label)
    if isinstance(op, Update):
        table = project.table(op.kind)
        if op.id not in table:
            raise EditError(f"no {op.kind} with id {op.id!r}")
        old = table[op.id]
        try:
            new = dataclasses.replace(old, **dict(op.changes))
        except TypeError as exc:
            raise EditError(f"cannot change {op.kind}: {exc}") from None
        inverse = Update(
            op.kind, op.id, tuple((name, getattr(old, name)) for name, _ in op.changes), op.label
        )
        if new != old:
            table[op.id] = new
            t0, t1 = _clip_range(old, new)
            project.announce(Change(op.kind, "update", op.id, old, new, t0, t1))
        return inverse
    if isinstance(op, MoveLine):
        if op.line_id not in project.lines:
            raise EditError(f"no line with id {op.line_id!r}")
        old_index = project.line_order.index(op.line_id)
        new_index = max(0, min(op.index, len(project.line_order) - 1))
        if new_index != old_index:
            project.line_order.pop(old_index)
            project.line_order.insert(new_index, op.line_id)
            project.announce(Change("order", "reorder", op.line_id, old_index, new_index))
        return MoveLine(op.line_id, old_index, op.label)
    if isinstance(op, SetSettings):
        old_settings = project.settings
        try:
            new_settings = dataclasses.replace(old_settings, **dict(op.changes))
        except TypeError as exc:
            raise EditError(f"cannot change settings: {exc}") from None
        inverse_settings = SetSettings(
            tuple((name, getattr(old_settings, name)) for name, _ in op.changes), op.label
        )
        if new_settings != old_settings:
            project.settings = new_settings
            project.announce(Change("settings", "settings", "", old_settings, new_settings))
        return inverse_settings
    raise EditError(f"unknown operation {type(op).__name__}")


# ---- edits with a meaning ----------------------------------------------------------------------


def _fields(**changes: Any) -> tuple[tuple[str, Any], ...]:
    return tuple(changes.items())


def add_line(line: ScriptLine, index: int | None = None) -> Insert:
    return Insert(line, index, "Add line")


def remove_line(project: Project, line_id: str) -> Batch:
    """Remove a line and its clip (takes stay in the project: audio never enters undo)."""
    ops: list[Op] = []
    clip = project.clip_for_line(line_id)
    if clip is not None:
        ops.append(Delete("clip", clip.id))
    ops.append(Delete("line", line_id))
    return Batch(tuple(ops), "Remove line")


def change_text(line_id: str, text: str) -> Update:
    """Edit a line's text; the line goes stale (its selected take no longer says this). Empty text
    is refused (EditError, with the reason to show)."""
    if not text.strip():
        raise EditError(EMPTY_TEXT)
    return Update(
        "line",
        line_id,
        _fields(text=text, kind=LineKind.of_text(text), status=LineStatus.STALE, status_detail=""),
        "Edit text",
    )


def change_direction(line_id: str, direction: str) -> Update:
    return Update(
        "line",
        line_id,
        _fields(direction=direction, status=LineStatus.STALE, status_detail=""),
        "Edit direction",
    )


def assign_speaker(line_id: str, speaker_id: str) -> Update:
    return Update(
        "line",
        line_id,
        _fields(speaker_id=speaker_id, status=LineStatus.STALE, status_detail=""),
        "Assign speaker",
    )


def set_line_status(line_id: str, status: LineStatus, detail: str = "") -> Update:
    return Update("line", line_id, _fields(status=status, status_detail=detail), "Line status")


def move_line(line_id: str, index: int) -> MoveLine:
    return MoveLine(line_id, index)


def move_clip(clip_id: str, start: float, track_id: str | None = None) -> Update:
    """Move a clip by hand: it is pinned, so automatic layout leaves it where it is."""
    changes: dict[str, Any] = {"start": max(0.0, start), "pinned": True}
    if track_id is not None:
        changes["track_id"] = track_id
    return Update("clip", clip_id, tuple(changes.items()), "Move clip")


def retime_clip(
    project: Project, clip_id: str, *, start: float | None = None, end: float | None = None
) -> Update:
    """Trim a clip's left edge to ``start`` and/or right edge to ``end`` (timeline seconds)."""
    clip = project.clips[clip_id]
    source_in = clip.source_in
    new_start = clip.start
    new_end = clip.end
    if start is not None:
        start = max(0.0, min(start, clip.end - 0.01))
        source_in = max(0.0, clip.source_in + (start - clip.start))
        new_start = clip.start + (source_in - clip.source_in)
    if end is not None:
        new_end = max(new_start + 0.01, end)
    duration = new_end - new_start
    return Update(
        "clip",
        clip_id,
        _fields(
            start=new_start,
            source_in=source_in,
            source_out=source_in + duration,
            duration=duration,
            pinned=True,
            fade_in=min(clip.fade_in, duration),
            fade_out=min(clip.fade_out, duration),
        ),
        "Trim clip",
    )


def split_clip(project: Project, clip_id: str, at: float) -> Batch:
    """Split a clip at timeline time ``at`` into two clips that play back exactly as before."""
    clip = project.clips[clip_id]
    if not clip.start < at < clip.end:
        raise EditError(f"split point {at:.3f}s is outside the clip ({clip.start:.3f}–{clip.end:.3f}s)")
    left_len = at - clip.start
    right = dataclasses.replace(
        clip,
        id=new_id("clip"),
        start=at,
        source_in=clip.source_in + left_len,
        source_out=clip.source_in + clip.duration,
        duration=clip.duration - left_len,
        fade_in=0.0,
        pinned=True,
    )
    left = Update(
        "clip",
        clip_id,
        _fields(duration=left_len, source_out=clip.source_in + left_len, fade_out=0.0, pinned=True),
    )
    return Batch((left, Insert(right, None)), "Split clip")


def set_fades(clip_id: str, fade_in: float | None = None, fade_out: float | None = None) -> Update:
    changes: dict[str, Any] = {}
    if fade_in is not None:
        changes["fade_in"] = max(0.0, fade_in)
    if fade_out is not None:
        changes["fade_out"] = max(0.0, fade_out)
    return Update("clip", clip_id, tuple(changes.items()), "Fade")


def set_line_notes(line_id: str, notes: str) -> Update:
    """A line's production notes (they do not change its take)."""
    return Update("line", line_id, _fields(notes=notes), "Edit notes")


def change_scene(line_id: str, scene_id: str) -> Update:
    """Move a line to another scene; it goes stale (the scene description is part of its take)."""
    return Update(
        "line", line_id, _fields(scene_id=scene_id, status=LineStatus.STALE, status_detail=""), "Change scene"
    )


def select_take(line_id: str, key: str, status: LineStatus, detail: str = "") -> Update:
    """Make ``key`` the line's take, with the status its take check gives it."""
    return Update("line", line_id, _fields(selected_take=key, status=status, status_detail=detail), "Select take")


def set_language_takes(line_id: str, language_takes: Any) -> Update:
    """The line's selected takes per target language (see studio.core.workflow.with_language_take)."""
    return Update("line", line_id, _fields(language_takes=language_takes), "Select take")


_CLIP_FIELDS = frozenset({"start", "source_in", "source_out", "duration", "gain_db", "fade_in", "fade_out", "pinned", "track_id"})


def set_clip(clip_id: str, label: str = "Edit clip", **changes: Any) -> Update:
    """Clip fields set together (the Inspector's boxes, a trim drag): start, source_in/out, duration,
    gain_db, fades, pinned, track_id."""
    unknown = set(changes) - _CLIP_FIELDS
    if unknown:
        raise EditError(f"unknown clip field(s): {', '.join(sorted(unknown))}")
    return Update("clip", clip_id, tuple(changes.items()), label)


def move_marker(marker_id: str, time: float) -> Update:
    return Update("marker", marker_id, _fields(time=round(max(0.0, time), 4)), "Move marker")


def rename_marker(marker_id: str, title: str) -> Update:
    return Update("marker", marker_id, _fields(title=title), "Rename marker")


def set_track(track_id: str, **changes: Any) -> Update:
    """Track settings: gain_db, pan, mute, solo, name, ducking."""
    allowed = {f.name for f in dataclasses.fields(Track)} - {"id"}
    unknown = set(changes) - allowed
    if unknown:
        raise EditError(f"unknown track setting(s): {', '.join(sorted(unknown))}")
    return Update("track", track_id, tuple(changes.items()), "Track settings")


def set_settings(**changes: Any) -> SetSettings:
    allowed = {f.name for f in dataclasses.fields(ProjectSettings)}
    unknown = set(changes) - allowed
    if unknown:
        raise EditError(f"unknown project setting(s): {', '.join(sorted(unknown))}")
    return SetSettings(tuple(changes.items()))


# ---- tracks --------------------------------------------------------------------------------------

# Tracks a user may add or turn into: dialogue tracks are made by the layout, one per speaker.
USER_TRACK_KINDS = (TrackKind.MUSIC, TrackKind.SFX, TrackKind.HUMMING)
MUSIC_LIKE_SECONDS = 20.0  # imported audio at least this long is music by default (a jingle is not)
_MUSIC_WORDS = ("music", "bed", "theme", "song", "loop", "score", "ambience", "ambient", "intro", "outro")


def track_kind_label(kind: TrackKind) -> str:
    """How a track kind is named to the user: "music", "SFX", "humming", "dialogue"."""
    return "SFX" if kind == TrackKind.SFX else TrackKind(kind).value


def kind_for_audio(name: str, duration: float) -> TrackKind:
    """The track kind an imported file goes on by default: music for music-like files (long, or named
    like music), sound effects otherwise."""
    lowered = name.lower()
    if duration >= MUSIC_LIKE_SECONDS or any(word in lowered for word in _MUSIC_WORDS):
        return TrackKind.MUSIC
    return TrackKind.SFX


def _unique_track_name(project: Project, name: str) -> str:
    taken = {t.name for t in project.tracks.values()}
    if name not in taken:
        return name
    n = 2
    while f"{name} {n}" in taken:
        n += 1
    return f"{name} {n}"


def add_track(project: Project, kind: TrackKind, name: str = "") -> Insert:
    """A new music / SFX / humming track (a unique name from the kind unless given)."""
    kind = TrackKind(kind)
    if kind not in USER_TRACK_KINDS:
        raise EditError("dialogue tracks are made per speaker when lines are rendered")
    base = name.strip() or ("SFX" if kind == TrackKind.SFX else kind.value.capitalize())
    track = Track(new_id("trk"), _unique_track_name(project, base), kind)
    return Insert(track, None, f"Add {track_kind_label(kind)} track")


def rename_track(project: Project, track_id: str, name: str) -> Update:
    name = name.strip()
    if track_id not in project.tracks:
        raise EditError(f"no track with id {track_id!r}")
    if not name:
        raise EditError("a track needs a name")
    return Update("track", track_id, _fields(name=name), "Rename track")


def _line_clips(project: Project, track_id: str) -> list[Clip]:
    return [c for c in project.clips.values() if c.track_id == track_id and c.line_id]


def change_track_kind(project: Project, track_id: str, kind: TrackKind) -> Update:
    """Make a music / SFX / humming track another of those kinds (music and humming duck under dialogue)."""
    kind = TrackKind(kind)
    track = project.tracks.get(track_id)
    if track is None:
        raise EditError(f"no track with id {track_id!r}")
    if kind not in USER_TRACK_KINDS or track.kind == TrackKind.DIALOGUE or _line_clips(project, track_id):
        raise EditError("a dialogue track keeps its kind: its clips are script lines")
    ducking = dataclasses.replace(track.ducking, enabled=kind != TrackKind.SFX)
    return Update("track", track_id, _fields(kind=kind, ducking=ducking), "Change track kind")


def delete_track(project: Project, track_id: str) -> Batch:
    """Delete a music / SFX / humming track and the clips on it (one undo step). A track that holds
    script lines' clips cannot be deleted: the layout would only put them back."""
    if track_id not in project.tracks:
        raise EditError(f"no track with id {track_id!r}")
    if _line_clips(project, track_id):
        raise EditError("this track holds script lines: delete or move the lines instead")
    edits: list[Op] = [Delete("clip", c.id) for c in project.clips.values() if c.track_id == track_id]
    edits.append(Delete("track", track_id))
    return Batch(tuple(edits), "Delete track")


def place_audio(
    project: Project,
    items: list[tuple[str, float]],
    at: float,
    *,
    track_id: str = "",
    kind: TrackKind | None = None,
) -> tuple[Batch, list[str]]:
    """Imported media (``(media name, duration)`` each) placed one after another from ``at`` on the
    track ``track_id``, or on a new track of ``kind``. Returns the edit and the new clip ids."""
    edits: list[Op] = []
    if track_id:
        if track_id not in project.tracks:
            raise EditError(f"no track with id {track_id!r}")
    else:
        insert = add_track(project, kind or TrackKind.MUSIC)
        edits.append(insert)
        track_id = insert.record.id
    clip_ids: list[str] = []
    cursor = max(0.0, at)
    for media, duration in items:
        clip = Clip(new_id("clip"), track_id, media, start=cursor, source_out=duration, duration=duration, pinned=True)
        edits.append(Insert(clip, None, "Import audio"))
        clip_ids.append(clip.id)
        cursor += duration
    label = "Import audio" if len(clip_ids) == 1 else f"Import {len(clip_ids)} audio files"
    return Batch(tuple(edits), label), clip_ids
