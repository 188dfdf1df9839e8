"""The time ruler above the tracks: ticks and times, markers (chapters), the loop range, the playhead.

Click to move the playhead; drag a marker to move it (one undo step); double-click a marker to rename
it; Shift+drag sets the loop range; the context menu adds and removes markers.

Thread contract: GUI thread only.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFont,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPolygonF,
)
from PySide6.QtWidgets import QInputDialog, QMenu, QWidget

from studio.core import ops
from studio.core.model import Marker, new_id
from studio.ui import qt_theme
from studio.ui.qt_document import QtDocument
from studio.ui.qt_timeline_model import QtTimelineModel, QtTimeScale, format_time, grid_step

RULER_HEIGHT = 34
MARKER_HIT_PX = 6.0


class QtTimelineRuler(QWidget):
    seekRequested = Signal(float)
    loopRangeChanged = Signal(tuple)  # (t0, t1), or () for no loop

    def __init__(
        self, doc: QtDocument, model: QtTimelineModel, scale: QtTimeScale, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("timelineRuler")
        self.doc = doc
        self.model = model
        self.scale = scale
        self.playhead = 0.0
        self.loop_range: tuple[float, float] | None = None
        self._drag_marker: tuple[str, float] | None = None  # (id, original time)
        self._drag_marker_t: float | None = None
        self._loop_anchor: float | None = None
        self._seeking = False
        self._press_t = 0.0
        self.setFixedHeight(RULER_HEIGHT)
        self.setMouseTracking(True)
        self._small = QFont(self.font())
        self._small.setPointSizeF(max(7.0, self.font().pointSizeF() * 0.8))
        scale.changed.connect(self.update)
        model.markersChanged.connect(self.update)

    def sizeHint(self) -> QSize:
        return QSize(800, RULER_HEIGHT)

    def set_playhead(self, t: float) -> None:
        if t != self.playhead:
            old = self.scale.x(self.playhead)
            self.playhead = t
            new = self.scale.x(t)
            for x in (old, new):
                self.update(int(x) - 7, 0, 14, self.height())

    def set_loop_range(self, loop: tuple[float, float] | None) -> None:
        self.loop_range = loop
        self.update()

    # ---- painting ------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(qt_theme.RULER_BG))
        painter.fillRect(QRectF(0, self.height() - 1, self.width(), 1), QColor(qt_theme.BORDER))
        t0, t1 = self.scale.t(0), self.scale.t(self.width())
        if self.loop_range is not None:
            x0, x1 = self.scale.x(self.loop_range[0]), self.scale.x(self.loop_range[1])
            colour = QColor(qt_theme.LOOP_RANGE)
            colour.setAlpha(110)
            painter.fillRect(QRectF(x0, self.height() - 8, x1 - x0, 7), colour)
        major, minor = grid_step(self.scale.px_per_s)
        painter.setFont(self._small)
        painter.setPen(QColor(qt_theme.RULER_TEXT))
        k0, k1 = math.floor(max(0.0, t0) / minor), math.ceil(t1 / minor)
        precision = 3 if major < 0.01 else 2 if major < 0.1 else 1 if major < 1 else 0
        for k in range(k0, k1 + 1):
            t = k * minor
            x = self.scale.x(t)
            is_major = abs(t / major - round(t / major)) < 1e-6
            height = 10 if is_major else 4
            painter.drawLine(QPointF(x, self.height() - height), QPointF(x, self.height() - 1))
            if is_major:
                painter.drawText(QPointF(x + 3, self.height() - 12), format_time(t, precision))
        markers = []
        for time, title, marker_id in self.model.markers_sorted():
            dragged = self._drag_marker is not None and marker_id == self._drag_marker[0]
            if dragged and self._drag_marker_t is not None:
                time = self._drag_marker_t
            markers.append((time, title))
        markers.sort()
        for i, (time, title) in enumerate(markers):
            nxt = markers[i + 1][0] if i + 1 < len(markers) else None
            if t0 - 1 <= time <= t1 or (nxt is not None and time < t0 < nxt):
                room = self.scale.x(nxt) - self.scale.x(time) - 14 if nxt is not None else 400.0
                self._paint_marker(painter, self.scale.x(time), title, room)
        px = self.scale.x(self.playhead)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(qt_theme.PLAYHEAD))
        h = self.height()
        painter.drawPolygon(QPolygonF([QPointF(px - 6, h - 10), QPointF(px + 6, h - 10), QPointF(px, h)]))
        painter.end()

    def _paint_marker(self, painter: QPainter, x: float, title: str, room: float) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(qt_theme.MARKER))
        painter.drawPolygon(QPolygonF([QPointF(x, 2), QPointF(x + 8, 2), QPointF(x + 8, 11), QPointF(x, 15)]))
        if room > 12:
            painter.setPen(QColor(qt_theme.MARKER))
            text = painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight, int(room))
            painter.drawText(QPointF(x + 11, 12), text)

    # ---- interaction ---------------------------------------------------------------------
    def marker_at(self, x: float) -> str | None:
        return self.model.marker_near(self.scale.t(x), MARKER_HIT_PX / self.scale.px_per_s)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        x = event.position().x()
        t = max(0.0, self.scale.t(x))
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self._loop_anchor = t
            return
        marker_id = self.marker_at(x) if event.position().y() < 18 else None
        if marker_id is not None:
            self._drag_marker = (marker_id, self.doc.project.markers[marker_id].time)
            self._drag_marker_t = self._drag_marker[1]
            self._press_t = t
            return
        self._seeking = True
        self.seekRequested.emit(t)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        x = event.position().x()
        t = max(0.0, self.scale.t(x))
        if self._loop_anchor is not None:
            lo, hi = sorted((self._loop_anchor, t))
            self.loop_range = (lo, hi) if hi - lo > 0.01 else None
            self.update()
        elif self._drag_marker is not None:
            self._drag_marker_t = max(0.0, self._drag_marker[1] + t - self._press_t)
            self.update()
        elif self._seeking:
            self.seekRequested.emit(t)
        else:
            hit = event.position().y() < 18 and self.marker_at(x) is not None
            self.setCursor(Qt.CursorShape.SizeHorCursor if hit else Qt.CursorShape.ArrowCursor)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._loop_anchor is not None:
            self._loop_anchor = None
            self.loopRangeChanged.emit(self.loop_range or ())
        if self._drag_marker is not None:
            marker_id, original = self._drag_marker
            new_t = self._drag_marker_t
            self._drag_marker = None
            self._drag_marker_t = None
            if new_t is not None and abs(new_t - original) > 1e-4 and marker_id in self.doc.project.markers:
                self.doc.edit(ops.move_marker(marker_id, new_t))
            self.update()
        self._seeking = False

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        marker_id = self.marker_at(event.position().x())
        if marker_id is not None:
            self.rename_marker(marker_id)

    def rename_marker(self, marker_id: str, title: str | None = None) -> bool:
        marker = self.doc.project.markers.get(marker_id)
        if marker is None:
            return False
        if title is None:
            title, ok = QInputDialog.getText(self, "Rename marker", "Chapter title:", text=marker.title)
            if not ok:
                return False
        title = title.strip()
        if not title or title == marker.title:
            return False
        return self.doc.edit(ops.rename_marker(marker_id, title))

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        t = max(0.0, self.scale.t(event.pos().x()))
        marker_id = self.marker_at(event.pos().x())
        menu = QMenu(self)
        menu.addAction("Add marker here", lambda: self.add_marker(t))
        if marker_id is not None:
            menu.addAction("Rename marker…", lambda: self.rename_marker(marker_id))
            menu.addAction(
                "Delete marker",
                lambda: self.doc.edit(ops.Delete("marker", marker_id, "Delete marker"), "Delete marker"),
            )
        if self.loop_range is not None:
            menu.addAction("Clear loop range", self.clear_loop)
        menu.exec(event.globalPos())

    def clear_loop(self) -> None:
        self.loop_range = None
        self.loopRangeChanged.emit(())
        self.update()

    def add_marker(self, t: float, title: str = "") -> str:
        marker = Marker(new_id("mrk"), t, title or f"Chapter {len(self.doc.project.markers) + 1}")
        self.doc.edit(ops.Insert(marker, None, "Add marker"), "Add marker")
        return marker.id
