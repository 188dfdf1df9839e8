"""The Timeline panel: ruler, track headers, the custom-painted track canvas and its scroll bars.

Zoom: Ctrl+wheel at the mouse, ``zoom_in``/``zoom_out`` (+/−) around the playhead, ``zoom_fit``.
The playhead follows playback by paging when it leaves the view.

Thread contract: GUI thread only.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QScrollBar, QToolButton, QWidget

from studio.ui.qt_document import QtDocument
from studio.ui.qt_peak_store import QtPeakStore
from studio.ui.qt_timeline_canvas import QtTimelineCanvas
from studio.ui.qt_timeline_model import QtTimelineModel, QtTimeScale, format_time
from studio.ui.qt_timeline_ruler import QtTimelineRuler
from studio.ui.qt_track_headers import QtTrackHeaders

SCROLL_UNITS_PER_S = 100  # horizontal scroll bar resolution
TAIL_S = 30.0  # room to scroll past the end
ZOOM_STEP = 1.5
AUTO_MIN_TRACK_H = 64
AUTO_MAX_TRACK_H = 150


class QtTimelinePanel(QWidget):
    seekRequested = Signal(float)
    loopRangeChanged = Signal(tuple)  # (t0, t1), or () for no loop

    def __init__(self, doc: QtDocument, peaks: QtPeakStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timelinePanel")
        self.doc = doc
        self.scale = QtTimeScale(self)
        self.model = QtTimelineModel(doc, self)
        self.peaks = peaks
        self.canvas = QtTimelineCanvas(doc, self.model, self.scale, peaks, self)
        self.ruler = QtTimelineRuler(doc, self.model, self.scale, self)
        self.headers = QtTrackHeaders(doc, self.model, self)
        self.hbar = QScrollBar(Qt.Orientation.Horizontal, self)
        self.vbar = QScrollBar(Qt.Orientation.Vertical, self)
        self.corner = QWidget(self)
        self.corner.setFixedWidth(self.headers.width())
        corner = QHBoxLayout(self.corner)
        corner.setContentsMargins(6, 2, 6, 2)
        corner.setSpacing(2)
        self.view_label = QLabel(self.corner)
        self.view_label.setObjectName("placeholder")
        corner.addWidget(self.view_label, 1)
        for text, tip, slot in (
            ("−", "Zoom out (−)", self.zoom_out),
            ("Fit", "Show the whole project (Ctrl+0)", self.zoom_fit),
            ("+", "Zoom in (+)", self.zoom_in),
        ):
            button = QToolButton(self.corner)
            button.setText(text)
            button.setToolTip(tip)
            button.setAutoRaise(True)
            button.clicked.connect(slot)
            corner.addWidget(button)

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(0)
        grid.addWidget(self.corner, 0, 0)
        grid.addWidget(self.ruler, 0, 1)
        grid.addWidget(self.headers, 1, 0)
        grid.addWidget(self.canvas, 1, 1)
        grid.addWidget(self.vbar, 1, 2)
        grid.addWidget(self.hbar, 2, 1)
        grid.setRowStretch(1, 1)
        grid.setColumnStretch(1, 1)

        self._syncing = False
        self.scale.changed.connect(self._sync_hbar)
        self.hbar.valueChanged.connect(self._hbar_moved)
        self.vbar.valueChanged.connect(self._vbar_moved)
        self.canvas.verticalExtentChanged.connect(self._sync_vbar)
        self.canvas.wheelVertical.connect(lambda dy: self.vbar.setValue(self.vbar.value() + int(dy)))
        self.canvas.seekRequested.connect(self.seekRequested)
        self.ruler.seekRequested.connect(self.seekRequested)
        self.ruler.loopRangeChanged.connect(self._loop_changed)
        self.doc.editEnded.connect(self._sync_hbar)
        self.model.placeholdersChanged.connect(self._sync_hbar)
        self._fitted = False
        self.auto_track_height = True
        self._update_corner()

    # ---- playhead and loop ----------------------------------------------------------------
    def set_playhead(self, t: float, follow: bool = False) -> None:
        self.canvas.set_playhead(t)
        self.ruler.set_playhead(t)
        if follow:
            x = self.scale.x(t)
            width = self.canvas.width()
            if x > width * 0.92 or x < 0:
                self.scale.set(origin=t - 0.08 * width / self.scale.px_per_s)

    def _loop_changed(self, loop: tuple[float, ...]) -> None:
        self.canvas.set_loop_range((loop[0], loop[1]) if len(loop) == 2 else None)
        self.loopRangeChanged.emit(loop)

    def set_loop_range(self, loop: tuple[float, float] | None) -> None:
        self.ruler.set_loop_range(loop)
        self.canvas.set_loop_range(loop)

    # ---- zoom ----------------------------------------------------------------------------
    def zoom_in(self) -> None:
        self._zoom(ZOOM_STEP)

    def zoom_out(self) -> None:
        self._zoom(1 / ZOOM_STEP)

    def _zoom(self, factor: float) -> None:
        x = self.scale.x(self.canvas.playhead)
        if not 0 <= x <= self.canvas.width():
            x = self.canvas.width() / 2
        self.scale.zoom_at(factor, x)

    def zoom_fit(self) -> None:
        end = max(self.model.end_time(), 10.0)
        width = max(100, self.canvas.width() - 20)
        self.scale.set(px_per_s=width / end, origin=0.0)

    # ---- scrolling -----------------------------------------------------------------------
    def _sync_hbar(self) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            visible = self.canvas.width() / self.scale.px_per_s
            end = max(self.model.end_time() + TAIL_S, self.scale.origin + visible)
            self.hbar.setRange(0, max(0, int((end - visible) * SCROLL_UNITS_PER_S)))
            self.hbar.setPageStep(max(1, int(visible * SCROLL_UNITS_PER_S)))
            self.hbar.setSingleStep(max(1, int(visible * SCROLL_UNITS_PER_S / 20)))
            self.hbar.setValue(int(self.scale.origin * SCROLL_UNITS_PER_S))
        finally:
            self._syncing = False
        self._update_corner()

    def _hbar_moved(self, value: int) -> None:
        if not self._syncing:
            self._syncing = True
            try:
                self.scale.set(origin=value / SCROLL_UNITS_PER_S)
            finally:
                self._syncing = False

    def _sync_vbar(self) -> None:
        rows = len(self.model.rows)
        if self.auto_track_height and rows:  # tracks share the height (within a readable range)
            fit = self.canvas.height() // rows
            self.canvas.set_track_height(max(AUTO_MIN_TRACK_H, min(AUTO_MAX_TRACK_H, fit)))
        extra = max(0, self.canvas.content_height() - self.canvas.height())
        self.vbar.setRange(0, extra)
        self.vbar.setPageStep(max(1, self.canvas.height()))
        self.vbar.setVisible(extra > 0)
        self._vbar_moved(self.vbar.value())

    def _vbar_moved(self, value: int) -> None:
        self.canvas.set_y_offset(value)
        self.headers.set_geometry(self.canvas.track_height, value)

    def _update_corner(self) -> None:
        visible = self.canvas.width() / self.scale.px_per_s if self.scale.px_per_s else 0
        self.view_label.setText(format_time(visible, 0))
        self.view_label.setToolTip(f"The view shows {format_time(visible, 1)}")

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._sync_vbar()
        self._sync_hbar()

    def showEvent(self, event: object) -> None:
        super().showEvent(event)  # type: ignore[arg-type]
        if not self._fitted and self.canvas.width() > 100 and math.isfinite(self.model.end_time()):
            self._fitted = True
            self.zoom_fit()
