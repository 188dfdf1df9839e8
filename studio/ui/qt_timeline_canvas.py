"""The timeline's track area: a custom-painted widget (measured against QGraphicsView in bench/ui.py).

It is put together from three parts, each in its own module:

* drawing — :class:`~studio.ui.qt_timeline_painter.QtTimelinePainter` (only the visible range;
  waveforms from the peak store, fades, tails, render state, the drag preview);
* dragging — :class:`~studio.ui.qt_timeline_drag.QtClipDragTool` (click selects, drag moves /
  trims / fades with snapping; ONE undo step named when the drag ends), its maths Qt-free in
  :mod:`studio.core.timeline_drag`;
* importing — :class:`~studio.ui.qt_timeline_import.QtAudioImporter` (audio files dropped on a
  music/sfx track are imported there, elsewhere on a new SFX track; the copy runs on a worker, the
  clips land when it is done).

This module keeps the geometry (rows, scrolling, repaint batching), hit testing, the keyboard
(Left/Right nudge the selected clips; consecutive nudges merge into one undo step), the context
menu and the wheel, and hands mouse and drop events to the parts above.

Thread contract: GUI thread only.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QPointF, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QContextMenuEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QMenu, QWidget

from studio.core import ops
from studio.core.model import Clip, Track, TrackKind, new_id
from studio.core.timeline_drag import ClipDrag
from studio.ui.qt_document import QtDocument
from studio.ui.qt_peak_store import QtPeakStore
from studio.ui.qt_sample_store import QtSampleStore
from studio.ui.qt_timeline_drag import QtClipDragTool
from studio.ui.qt_timeline_import import AUDIO_SUFFIXES, ImportJob, QtAudioImporter
from studio.ui.qt_timeline_model import QtTimelineModel, QtTimeScale
from studio.ui.qt_timeline_painter import (  # noqa: F401 — re-exported: the canvas's constants
    FADE_POINTS,
    HANDLE_PX,
    LABEL_H,
    QtTimelinePainter,
    fade_outlines,
)

TRACK_HEIGHT = 84
MIN_TRACK_HEIGHT = 40
EDGE_PX = 6.0
NUDGE_S = 0.01
REPAINT_MS = 40  # model-driven repaints are batched this long (25 fps while takes pour in)


class QtTimelineCanvas(QWidget):
    """See the module docstring. ``seekRequested(t)`` asks the transport to move the playhead."""

    seekRequested = Signal(float)
    lineActivated = Signal(str)  # a clip of this line was double-clicked
    verticalExtentChanged = Signal()
    wheelVertical = Signal(float)  # pixels to scroll the tracks by

    def __init__(
        self,
        doc: QtDocument,
        model: QtTimelineModel,
        scale: QtTimeScale,
        peaks: QtPeakStore,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("timelineCanvas")
        self.doc = doc
        self.model = model
        self.scale = scale
        self.peaks = peaks
        self.track_height = TRACK_HEIGHT
        self.y_offset = 0
        self.playhead = 0.0
        self.loop_range: tuple[float, float] | None = None
        self.snapping = True
        self.hover = ""  # clip under the mouse (its fade handles show)
        self.drag_tool = QtClipDragTool(self)
        self.painter = QtTimelinePainter(self)
        self.importer = QtAudioImporter(doc, self)
        self.samples: QtSampleStore | None = QtSampleStore(doc.media_path, self)
        self.samples.ready.connect(self._peaks_ready)
        self.destroyed.connect(self.samples.shutdown)
        self._dirty = QRect()
        self._repaint_timer = QTimer(self)
        self._repaint_timer.setSingleShot(True)
        self._repaint_timer.setInterval(REPAINT_MS)
        self._repaint_timer.timeout.connect(self._flush_dirty)
        self.setMouseTracking(True)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAutoFillBackground(False)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumHeight(MIN_TRACK_HEIGHT)
        scale.changed.connect(self.update)
        model.rangeChanged.connect(self.update_range)
        model.rowsChanged.connect(self._rows_changed)
        model.placeholdersChanged.connect(self.update)
        model.markersChanged.connect(self.update)
        doc.selectionChanged.connect(self.update)
        peaks.ready.connect(self._peaks_ready)

    @property
    def _drag(self) -> ClipDrag | None:
        """The drag in progress (the drag tool's), None when the mouse is up."""
        return self.drag_tool.drag

    @property
    def _longest_tail(self) -> float:
        return self.painter.longest_tail

    # ---- geometry ------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(800, max(1, len(self.model.rows)) * self.track_height)

    def content_height(self) -> int:
        return len(self.model.rows) * self.track_height

    def row_at(self, y: float) -> int:
        row = int((y + self.y_offset) // self.track_height)
        return row if 0 <= row < len(self.model.rows) else -1

    def row_top(self, row: int) -> int:
        return row * self.track_height - self.y_offset

    def set_y_offset(self, y: int) -> None:
        if y != self.y_offset:
            self.y_offset = y
            self.update()

    def set_track_height(self, height: int) -> None:
        height = max(MIN_TRACK_HEIGHT, min(240, height))
        if height != self.track_height:
            self.track_height = height
            self.verticalExtentChanged.emit()
            self.update()

    def _rows_changed(self) -> None:
        self.verticalExtentChanged.emit()
        self.update()

    def update_range(self, t0: float, t1: float) -> None:
        """Repaint the strip of the widget that shows ``[t0, t1]`` (nothing if it is off screen).

        Model changes arrive in bursts while lines render: their strips are collected and painted
        at most every REPAINT_MS, so a burst costs one paint, not one per take."""
        if not math.isfinite(t1):
            rect = self.rect()
        else:
            x0 = math.floor(self.scale.x(t0)) - 3
            x1 = math.ceil(self.scale.x(t1 + self.painter.longest_tail)) + 3
            if x1 < 0 or x0 > self.width():
                return
            rect = QRect(max(0, x0), 0, min(self.width(), x1) - max(0, x0), self.height())
        self._dirty = self._dirty.united(rect) if not self._dirty.isNull() else rect
        if not self._repaint_timer.isActive():
            self._repaint_timer.start()

    def _flush_dirty(self) -> None:
        rect, self._dirty = self._dirty, QRect()
        if not rect.isNull():
            self.update(rect)

    def set_playhead(self, t: float) -> None:
        if t == self.playhead:
            return
        old_x = self.scale.x(self.playhead)
        self.playhead = t
        new_x = self.scale.x(t)
        for x in (old_x, new_x):
            if -4 <= x <= self.width() + 4:
                self.update(QRect(int(x) - 3, 0, 7, self.height()))

    def set_loop_range(self, loop: tuple[float, float] | None) -> None:
        self.loop_range = loop
        self.update()

    def _peaks_ready(self, media: str) -> None:
        t0, t1 = self.visible_range()
        for row in self.model.rows:
            if row.track is None:
                continue
            for clip in self.model.clips_in(row.track.id, t0, t1):
                if clip.media == media:
                    self.update_range(clip.start, clip.end)

    def visible_range(self) -> tuple[float, float]:
        return self.scale.t(0), self.scale.t(self.width())

    # ---- painting (QtTimelinePainter) -----------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            self.paint(painter, event.rect())
        finally:
            painter.end()

    def paint(self, painter: QPainter, area: QRect) -> None:
        """Draw ``area`` (widget coordinates) with ``painter`` (also used by the benchmark)."""
        self.painter.paint(painter, area)

    # ---- hit testing ---------------------------------------------------------------------
    def clip_at(self, pos: QPointF) -> tuple[Clip | None, str]:
        """The clip under ``pos`` and the part hit: body | left | right | fade-in | fade-out."""
        row_i = self.row_at(pos.y())
        if row_i < 0:
            return None, ""
        row = self.model.rows[row_i]
        if row.track is None:
            return None, ""
        t = self.scale.t(pos.x())
        tol = EDGE_PX / self.scale.px_per_s
        candidates = self.model.clips_in(row.track.id, t - tol, t + tol)
        if not candidates:
            return None, ""
        top = self.row_top(row_i)
        label_h = LABEL_H if self.track_height >= 48 else 0
        best = None
        for clip in reversed(candidates):
            x0, x1 = self.scale.x(clip.start), self.scale.x(clip.end)
            if not (x0 - EDGE_PX <= pos.x() <= x1 + EDGE_PX):
                continue
            wide = x1 - x0 >= 4 * HANDLE_PX
            handle_y = top + 3 + label_h
            if wide and abs(pos.y() - handle_y) <= HANDLE_PX:
                if abs(pos.x() - (x0 + clip.fade_in * self.scale.px_per_s)) <= HANDLE_PX:
                    return clip, "fade-in"
                if abs(pos.x() - (x1 - clip.fade_out * self.scale.px_per_s)) <= HANDLE_PX:
                    return clip, "fade-out"
            if x1 - x0 >= 3 * EDGE_PX:
                if abs(pos.x() - x0) <= EDGE_PX:
                    return clip, "left"
                if abs(pos.x() - x1) <= EDGE_PX:
                    return clip, "right"
            if x0 <= pos.x() <= x1:
                best = best or clip
        return (best, "body") if best is not None else (None, "")

    # ---- mouse (QtClipDragTool) ------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if event.button() != Qt.MouseButton.LeftButton:
            return
        self.drag_tool.press(event.position(), event.modifiers())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self.drag_tool.drag is None:
            self._update_cursor(pos)
            return
        if self.drag_tool.move(pos, event.buttons(), event.modifiers()):
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            self.drag_tool.cancel()
            return
        if self.drag_tool.drag is None:
            return
        self.drag_tool.release()
        self.update()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        clip, _ = self.clip_at(event.position())
        if clip is not None and clip.line_id:
            self.doc.select(lines=[clip.line_id], clips=[clip.id])
            self.lineActivated.emit(clip.line_id)

    def _update_cursor(self, pos: QPointF) -> None:
        clip, part = self.clip_at(pos)
        hover = clip.id if clip is not None else ""
        if hover != self.hover:
            for cid in (self.hover, hover):
                old = self.doc.project.clips.get(cid)
                if old is not None:
                    self.update_range(old.start, old.end)
            self.hover = hover
        shape = {
            "left": Qt.CursorShape.SizeHorCursor,
            "right": Qt.CursorShape.SizeHorCursor,
            "fade-in": Qt.CursorShape.PointingHandCursor,
            "fade-out": Qt.CursorShape.PointingHandCursor,
            "body": Qt.CursorShape.OpenHandCursor,
        }.get(part, Qt.CursorShape.ArrowCursor)
        self.setCursor(shape)

    def snap(self, t: float, exclude: set[str], free: bool = False) -> tuple[float, float | None]:
        """``t`` moved to the nearest clip edge, marker or the playhead within SNAP_PX, else to the
        nearest grid line within SNAP_PX (edits line up with material before they line up with time)."""
        snapped, guide, _strength = self.drag_tool.snapper().snap(t, exclude, free)
        return snapped, guide

    # ---- keyboard / edits ----------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and self.doc.selected_clips:
            step = NUDGE_S * (10 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1)
            self.nudge(-step if key == Qt.Key.Key_Left else step)
            return
        if key == Qt.Key.Key_Escape and self.drag_tool.cancel():
            self.update()
            return
        super().keyPressEvent(event)

    def nudge(self, seconds: float) -> bool:
        """Move the selected clips by ``seconds``; consecutive nudges are one undo step."""
        project = self.doc.project
        ids = [c for c in self.doc.selected_clips if c in project.clips]
        if not ids:
            return False
        seconds = max(seconds, -min(project.clips[c].start for c in ids))
        if seconds == 0:
            return False
        edits = tuple(ops.move_clip(c, project.clips[c].start + seconds) for c in ids)
        op: ops.Op = edits[0] if len(edits) == 1 else ops.Batch(edits, "Nudge clips")
        return self.doc.edit(
            op, "Nudge clip" if len(ids) == 1 else "Nudge clips", merge_key="nudge:" + ",".join(sorted(ids))
        )

    def split_selected(self, at: float | None = None) -> bool:
        """Split the selected clips (or the clip under the playhead on the selected track) at ``at``."""
        project = self.doc.project
        at = self.playhead if at is None else at
        ids = [
            c
            for c in self.doc.selected_clips
            if c in project.clips and project.clips[c].start < at < project.clips[c].end
        ]
        if not ids and self.doc.selected_track in project.tracks:
            ids = [c.id for c in self.model.clips_in(self.doc.selected_track, at, at) if c.start < at < c.end]
        if not ids:
            self.doc.message.emit("Nothing to split: put the playhead over a selected clip")
            return False
        batches = tuple(ops.split_clip(project, c, at) for c in ids)
        return self.doc.edit(
            batches[0] if len(batches) == 1 else ops.Batch(batches, "Split clips"), "Split clip"
        )

    def delete_selected(self) -> bool:
        ids = [c for c in self.doc.selected_clips if c in self.doc.project.clips]
        if not ids:
            return False
        edits = tuple(ops.Delete("clip", c, "Delete clip") for c in ids)
        return self.doc.edit(ops.Batch(edits, "Delete clip" if len(ids) == 1 else f"Delete {len(ids)} clips"))

    # ---- context menu --------------------------------------------------------------------
    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        pos = QPointF(event.pos())
        clip, _ = self.clip_at(pos)
        t = self.scale.t(pos.x())
        menu = QMenu(self)
        if clip is not None:
            if clip.id not in self.doc.selected_clips:
                self.doc.select(clips=[clip.id], lines=[clip.line_id] if clip.line_id else [])
            menu.addAction("Split here", lambda: self.split_selected(t))
            menu.addAction("Delete", self.delete_selected)
            menu.addAction(
                "Remove fades", lambda: self.doc.edit(ops.set_fades(clip.id, 0.0, 0.0), "Remove fades")
            )
            if clip.line_id:
                menu.addAction("Show line in script", lambda: self.lineActivated.emit(clip.line_id))
            menu.addSeparator()
        menu.addAction("Add marker here", lambda: self.add_marker(t))
        menu.exec(event.globalPos())

    def add_marker(self, t: float, title: str = "") -> str:
        from studio.core.model import Marker

        marker = Marker(new_id("mrk"), max(0.0, t), title or f"Chapter {len(self.doc.project.markers) + 1}")
        self.doc.edit(ops.Insert(marker, None, "Add marker"), "Add marker")
        return marker.id

    # ---- wheel ---------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta()
        mods = event.modifiers()
        if mods & Qt.KeyboardModifier.ControlModifier:
            steps = delta.y() / 120.0
            self.scale.zoom_at(1.25**steps, event.position().x())
        elif mods & Qt.KeyboardModifier.ShiftModifier or abs(delta.x()) > abs(delta.y()) and delta.y() == 0:
            if delta.x():
                self.scale.set(origin=self.scale.origin - delta.x() / 120.0 * 60 / self.scale.px_per_s)
            else:
                self.wheelVertical.emit(-delta.y() / 120.0 * self.track_height / 2)
        else:
            self.scale.set(origin=self.scale.origin - delta.y() / 120.0 * 80 / self.scale.px_per_s)
        event.accept()

    # ---- drops (QtAudioImporter) ------------------------------------------------------------
    def _audio_urls(self, event: QDragEnterEvent | QDragMoveEvent | QDropEvent) -> list[Path]:
        data = event.mimeData()
        if not data.hasUrls():
            return []
        return [
            Path(u.toLocalFile())
            for u in data.urls()
            if u.isLocalFile() and u.toLocalFile().lower().endswith(AUDIO_SUFFIXES)
        ]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._audio_urls(event):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self._audio_urls(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = self._audio_urls(event)
        if not files:
            return
        event.acceptProposedAction()
        pos = event.position()
        row_i = self.row_at(pos.y())
        row = self.model.rows[row_i] if row_i >= 0 else None
        track = (
            row.track
            if row is not None and row.track is not None and row.track.kind != TrackKind.DIALOGUE
            else None
        )
        self.import_audio(files, self.snap(max(0.0, self.scale.t(pos.x())), set())[0], track)

    def import_audio(
        self, files: list[Path], at: float, track: Track | None = None, kind: TrackKind | None = None
    ) -> ImportJob:
        """Import audio files at ``at`` on a worker; the clips land later (see :class:`QtAudioImporter`)."""
        return self.importer.import_audio(files, at, track, kind)
