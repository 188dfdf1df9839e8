"""The timeline's drag tool: mouse presses, moves and releases on clips become one named edit.

Click selects (Ctrl/Shift add), dragging a clip moves it (between tracks of the same kind, snapping
to clip edges, markers, the playhead and the grid; hold Alt to move freely), dragging an edge trims,
dragging the small handles at the top corners sets fades; clicking empty space moves the playhead.
The maths — snapping, the preview, the edit made at the end — is Qt-free in
:mod:`studio.core.timeline_drag`; this module only turns pixels into times, keeps the drag and
pushes its edit as ONE undo step, named when the drag ends.

Thread contract: GUI thread only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from studio.core import timeline_drag as td
from studio.core.model import Clip
from studio.ui.qt_timeline_model import grid_step

if TYPE_CHECKING:
    from studio.ui.qt_timeline_canvas import QtTimelineCanvas

MODES = {
    "body": td.MOVE,
    "left": td.TRIM_LEFT,
    "right": td.TRIM_RIGHT,
    "fade-in": td.FADE_IN,
    "fade-out": td.FADE_OUT,
}


class QtClipDragTool:
    """The drag in progress on a canvas (:attr:`drag`, None when the mouse is up)."""

    def __init__(self, canvas: QtTimelineCanvas) -> None:
        self.canvas = canvas
        self.drag: td.ClipDrag | None = None
        self.press_pos = QPointF()

    def snapper(self) -> td.Snapper:
        canvas = self.canvas
        _major, minor = grid_step(canvas.scale.px_per_s)
        return td.Snapper(canvas.scale.px_per_s, canvas.playhead, minor, canvas.model.snap_points)

    # ---- the three mouse events ------------------------------------------------------------
    def press(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> None:
        """Select what was clicked and start a drag (or a seek on empty space)."""
        canvas, doc = self.canvas, self.canvas.doc
        clip, part = canvas.clip_at(pos)
        t = canvas.scale.t(pos.x())
        row_i = canvas.row_at(pos.y())
        if row_i >= 0 and canvas.model.rows[row_i].track is not None:
            doc.select(track=canvas.model.rows[row_i].key)
        additive = bool(modifiers & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
        self.press_pos = QPointF(pos)
        if clip is None:
            if not additive:
                doc.select(clips=())
            self.drag = td.ClipDrag(td.SEEK, t)
            canvas.seekRequested.emit(max(0.0, t))
            return
        selected = list(doc.selected_clips)
        if additive:
            if clip.id in selected and part == "body":
                selected.remove(clip.id)
            elif clip.id not in selected:
                selected.append(clip.id)
        elif clip.id not in selected:
            selected = [clip.id]
        line_ids = [doc.project.clips[c].line_id for c in selected if c in doc.project.clips]
        doc.select(clips=selected, lines=[i for i in line_ids if i])
        mode = MODES[part]
        ids = tuple(selected) if mode == td.MOVE else (clip.id,)
        if clip.id not in ids:
            return
        project = doc.project
        # the grabbed clip goes first: it is the one that snaps and changes track
        ordered = (clip.id,) + tuple(i for i in ids if i != clip.id)
        self.drag = td.ClipDrag(mode, t, ordered, {i: project.clips[i] for i in ids if i in project.clips})

    def move(self, pos: QPointF, buttons: Qt.MouseButton, modifiers: Qt.KeyboardModifier) -> bool:
        """Follow the mouse; True when the preview changed (the canvas repaints)."""
        drag = self.drag
        if drag is None:
            return False
        canvas = self.canvas
        if drag.mode == td.SEEK:
            if buttons & Qt.MouseButton.LeftButton:
                canvas.seekRequested.emit(max(0.0, canvas.scale.t(pos.x())))
            return False
        if not drag.started:
            if (pos - self.press_pos).manhattanLength() < QApplication.startDragDistance():
                return False
            drag.started = True
        free = bool(modifiers & Qt.KeyboardModifier.AltModifier) or not canvas.snapping
        t = canvas.scale.t(pos.x())
        primary = drag.primary
        if primary is None:
            return False
        if drag.mode == td.MOVE:
            track = self.compatible_track_at(pos.y(), primary) if len(drag.clip_ids) == 1 else None
            td.preview_move(drag, t, self.snapper(), free, track)
        elif drag.mode in (td.TRIM_LEFT, td.TRIM_RIGHT):
            td.preview_trim(drag, t, self.snapper(), free, canvas.doc.project, self.source_length(primary))
        else:
            td.preview_fade(drag, t)
        return True

    def release(self) -> bool:
        """End the drag: push its edit (one undo step). True if an edit was made."""
        drag, self.drag = self.drag, None
        if drag is None or not drag.started or not drag.preview:
            return False
        doc = self.canvas.doc
        edit = td.drag_edit(drag, doc.project)
        if edit is None:
            return False
        op, label = edit
        return bool(doc.edit(op, label))

    def cancel(self) -> bool:
        """Escape: forget the drag (nothing was edited)."""
        had, self.drag = self.drag is not None, None
        return had

    # ---- what the maths needs from the widget ------------------------------------------------
    def source_length(self, clip: Clip) -> float | None:
        """Seconds of audio in the clip's media (from its peaks or take), None if unknown."""
        canvas = self.canvas
        peaks = canvas.peaks.get(clip.media)
        if peaks is not None:
            return float(peaks.duration)
        for take in canvas.doc.project.takes.values():
            if take.media == clip.media:
                return float(take.duration)
        return None

    def compatible_track_at(self, y: float, clip: Clip) -> str | None:
        canvas = self.canvas
        row_i = canvas.row_at(y)
        if row_i < 0:
            return None
        row = canvas.model.rows[row_i]
        if row.track is None or not td.compatible_track(canvas.doc.project, clip, row.track.id):
            return None
        return str(row.track.id)
