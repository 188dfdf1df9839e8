"""The timeline's track area: a custom-painted widget (measured against QGraphicsView in bench/ui.py).

Painting touches only the visible time range: per track, two binary searches find the visible clips;
clips narrower than a few pixels are merged into runs and filled with one ``drawRects`` call per
colour; wider clips get a label bar, a waveform (drawn from the peak store into one QImage per clip
with numpy — no per-sample Python), fade curves, selection and render state. A clip whose voice or
track has an effect chain with a tail (reverb, delay) shows it after its end as a fading wedge
(:class:`studio.core.effects.ClipTails`: how long the mix lets it ring).

Editing: click selects (Ctrl/Shift add), dragging a clip moves it (between tracks of the same kind,
snapping to clip edges, markers, the playhead and the grid; hold Alt to move freely), dragging an edge
trims, dragging the small handles at the top corners sets fades. While dragging only a preview is
drawn; the edit is pushed as ONE undo step, named when the drag ends. Left/Right nudge the selected
clips (consecutive nudges merge into one undo step). Clicking empty space moves the playhead.
Audio files dropped on a music/sfx track are imported there (elsewhere: on a new SFX track).

Thread contract: GUI thread only.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QContextMenuEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QImage,
    QKeyEvent,
    QLinearGradient,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
    QWheelEvent,
)
from PySide6.QtWidgets import QApplication, QMenu, QWidget

from studio.audio.gains import fade_in_curve, fade_out_curve
from studio.core import ops
from studio.core.effects import ClipTails
from studio.core.layout import timeline_language
from studio.core.model import Clip, LineStatus, Track, TrackKind, new_id
from studio.core.workflow import line_text
from studio.render import peaks as peaks_mod
from studio.ui import qt_theme
from studio.ui.qt_document import QtDocument
from studio.ui.qt_peak_store import QtPeakStore
from studio.ui.qt_timeline_model import RENDERING, QtTimelineModel, QtTimeScale, Row, grid_step

TRACK_HEIGHT = 84
MIN_TRACK_HEIGHT = 40
LABEL_H = 15
NARROW_PX = 5.0  # clips narrower than this are drawn as merged runs
EDGE_PX = 6.0
HANDLE_PX = 7.0
SNAP_PX = 8.0
NUDGE_S = 0.01
REPAINT_MS = 40  # model-driven repaints are batched this long (25 fps while takes pour in)
WAVE_CACHE_MAX_PX = 4096  # clips wider than this on screen are drawn for their visible part only
WAVE_CACHE_BYTES = 64 * 1024 * 1024
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".m4a", ".aac", ".aif", ".aiff", ".opus", ".wma")


def _rgba(colour: str, alpha: int = 255) -> QColor:
    c = QColor(colour)
    c.setAlpha(alpha)
    return c


FADE_POINTS = 24  # segments of a drawn fade curve


def fade_outlines(
    x0: float, x1: float, fade_in_px: float, fade_out_px: float, top: float, bottom: float
) -> list[list[tuple[float, float]]]:
    """The fade-in and fade-out curves of a clip in widget coordinates (Qt-free maths): the mixer's
    equal-power gains (:mod:`studio.audio.gains`), so the timeline draws what the mix plays."""
    curves: list[list[tuple[float, float]]] = []
    height = bottom - top
    if fade_in_px >= 1:
        gains = fade_in_curve(0, FADE_POINTS + 1, FADE_POINTS)
        curves.append([(x0 + fade_in_px * i / FADE_POINTS, bottom - float(g) * height) for i, g in enumerate(gains)])
    if fade_out_px >= 1:
        gains = fade_out_curve(0, FADE_POINTS + 1, FADE_POINTS)
        start = x1 - fade_out_px
        curves.append([(start + fade_out_px * i / FADE_POINTS, bottom - float(g) * height) for i, g in enumerate(gains)])
    return curves


@dataclass
class _Drag:
    mode: str  # move | trim-left | trim-right | fade-in | fade-out | seek
    press: QPointF
    press_t: float
    clip_ids: tuple[str, ...] = ()
    originals: dict[str, Clip] = field(default_factory=dict)
    started: bool = False
    preview: dict[str, Clip] = field(default_factory=dict)
    guide: float | None = None


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
        self._drag: _Drag | None = None
        self._hover = ""  # clip under the mouse (its fade handles show)
        self._dirty = QRect()
        self._longest_tail = 0.0  # seconds: a changed range is repainted this much further (its tails)
        self._wave_cache: dict[tuple[Any, ...], QImage] = {}  # insertion order = age
        self._wave_bytes = 0
        self._repaint_timer = QTimer(self)
        self._repaint_timer.setSingleShot(True)
        self._repaint_timer.setInterval(REPAINT_MS)
        self._repaint_timer.timeout.connect(self._flush_dirty)
        self._label_font = QFont(self.font())
        self._label_font.setPointSizeF(max(7.0, self.font().pointSizeF() * 0.85))
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
            x1 = math.ceil(self.scale.x(t1 + self._longest_tail)) + 3
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

    # ---- painting ------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            self.paint(painter, event.rect())
        finally:
            painter.end()

    def paint(self, painter: QPainter, area: QRect) -> None:
        """Draw ``area`` (widget coordinates) with ``painter`` (also used by the benchmark)."""
        painter.fillRect(area, QColor(qt_theme.TIMELINE_BG))
        t0 = self.scale.t(area.left() - 2)
        t1 = self.scale.t(area.right() + 2)
        rows = self.model.rows
        first = max(0, (area.top() + self.y_offset) // self.track_height)
        last = min(len(rows) - 1, (area.bottom() + self.y_offset) // self.track_height)
        self._paint_grid(painter, area, t0, t1)
        if self.loop_range is not None:
            lx0, lx1 = self.scale.x(self.loop_range[0]), self.scale.x(self.loop_range[1])
            painter.fillRect(
                QRectF(lx0, area.top(), lx1 - lx0, area.height()), _rgba(qt_theme.LOOP_RANGE, 28)
            )
        preview = self._drag.preview if self._drag is not None and self._drag.started else {}
        selected = set(self.doc.selected_clips)
        for i in range(first, last + 1):
            self._paint_row(painter, i, rows[i], area, t0, t1, preview, selected)
        self._paint_markers(painter, area, t0, t1)
        if self._drag is not None and self._drag.guide is not None:
            gx = self.scale.x(self._drag.guide)
            painter.setPen(QPen(QColor(qt_theme.SNAP_GUIDE), 1, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(gx, area.top()), QPointF(gx, area.bottom()))
        px = self.scale.x(self.playhead)
        if area.left() - 2 <= px <= area.right() + 2:
            painter.setPen(QPen(QColor(qt_theme.PLAYHEAD), 1.5))
            painter.drawLine(QPointF(px, area.top()), QPointF(px, area.bottom() + 1))

    def _paint_grid(self, painter: QPainter, area: QRect, t0: float, t1: float) -> None:
        major, minor = grid_step(self.scale.px_per_s)
        step = minor if minor * self.scale.px_per_s >= 12 else major
        k0 = math.floor(max(0.0, t0) / step)
        k1 = math.ceil(t1 / step)
        if k1 - k0 > 2000:
            return
        minor_lines: list[QRectF] = []
        major_lines: list[QRectF] = []
        for k in range(k0, k1 + 1):
            x = self.scale.x(k * step)
            line = QRectF(x, area.top(), 1, area.height())
            (major_lines if abs(k * step / major - round(k * step / major)) < 1e-6 else minor_lines).append(
                line
            )
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(qt_theme.GRID_MINOR))
        painter.drawRects(minor_lines)
        painter.setBrush(QColor(qt_theme.GRID_MAJOR))
        painter.drawRects(major_lines)

    def _paint_row(
        self,
        painter: QPainter,
        i: int,
        row: Row,
        area: QRect,
        t0: float,
        t1: float,
        preview: dict[str, Clip],
        selected: set[str],
    ) -> None:
        top = self.row_top(i)
        h = self.track_height
        band = QRect(area.left(), top, area.width(), h)
        painter.fillRect(band, QColor(qt_theme.TRACK_BG[i % 2]))
        painter.fillRect(QRect(area.left(), top + h - 1, area.width(), 1), QColor(qt_theme.TRACK_SEPARATOR))
        if row.track is not None:
            track_id = row.track.id
            clips = [c for c in self.model.clips_in(track_id, t0, t1) if c.id not in preview]
            clips += [c for c in preview.values() if c.track_id == track_id and c.end > t0 and c.start < t1]
            self._paint_tails(painter, track_id, top, h, t0, t1, preview)
            self._paint_clips(painter, row, top, h, clips, selected, area)
        placeholders = self.model.placeholders_in(row.key, t0, t1)
        if placeholders:
            self._paint_placeholders(painter, placeholders, top, h)

    def _paint_tails(
        self, painter: QPainter, track_id: str, top: int, h: int, t0: float, t1: float, preview: dict[str, Clip]
    ) -> None:
        """Effect tails after the clips of a track (under the clips, so a following clip covers them)."""
        project = self.doc.project
        tails = ClipTails.of(project)
        self._longest_tail = tails.longest
        if tails.longest <= 0:
            return
        clips = [c for c in self.model.clips_in(track_id, t0 - tails.longest, t1) if c.id not in preview]
        clips += [c for c in preview.values() if c.track_id == track_id]
        painter.setPen(Qt.PenStyle.NoPen)
        y0, y1 = top + 3.0, top + h - 4.0
        mid = (y0 + y1) / 2
        for clip in clips:
            span = tails.span(project, clip)
            if span is None or span[1] < t0 or span[0] > t1:
                continue
            x0, x1 = self.scale.x(span[0]), self.scale.x(span[1])
            if x1 - x0 < 2:
                continue
            colour = self.model.clip_colour(clip)
            fade = QLinearGradient(x0, 0, x1, 0)
            fade.setColorAt(0, _rgba(colour, 110))
            fade.setColorAt(1, _rgba(colour, 0))
            painter.setBrush(QBrush(fade))
            wedge = [(x0, y0), (x1, mid - 1), (x1, mid + 1), (x0, y1)]
            painter.drawPolygon(QPolygonF([QPointF(x, y) for x, y in wedge]))

    def _paint_clips(
        self,
        painter: QPainter,
        row: Row,
        top: int,
        h: int,
        clips: list[Clip],
        selected: set[str],
        area: QRect,
    ) -> None:
        if not clips:
            return
        pps = self.scale.px_per_s
        origin = self.scale.origin
        starts = np.fromiter((c.start for c in clips), np.float64, len(clips))
        ends = np.fromiter((c.start + c.duration for c in clips), np.float64, len(clips))
        x0 = (starts - origin) * pps
        x1 = (ends - origin) * pps
        wide = (x1 - x0) >= NARROW_PX
        narrow_idx = np.flatnonzero(~wide)
        if narrow_idx.size:
            self._paint_runs(painter, clips, narrow_idx, x0, x1, top, h)
        wide_idx = np.flatnonzero(wide)
        if wide_idx.size:
            self._paint_wide(
                painter,
                row,
                [clips[int(k)] for k in wide_idx],
                x0[wide_idx],
                x1[wide_idx],
                top,
                h,
                selected,
                area,
            )
        if selected:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(QColor(qt_theme.SELECTION), 1.5))
            for k in narrow_idx:
                if clips[int(k)].id in selected:
                    painter.drawRect(QRectF(x0[k] - 1, top + 2, max(2.0, x1[k] - x0[k]) + 2, h - 5))

    def _paint_runs(
        self,
        painter: QPainter,
        clips: list[Clip],
        idx: np.ndarray,
        x0: np.ndarray,
        x1: np.ndarray,
        top: int,
        h: int,
    ) -> None:
        """Narrow clips: merge overlapping/adjacent pixel spans per colour, one drawRects per colour."""
        colours = [self.model.clip_colour(clips[int(k)]) for k in idx]
        by_colour: dict[str, list[int]] = {}
        for k, colour in zip(idx, colours, strict=True):
            by_colour.setdefault(colour, []).append(int(k))
        painter.setPen(Qt.PenStyle.NoPen)
        for colour, members in by_colour.items():
            sel = np.array(members)
            a = np.floor(x0[sel])
            b = np.maximum(np.ceil(x1[sel]), a + 1)
            order = np.argsort(a, kind="stable")
            a, b = a[order], b[order]
            # a new run starts where a span begins after everything before it ended (+1 px tolerance)
            reach = np.maximum.accumulate(b)
            breaks = np.flatnonzero(a[1:] > reach[:-1] + 1.0) + 1
            run_start = np.concatenate(([0], breaks))
            run_end = np.concatenate((breaks, [len(a)])) - 1
            rects = [
                QRectF(float(a[s]), top + 3, float(reach[e] - a[s]), h - 7)
                for s, e in zip(run_start, run_end, strict=True)
            ]
            painter.setBrush(_rgba(colour, 170))
            painter.drawRects(rects)

    def _paint_wide(
        self,
        painter: QPainter,
        row: Row,
        clips: list[Clip],
        x0: np.ndarray,
        x1: np.ndarray,
        top: int,
        h: int,
        selected: set[str],
        area: QRect,
    ) -> None:
        """Clips wide enough for detail: bodies batched per colour, one waveform image for the row,
        then labels, fades, render state and selection."""
        project = self.doc.project
        colours = [self.model.clip_colour(c) for c in clips]
        missing = [c.media in project.missing_media for c in clips]
        label_h = LABEL_H if h >= 48 else 0
        bodies: dict[tuple[str, bool], list[QRectF]] = {}
        bars: dict[str, list[QRectF]] = {}
        for colour, gone, a, b in zip(colours, missing, x0, x1, strict=True):
            bodies.setdefault((colour, gone), []).append(QRectF(float(a), top + 2, float(b - a), h - 5))
            if label_h:
                bars.setdefault(colour, []).append(QRectF(float(a) + 1, top + 3, float(b - a) - 2, label_h))
        for (colour, gone), rects in bodies.items():
            painter.setPen(QPen(_rgba(colour, 200), 1))
            painter.setBrush(_rgba(qt_theme.MISSING_CLIP if gone else colour, 52))
            painter.drawRects(rects)
        painter.setPen(Qt.PenStyle.NoPen)
        for colour, rects in bars.items():
            painter.setBrush(_rgba(colour, 120))
            painter.drawRects(rects)
        wave_top = top + 3 + label_h
        wave_h = h - 7 - label_h
        self._paint_row_waveform(painter, clips, colours, missing, x0, x1, wave_top, wave_h, area)
        painter.setFont(self._label_font)
        metrics = painter.fontMetrics()
        for clip, colour, gone, a, b in zip(clips, colours, missing, x0, x1, strict=True):
            a, b = float(a), float(b)
            body = QRectF(a, top + 2, b - a, h - 5)
            wave = QRectF(a + 1, wave_top, b - a - 2, wave_h)
            if gone:
                painter.setBrush(QBrush(_rgba(qt_theme.MISSING_CLIP, 120), Qt.BrushStyle.BDiagPattern))
                painter.setPen(Qt.PenStyle.NoPen)
                painter.drawRect(wave)
            handles = clip.id in selected or clip.id == self._hover
            self._paint_fades(painter, clip, a, b, wave, handles)
            line = project.lines.get(clip.line_id) if clip.line_id else None
            if label_h and b - a > 24:
                painter.setPen(
                    QColor("#0d0f12") if QColor(colour).lightness() > 140 else QColor(qt_theme.TEXT)
                )
                left = (
                    max(a, float(area.left())) + 4
                )  # the label stays readable when the clip starts off screen
                label_rect = QRectF(left, top + 3, b - left - 6, label_h)
                text = metrics.elidedText(
                    self._clip_label(clip, line), Qt.TextElideMode.ElideRight, int(label_rect.width())
                )
                painter.drawText(label_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
            if line is not None and line.status != LineStatus.DONE:
                self._paint_status_overlay(painter, line.status, line.id, body)
            if clip.id in selected:
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.setPen(QPen(QColor(qt_theme.SELECTION), 1.5))
                painter.drawRect(body.adjusted(-0.5, -0.5, 0.5, 0.5))

    def _clip_label(self, clip: Clip, line: Any) -> str:
        """The words first (the track already says who speaks); the line id closes the label. A timeline
        in a target language says which, with the line's words in it."""
        if line is not None:
            language = timeline_language(self.doc.project)
            if language:
                return f"{language}: {line_text(self.doc.project, line, language) or line.text}  ·  {line.id}"
            return f"{line.text}  ·  {line.id}"
        track = self.doc.project.tracks.get(clip.track_id)
        return track.name if track is not None else "clip"

    def _paint_row_waveform(
        self,
        painter: QPainter,
        clips: list[Clip],
        colours: list[str],
        missing: list[bool],
        x0: np.ndarray,
        x1: np.ndarray,
        wave_top: float,
        wave_h: float,
        area: QRect,
    ) -> None:
        """Waveforms of a row's wide clips: one cached image per clip at this zoom (scrolling and
        repaints only blit); clips longer than WAVE_CACHE_MAX_PX are drawn for their visible part."""
        if wave_h < 6:
            return
        dpr = self.devicePixelRatioF()
        rows = int(math.floor(wave_h * dpr))
        if rows <= 2:
            return
        for clip, colour, gone, a, b in zip(clips, colours, missing, x0, x1, strict=True):
            peaks = None if gone else self.peaks.get(clip.media)
            if peaks is None:
                continue
            a, b = float(a) + 1, float(b) - 1
            if b - a < 1 or b < area.left() - 1 or a > area.right() + 2:
                continue
            if b - a <= WAVE_CACHE_MAX_PX:
                image = self._clip_image(clip, peaks, colour, b - a, rows, dpr)
                painter.drawImage(QPointF(a, wave_top), image)
            else:
                left, right = max(a, float(area.left()) - 1), min(b, float(area.right()) + 2)
                offset = self.scale.t(left) - clip.start
                image = _waveform_image(
                    clip, peaks, colour, offset, right - left, rows, self.scale.px_per_s, dpr
                )
                painter.drawImage(QPointF(left, wave_top), image)

    def _clip_image(self, clip: Clip, peaks: Any, colour: str, width: float, rows: int, dpr: float) -> QImage:
        key = (
            clip.media,
            clip.source_in,
            clip.duration,
            clip.gain_db,
            clip.fade_in,
            clip.fade_out,
            colour,
            self.scale.px_per_s,
            rows,
            dpr,
        )
        image = self._wave_cache.get(key)
        if image is None:
            image = _waveform_image(clip, peaks, colour, 0.0, width, rows, self.scale.px_per_s, dpr)
            self._wave_cache[key] = image
            self._wave_bytes += image.sizeInBytes()
            while self._wave_bytes > WAVE_CACHE_BYTES and len(self._wave_cache) > 1:
                old = self._wave_cache.pop(next(iter(self._wave_cache)))
                self._wave_bytes -= old.sizeInBytes()
        return image

    def _paint_fades(
        self, painter: QPainter, clip: Clip, x0: float, x1: float, wave: QRectF, handles: bool
    ) -> None:
        if not handles and clip.fade_in <= 0 and clip.fade_out <= 0:
            return
        pps = self.scale.px_per_s
        top, bottom = wave.top(), wave.bottom()
        painter.setBrush(QColor(0, 0, 0, 90))
        painter.setPen(Qt.PenStyle.NoPen)
        fi = min(clip.fade_in * pps, x1 - x0)
        fo = min(clip.fade_out * pps, x1 - x0)
        curves = [[QPointF(x, y) for x, y in c] for c in fade_outlines(x0, x1, fi, fo, top, bottom)]
        for curve in curves:  # shade the part the fade takes away (above the curve)
            corner = QPointF(curve[0].x(), top) if curve[0].y() > curve[-1].y() else QPointF(curve[-1].x(), top)
            painter.drawPolygon(QPolygonF([*curve, corner]))
        painter.setPen(QPen(_rgba("#ffffff", 150), 1))
        for curve in curves:
            painter.drawPolyline(QPolygonF(curve))
        if handles and x1 - x0 >= 4 * HANDLE_PX:  # fade handles on the selected or hovered clip
            painter.setPen(QPen(QColor("#0d0f12"), 1))
            painter.setBrush(QColor("#ffffff"))
            for hx in (x0 + fi, x1 - fo):
                painter.drawRect(QRectF(hx - HANDLE_PX / 2, top - 1, HANDLE_PX, HANDLE_PX))

    def _paint_status_overlay(
        self, painter: QPainter, status: LineStatus, line_id: str, body: QRectF
    ) -> None:
        bg, _fg = qt_theme.STATUS_COLOURS[status]
        if status in RENDERING:
            painter.setBrush(QBrush(_rgba("#ffffff", 40), Qt.BrushStyle.BDiagPattern))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawRect(body)
            self._paint_progress(painter, line_id, body)
        elif body.width() > 10:  # stale / failed / suspect: a corner flag
            size = min(12.0, body.height() / 3)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(bg if status != LineStatus.STALE else "#ffb74d"))
            right = body.right()
            painter.drawPolygon(
                QPolygonF(
                    [
                        QPointF(right - size, body.top()),
                        QPointF(right, body.top()),
                        QPointF(right, body.top() + size),
                    ]
                )
            )

    def _paint_progress(self, painter: QPainter, line_id: str, rect: QRectF) -> None:
        fraction = self.model.progress.get(line_id, 0.0)
        bar = QRectF(rect.left() + 2, rect.bottom() - 5, (rect.width() - 4), 3)
        painter.fillRect(bar, QColor(0, 0, 0, 120))
        bar.setWidth(bar.width() * max(0.0, min(1.0, fraction)))
        painter.fillRect(bar, QColor(qt_theme.ACCENT))

    def _paint_placeholders(self, painter: QPainter, placeholders: list[Any], top: int, h: int) -> None:
        """Lines that are queued or rendering, where their clip will land: batched per colour."""
        pps = self.scale.px_per_s
        by_colour: dict[str, list[QRectF]] = {}
        bars_bg: list[QRectF] = []
        bars: list[QRectF] = []
        labels: list[tuple[QRectF, str]] = []
        for ph in placeholders:
            width = max(2.0, ph.duration * pps)
            rect = QRectF(self.scale.x(ph.start), top + 2, width, h - 5)
            by_colour.setdefault(ph.colour, []).append(rect)
            if width > 8:
                bar = QRectF(rect.left() + 2, rect.bottom() - 5, rect.width() - 4, 3)
                bars_bg.append(bar)
                fraction = max(0.0, min(1.0, self.model.progress.get(ph.line_id, 0.0)))
                if fraction > 0:
                    bars.append(QRectF(bar.left(), bar.top(), bar.width() * fraction, bar.height()))
            if width > 40:
                text = qt_theme.status_text(ph.status, self.model.progress.get(ph.line_id))
                labels.append((rect.adjusted(6, 0, -4, 0), f"{text} · {ph.line_id}"))
        for colour, rects in by_colour.items():
            painter.setPen(QPen(_rgba(colour, 200), 1, Qt.PenStyle.DashLine))
            painter.setBrush(QBrush(_rgba(colour, 60), Qt.BrushStyle.BDiagPattern))
            painter.drawRects(rects)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 120))
        painter.drawRects(bars_bg)
        painter.setBrush(QColor(qt_theme.ACCENT))
        painter.drawRects(bars)
        if labels:
            painter.setFont(self._label_font)
            painter.setPen(QColor(qt_theme.TEXT))
            metrics = painter.fontMetrics()
            for rect, text in labels:
                elided = metrics.elidedText(text, Qt.TextElideMode.ElideRight, int(rect.width()))
                painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, elided)

    def _paint_markers(self, painter: QPainter, area: QRect, t0: float, t1: float) -> None:
        painter.setPen(QPen(_rgba(qt_theme.MARKER, 110), 1, Qt.PenStyle.DashLine))
        for time, _title, _id in self.model.markers_sorted():
            if t0 <= time <= t1:
                x = self.scale.x(time)
                painter.drawLine(QPointF(x, area.top()), QPointF(x, area.bottom()))

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

    # ---- mouse ---------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if event.button() != Qt.MouseButton.LeftButton:
            return
        pos = event.position()
        clip, part = self.clip_at(pos)
        t = self.scale.t(pos.x())
        row_i = self.row_at(pos.y())
        if row_i >= 0 and self.model.rows[row_i].track is not None:
            self.doc.select(track=self.model.rows[row_i].key)
        if clip is None:
            if not (
                event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
            ):
                self.doc.select(clips=())
            self._drag = _Drag("seek", pos, t)
            self.seekRequested.emit(max(0.0, t))
            return
        selected = list(self.doc.selected_clips)
        additive = bool(
            event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        )
        if additive:
            if clip.id in selected and part == "body":
                selected.remove(clip.id)
            elif clip.id not in selected:
                selected.append(clip.id)
        elif clip.id not in selected:
            selected = [clip.id]
        line_ids = [self.doc.project.clips[c].line_id for c in selected if c in self.doc.project.clips]
        self.doc.select(clips=selected, lines=[i for i in line_ids if i])
        mode = {
            "body": "move",
            "left": "trim-left",
            "right": "trim-right",
            "fade-in": "fade-in",
            "fade-out": "fade-out",
        }[part]
        ids = tuple(selected) if mode == "move" else (clip.id,)
        if clip.id not in ids:
            return
        project = self.doc.project
        self._drag = _Drag(mode, pos, t, ids, {i: project.clips[i] for i in ids if i in project.clips})
        # the grabbed clip goes first: it is the one that snaps and changes track
        self._drag.clip_ids = (clip.id,) + tuple(i for i in ids if i != clip.id)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        drag = self._drag
        if drag is None:
            self._update_cursor(pos)
            return
        if drag.mode == "seek":
            if event.buttons() & Qt.MouseButton.LeftButton:
                self.seekRequested.emit(max(0.0, self.scale.t(pos.x())))
            return
        if not drag.started:
            if (pos - drag.press).manhattanLength() < QApplication.startDragDistance():
                return
            drag.started = True
        free = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier) or not self.snapping
        self._update_preview(drag, pos, free)
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        drag, self._drag = self._drag, None
        if drag is None or event.button() != Qt.MouseButton.LeftButton:
            return
        if drag.started and drag.preview:
            self._commit(drag)
        self.update()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        clip, _ = self.clip_at(event.position())
        if clip is not None and clip.line_id:
            self.doc.select(lines=[clip.line_id], clips=[clip.id])
            self.lineActivated.emit(clip.line_id)

    def _update_cursor(self, pos: QPointF) -> None:
        clip, part = self.clip_at(pos)
        hover = clip.id if clip is not None else ""
        if hover != self._hover:
            for cid in (self._hover, hover):
                old = self.doc.project.clips.get(cid)
                if old is not None:
                    self.update_range(old.start, old.end)
            self._hover = hover
        shape = {
            "left": Qt.CursorShape.SizeHorCursor,
            "right": Qt.CursorShape.SizeHorCursor,
            "fade-in": Qt.CursorShape.PointingHandCursor,
            "fade-out": Qt.CursorShape.PointingHandCursor,
            "body": Qt.CursorShape.OpenHandCursor,
        }.get(part, Qt.CursorShape.ArrowCursor)
        self.setCursor(shape)

    # ---- drag logic ----------------------------------------------------------------------
    def snap(self, t: float, exclude: set[str], free: bool = False) -> tuple[float, float | None]:
        """``t`` moved to the nearest clip edge, marker or the playhead within SNAP_PX, else to the
        nearest grid line within SNAP_PX (edits line up with material before they line up with time)."""
        snapped, guide, _strength = self._snap(t, exclude, free)
        return snapped, guide

    def _snap(self, t: float, exclude: set[str], free: bool) -> tuple[float, float | None, int]:
        if free:
            return t, None, 0
        tol = SNAP_PX / self.scale.px_per_s
        edges = self.model.snap_points(t - tol, t + tol, exclude) + [self.playhead]
        best = min(edges, key=lambda c: abs(c - t))
        if abs(best - t) <= tol:
            return best, best, 2
        _major, minor = grid_step(self.scale.px_per_s)
        grid = round(t / minor) * minor
        if abs(grid - t) <= tol:
            return grid, grid, 1
        return t, None, 0

    def _update_preview(self, drag: _Drag, pos: QPointF, free: bool) -> None:
        t = self.scale.t(pos.x())
        dt = t - drag.press_t
        exclude = set(drag.clip_ids)
        primary = drag.originals.get(drag.clip_ids[0])
        if primary is None:
            return
        drag.guide = None
        if drag.mode == "move":
            start = max(0.0, primary.start + dt)
            s_start, g1, k1 = self._snap(start, exclude, free)
            s_end, g2, k2 = self._snap(start + primary.duration, exclude, free)
            d1, d2 = abs(s_start - start), abs(s_end - start - primary.duration)
            if g1 is not None and (g2 is None or (k1, -d1) >= (k2, -d2)):
                start, drag.guide = s_start, g1
            elif g2 is not None:
                start, drag.guide = s_end - primary.duration, g2
            delta = start - primary.start
            delta = max(delta, -min(c.start for c in drag.originals.values()))
            track_id = primary.track_id
            if len(drag.clip_ids) == 1:
                track_id = self._compatible_track_at(pos.y(), primary) or primary.track_id
            drag.preview = {
                cid: dataclasses.replace(
                    clip, start=clip.start + delta, track_id=track_id if cid == primary.id else clip.track_id
                )
                for cid, clip in drag.originals.items()
            }
        elif drag.mode in ("trim-left", "trim-right"):
            edge = primary.start + dt if drag.mode == "trim-left" else primary.end + dt
            edge, drag.guide = self.snap(edge, exclude, free)
            op = ops.retime_clip(
                self.doc.project,
                primary.id,
                **({"start": edge} if drag.mode == "trim-left" else {"end": edge}),
            )
            changes = dict(op.changes)
            if drag.mode == "trim-right":
                limit = self._source_length(primary)
                if limit is not None and changes["source_out"] > limit:
                    changes["duration"] = limit - changes["source_in"]
                    changes["source_out"] = limit
            drag.preview = {primary.id: dataclasses.replace(primary, **changes)}
        elif drag.mode in ("fade-in", "fade-out"):
            if drag.mode == "fade-in":
                fade = min(
                    max(0.0, self.scale.t(pos.x()) - primary.start), primary.duration - primary.fade_out
                )
                drag.preview = {primary.id: dataclasses.replace(primary, fade_in=round(fade, 4))}
            else:
                fade = min(max(0.0, primary.end - self.scale.t(pos.x())), primary.duration - primary.fade_in)
                drag.preview = {primary.id: dataclasses.replace(primary, fade_out=round(fade, 4))}

    def _source_length(self, clip: Clip) -> float | None:
        """Seconds of audio in the clip's media (from its peaks or take), None if unknown."""
        peaks = self.peaks.get(clip.media)
        if peaks is not None:
            return peaks.duration
        for take in self.doc.project.takes.values():
            if take.media == clip.media:
                return take.duration
        return None

    def _compatible_track_at(self, y: float, clip: Clip) -> str | None:
        row_i = self.row_at(y)
        if row_i < 0:
            return None
        row = self.model.rows[row_i]
        source = self.doc.project.tracks.get(clip.track_id)
        if row.track is None or source is None:
            return None
        dialogue = {TrackKind.DIALOGUE}
        if (row.track.kind in dialogue) != (source.kind in dialogue):
            return None
        return row.track.id

    def _commit(self, drag: _Drag) -> None:
        project = self.doc.project
        edits: list[ops.Op] = []
        for cid, new in drag.preview.items():
            old = drag.originals[cid]
            if cid not in project.clips:
                continue
            if drag.mode == "move":
                if new.start != old.start or new.track_id != old.track_id:
                    edits.append(
                        ops.move_clip(cid, new.start, new.track_id if new.track_id != old.track_id else None)
                    )
            elif drag.mode in ("trim-left", "trim-right"):
                if (new.start, new.duration) != (old.start, old.duration):
                    fields = ("start", "source_in", "source_out", "duration", "fade_in", "fade_out", "pinned")
                    edits.append(
                        ops.set_clip(cid, "Trim clip", **{f: getattr(new, f) for f in fields})
                    )
            elif new.fade_in != old.fade_in or new.fade_out != old.fade_out:
                edits.append(ops.set_fades(cid, fade_in=new.fade_in, fade_out=new.fade_out))
        if not edits:
            return
        n = len(edits)
        label = {
            "move": "Move clip" if n == 1 else f"Move {n} clips",
            "trim-left": "Trim clip start",
            "trim-right": "Trim clip end",
            "fade-in": "Fade in",
            "fade-out": "Fade out",
        }[drag.mode]
        self.doc.edit(edits[0] if n == 1 else ops.Batch(tuple(edits), label), label)

    # ---- keyboard / edits ----------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and self.doc.selected_clips:
            step = NUDGE_S * (10 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1)
            self.nudge(-step if key == Qt.Key.Key_Left else step)
            return
        if key == Qt.Key.Key_Escape and self._drag is not None:
            self._drag = None
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

    # ---- drops ---------------------------------------------------------------------------
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
    ) -> list[str]:
        """Copy audio files into the project's media and place them at ``at`` (one after another).

        ``track`` None: a new track of ``kind`` (default: music for music-like files, see
        :func:`studio.core.ops.kind_for_audio`, SFX otherwise). One undo step.
        """
        from studio.audio.decode import audio_info
        from studio.audio.errors import DecodeError
        from studio.core.store import ProjectError

        items: list[tuple[str, float]] = []
        for path in files:
            try:
                info = audio_info(path)
                media = self.doc.project_file.add_media(path)
            except (DecodeError, ProjectError, OSError) as exc:
                self.doc.report_failure(f"Cannot import {path.name}: {exc}")
                continue
            if kind is None and track is None:
                kind = ops.kind_for_audio(path.name, info.duration)
            items.append((media, info.duration))
        if not items:
            return []
        edit, clip_ids = ops.place_audio(
            self.doc.project, items, at, track_id=track.id if track is not None else "", kind=kind
        )
        if self.doc.edit(edit):
            self.doc.select(lines=(), clips=clip_ids)
            return clip_ids
        return []


def _waveform_image(
    clip: Clip, peaks: Any, colour: str, offset: float, width: float, rows: int, px_per_s: float, dpr: float
) -> QImage:
    """The waveform of ``clip`` from ``offset`` seconds into it, ``width`` px wide: min/max in the
    clip's colour, the RMS core lighter, clip gain and fades applied (vectorised, no per-sample Python)."""
    cols = max(1, int(math.ceil(width * dpr)))
    pps = px_per_s * dpr
    level = peaks.level_for(1.0 / pps)
    rate = peaks.sample_rate
    first_bucket = (clip.source_in + offset) * rate / level.bucket
    lo, hi, rms = peaks_mod.columns(level, first_bucket, rate / (pps * level.bucket), cols)
    gain = _clip_gain(clip, clip.start + offset + (np.arange(cols) + 0.5) / pps)
    mid = rows / 2.0
    amp = rows / 2.0 - 0.5
    with np.errstate(invalid="ignore"):
        top = np.floor(mid - np.clip(hi * gain, -1, 1) * amp)
        bottom = np.ceil(mid - np.clip(lo * gain, -1, 1) * amp)
        r = np.clip(rms * gain, 0, 1) * amp
        y = np.arange(rows, dtype=np.float32)[:, None]
        outer = (y >= top) & (y <= bottom)
        inner = outer & (y >= np.floor(mid - r)) & (y <= np.ceil(mid + r))
    base = QColor(colour)
    light = QColor(
        min(255, base.red() * 4 // 3 + 20),
        min(255, base.green() * 4 // 3 + 20),
        min(255, base.blue() * 4 // 3 + 20),
    )
    rgb = np.uint32(base.rgb() & 0xFFFFFF)
    img = np.where(
        inner,
        np.uint32(light.rgb() & 0xFFFFFF) | np.uint32(235 << 24),
        np.where(outer, rgb | np.uint32(150 << 24), 0),
    )
    img = np.ascontiguousarray(img, dtype=np.uint32)
    image = QImage(img.data, cols, rows, cols * 4, QImage.Format.Format_ARGB32).copy()  # owns its pixels
    image.setDevicePixelRatio(dpr)
    return image


def _clip_gain(clip: Clip, t: np.ndarray) -> np.ndarray:
    """Clip gain × fade envelope at timeline times ``t`` (what the waveform should look like)."""
    g = np.full(t.shape, 10 ** (clip.gain_db / 20.0), np.float32)
    if clip.fade_in > 0:
        g *= np.clip((t - clip.start) / clip.fade_in, 0, 1) ** 0.5
    if clip.fade_out > 0:
        g *= np.clip((clip.end - t) / clip.fade_out, 0, 1) ** 0.5
    return g
