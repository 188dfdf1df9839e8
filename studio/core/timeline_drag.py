"""What dragging clips on the timeline does, without Qt: snapping, the preview while the mouse moves,
and the one edit made when the drag ends.

The timeline's drag tool (:mod:`studio.ui.qt_timeline_drag`) turns mouse positions into times and
calls these functions; the canvas draws :attr:`ClipDrag.preview` instead of the project's clips
while a drag runs, and pushes :func:`drag_edit` as ONE undo step, named when the drag ends.

Modes: ``move`` (the grabbed clip first: it snaps, by its start or its end, and may change track;
the others keep their offsets; nothing moves before 0), ``trim-left`` / ``trim-right`` (an edge,
snapped; never past the end of the audio), ``fade-in`` / ``fade-out`` (a handle; a fade never
overlaps the other one).

Pure functions on plain data; safe from any thread.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from studio.core import ops
from studio.core.model import Clip, TrackKind
from studio.core.project import Project

SNAP_PX = 8.0  # how near (in pixels) a clip edge, marker, the playhead or a grid line pulls

MOVE, TRIM_LEFT, TRIM_RIGHT, FADE_IN, FADE_OUT, SEEK = (
    "move",
    "trim-left",
    "trim-right",
    "fade-in",
    "fade-out",
    "seek",
)
UNDO_NAMES = {
    TRIM_LEFT: "Trim clip start",
    TRIM_RIGHT: "Trim clip end",
    FADE_IN: "Fade in",
    FADE_OUT: "Fade out",
}


@dataclass
class ClipDrag:
    """One drag in progress: what was grabbed (as it was) and what it would become now."""

    mode: str  # move | trim-left | trim-right | fade-in | fade-out | seek
    press_t: float  # timeline seconds under the mouse when it was pressed
    clip_ids: tuple[str, ...] = ()  # the grabbed clip first
    originals: dict[str, Clip] = field(default_factory=dict)
    started: bool = False  # past the drag threshold
    preview: dict[str, Clip] = field(default_factory=dict)
    guide: float | None = None  # where it snapped (drawn as a dashed line)

    @property
    def primary(self) -> Clip | None:
        return self.originals.get(self.clip_ids[0]) if self.clip_ids else None


@dataclass(frozen=True)
class Snapper:
    """Snapping at one zoom: material first (clip edges, markers, the playhead), then the grid.

    ``points(t0, t1, exclude)`` lists the clip edges and markers in ``[t0, t1]`` except the clips in
    ``exclude``; ``grid`` is the minor grid step in seconds.
    """

    px_per_s: float
    playhead: float
    grid: float
    points: Callable[[float, float, set[str]], list[float]]
    snap_px: float = SNAP_PX

    def snap(self, t: float, exclude: set[str], free: bool = False) -> tuple[float, float | None, int]:
        """(snapped time, guide or None, strength: 2 material, 1 grid, 0 none)."""
        if free:
            return t, None, 0
        tol = self.snap_px / self.px_per_s
        edges = self.points(t - tol, t + tol, exclude) + [self.playhead]
        best = min(edges, key=lambda c: abs(c - t))
        if abs(best - t) <= tol:
            return best, best, 2
        grid = round(t / self.grid) * self.grid
        if abs(grid - t) <= tol:
            return grid, grid, 1
        return t, None, 0


def compatible_track(project: Project, clip: Clip, track_id: str) -> bool:
    """Whether ``clip`` may move to ``track_id``: dialogue stays on dialogue tracks, the rest off them."""
    target = project.tracks.get(track_id)
    source = project.tracks.get(clip.track_id)
    if target is None or source is None:
        return False
    return (target.kind == TrackKind.DIALOGUE) == (source.kind == TrackKind.DIALOGUE)


def preview_move(drag: ClipDrag, t: float, snapper: Snapper, free: bool, track_id: str | None) -> None:
    """Move the grabbed clips by the mouse's travel to ``t`` (snapped); the grabbed clip alone may
    change to ``track_id`` (a compatible track, or None to stay)."""
    primary = drag.primary
    if primary is None:
        return
    drag.guide = None
    exclude = set(drag.clip_ids)
    start = max(0.0, primary.start + t - drag.press_t)
    s_start, g1, k1 = snapper.snap(start, exclude, free)
    s_end, g2, k2 = snapper.snap(start + primary.duration, exclude, free)
    d1, d2 = abs(s_start - start), abs(s_end - start - primary.duration)
    if g1 is not None and (g2 is None or (k1, -d1) >= (k2, -d2)):
        start, drag.guide = s_start, g1
    elif g2 is not None:
        start, drag.guide = s_end - primary.duration, g2
    delta = start - primary.start
    delta = max(delta, -min(c.start for c in drag.originals.values()))
    target = track_id if (track_id and len(drag.clip_ids) == 1) else primary.track_id
    drag.preview = {
        cid: dataclasses.replace(
            clip, start=clip.start + delta, track_id=target if cid == primary.id else clip.track_id
        )
        for cid, clip in drag.originals.items()
    }


def preview_trim(
    drag: ClipDrag,
    t: float,
    snapper: Snapper,
    free: bool,
    project: Project,
    source_length: float | None,
) -> None:
    """Move the grabbed edge by the mouse's travel to ``t`` (snapped); the right edge stops at the
    end of the audio (``source_length`` seconds, None = unknown)."""
    primary = drag.primary
    if primary is None:
        return
    dt = t - drag.press_t
    edge = primary.start + dt if drag.mode == TRIM_LEFT else primary.end + dt
    edge, drag.guide, _strength = snapper.snap(edge, set(drag.clip_ids), free)
    op = ops.retime_clip(
        project, primary.id, **({"start": edge} if drag.mode == TRIM_LEFT else {"end": edge})
    )
    changes = dict(op.changes)
    if drag.mode == TRIM_RIGHT and source_length is not None and changes["source_out"] > source_length:
        changes["duration"] = source_length - changes["source_in"]
        changes["source_out"] = source_length
    drag.preview = {primary.id: dataclasses.replace(primary, **changes)}


def preview_fade(drag: ClipDrag, t: float) -> None:
    """Set the grabbed fade to reach the mouse at ``t`` (never past the other fade)."""
    primary = drag.primary
    if primary is None:
        return
    drag.guide = None
    if drag.mode == FADE_IN:
        fade = min(max(0.0, t - primary.start), primary.duration - primary.fade_out)
        drag.preview = {primary.id: dataclasses.replace(primary, fade_in=round(fade, 4))}
    else:
        fade = min(max(0.0, primary.end - t), primary.duration - primary.fade_in)
        drag.preview = {primary.id: dataclasses.replace(primary, fade_out=round(fade, 4))}


def drag_edit(drag: ClipDrag, project: Project) -> tuple[ops.Op, str] | None:
    """The one undo step the finished drag makes, with its name; None when nothing changed."""
    edits: list[ops.Op] = []
    for cid, new in drag.preview.items():
        old = drag.originals[cid]
        if cid not in project.clips:
            continue
        if drag.mode == MOVE:
            if new.start != old.start or new.track_id != old.track_id:
                edits.append(
                    ops.move_clip(cid, new.start, new.track_id if new.track_id != old.track_id else None)
                )
        elif drag.mode in (TRIM_LEFT, TRIM_RIGHT):
            if (new.start, new.duration) != (old.start, old.duration):
                fields = ("start", "source_in", "source_out", "duration", "fade_in", "fade_out", "pinned")
                edits.append(ops.set_clip(cid, "Trim clip", **{f: getattr(new, f) for f in fields}))
        elif new.fade_in != old.fade_in or new.fade_out != old.fade_out:
            edits.append(ops.set_fades(cid, fade_in=new.fade_in, fade_out=new.fade_out))
    if not edits:
        return None
    n = len(edits)
    label = ("Move clip" if n == 1 else f"Move {n} clips") if drag.mode == MOVE else UNDO_NAMES[drag.mode]
    return (edits[0] if n == 1 else ops.Batch(tuple(edits), label)), label
