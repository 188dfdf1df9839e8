"""How the timeline's track area is drawn (:class:`QtTimelinePainter`, used by
:class:`~studio.ui.qt_timeline_canvas.QtTimelineCanvas`).

Painting touches only the visible time range: per track, two binary searches find the visible clips;
clips narrower than a few pixels are merged into runs and filled with one ``drawRects`` call per
colour; wider clips get a label bar, a waveform (drawn from the peak store into one QImage per clip
with numpy — no per-sample Python), fade curves, selection and render state. Zoomed in past the
finest peak level (256 frames), a clip shows its samples instead — the line through them, a dot on
each once they are four pixels apart (:mod:`studio.audio.sample_view`; the samples are read on a
worker by :class:`~studio.ui.qt_sample_store.QtSampleStore`, the peaks stand in until they arrive). A clip whose voice or
track has an effect chain with a tail (reverb, delay) shows it after its end as a fading wedge
(:class:`studio.core.effects.ClipTails`: how long the mix lets it ring). While a clip is dragged the
drag's preview is drawn in place of the clips it moves.

Thread contract: GUI thread only.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QImage,
    QLinearGradient,
    QPainter,
    QPen,
    QPolygonF,
)

from studio.audio import sample_view as sv
from studio.audio.gains import fade_in_curve, fade_out_curve
from studio.core.effects import ClipTails
from studio.core.layout import timeline_language
from studio.core.model import Clip, LineStatus
from studio.core.timeline_drag import ClipDrag
from studio.core.workflow import line_text
from studio.render import peaks as peaks_mod
from studio.ui import qt_theme
from studio.ui.qt_timeline_model import RENDERING, Row, grid_step

if TYPE_CHECKING:
    from studio.ui.qt_timeline_canvas import QtTimelineCanvas

LABEL_H = 15
NARROW_PX = 5.0  # clips narrower than this are drawn as merged runs
HANDLE_PX = 7.0
WAVE_CACHE_MAX_PX = 4096  # clips wider than this on screen are drawn for their visible part only
WAVE_CACHE_BYTES = 64 * 1024 * 1024


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
        curves.append(
            [(x0 + fade_in_px * i / FADE_POINTS, bottom - float(g) * height) for i, g in enumerate(gains)]
        )
    if fade_out_px >= 1:
        gains = fade_out_curve(0, FADE_POINTS + 1, FADE_POINTS)
        start = x1 - fade_out_px
        curves.append(
            [(start + fade_out_px * i / FADE_POINTS, bottom - float(g) * height) for i, g in enumerate(gains)]
        )
    return curves


class QtTimelinePainter:
    """Draws a :class:`QtTimelineCanvas` (its scale, rows, clips, drag preview, playhead); keeps the
    per-clip waveform images of the current zoom."""

    def __init__(self, canvas: QtTimelineCanvas) -> None:
        self.canvas = canvas
        self.longest_tail = 0.0  # seconds: a changed range is repainted this much further (its tails)
        self._wave_cache: dict[tuple[Any, ...], QImage] = {}  # insertion order = age
        self._wave_bytes = 0
        self._label_font = QFont(canvas.font())
        self._label_font.setPointSizeF(max(7.0, canvas.font().pointSizeF() * 0.85))

    def clear_wave_cache(self) -> None:
        self._wave_cache.clear()
        self._wave_bytes = 0

    # ---- what is drawn comes from the canvas -----------------------------------------------
    @property
    def scale(self) -> Any:
        return self.canvas.scale

    @property
    def model(self) -> Any:
        return self.canvas.model

    @property
    def doc(self) -> Any:
        return self.canvas.doc

    @property
    def peaks(self) -> Any:
        return self.canvas.peaks

    @property
    def track_height(self) -> int:
        return self.canvas.track_height

    @property
    def y_offset(self) -> int:
        return self.canvas.y_offset

    @property
    def playhead(self) -> float:
        return self.canvas.playhead

    @property
    def loop_range(self) -> tuple[float, float] | None:
        return self.canvas.loop_range

    @property
    def drag(self) -> ClipDrag | None:
        return self.canvas.drag_tool.drag

    @property
    def hover(self) -> str:
        return self.canvas.hover

    def row_top(self, row: int) -> int:
        return self.canvas.row_top(row)

    def devicePixelRatioF(self) -> float:  # noqa: N802 — the canvas's (Qt's) name
        return float(self.canvas.devicePixelRatioF())

    # ---- painting ------------------------------------------------------------------------
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
        preview = self.drag.preview if self.drag is not None and self.drag.started else {}
        selected = set(self.doc.selected_clips)
        for i in range(first, last + 1):
            self._paint_row(painter, i, rows[i], area, t0, t1, preview, selected)
        self._paint_markers(painter, area, t0, t1)
        if self.drag is not None and self.drag.guide is not None:
            gx = self.scale.x(self.drag.guide)
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
        self,
        painter: QPainter,
        track_id: str,
        top: int,
        h: int,
        t0: float,
        t1: float,
        preview: dict[str, Clip],
    ) -> None:
        """Effect tails after the clips of a track (under the clips, so a following clip covers them)."""
        project = self.doc.project
        tails = ClipTails.of(project)
        self.longest_tail = tails.longest
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
            handles = clip.id in selected or clip.id == self.hover
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
                samples = self._samples_for(clip, peaks, offset, right - left, dpr)
                image = _waveform_image(
                    clip, peaks, colour, offset, right - left, rows, self.scale.px_per_s, dpr, samples
                )
                painter.drawImage(QPointF(left, wave_top), image)

    def past_peaks(self, peaks: Any, dpr: float) -> bool:
        """Zoomed in past the finest peak level: the samples themselves are drawn (when loaded)."""
        levels: tuple[Any, ...] = tuple(getattr(peaks, "levels", ()))
        return bool(levels) and sv.wants_samples(
            self.scale.px_per_s * dpr, peaks.sample_rate, levels[0].bucket
        )

    def _samples_for(
        self, clip: Clip, peaks: Any, offset: float, width: float, dpr: float
    ) -> tuple[int, np.ndarray] | None:
        """The samples under ``width`` px of ``clip`` from ``offset`` s into it, when zoomed in past
        the peaks and loaded (else None: the peaks are drawn and the samples are read meanwhile)."""
        store = self.canvas.samples
        if store is None or not self.past_peaks(peaks, dpr):
            return None
        rate = peaks.sample_rate
        first = (clip.source_in + offset) * rate
        last = first + math.ceil(width * dpr) * rate / (self.scale.px_per_s * dpr)
        window: tuple[int, np.ndarray] | None = store.window(clip.media, first, last)
        return window

    def _clip_image(self, clip: Clip, peaks: Any, colour: str, width: float, rows: int, dpr: float) -> QImage:
        samples = None
        if self.past_peaks(peaks, dpr):
            cached = self._wave_cache.get(self._wave_key(clip, colour, rows, dpr, "samples"))
            if cached is not None:
                return cached
            samples = self._samples_for(clip, peaks, 0.0, width, dpr)
        key = self._wave_key(clip, colour, rows, dpr, "samples" if samples is not None else "peaks")
        image = self._wave_cache.get(key)
        if image is None:
            image = _waveform_image(clip, peaks, colour, 0.0, width, rows, self.scale.px_per_s, dpr, samples)
            self._wave_cache[key] = image
            self._wave_bytes += image.sizeInBytes()
            while self._wave_bytes > WAVE_CACHE_BYTES and len(self._wave_cache) > 1:
                old = self._wave_cache.pop(next(iter(self._wave_cache)))
                self._wave_bytes -= old.sizeInBytes()
        return image

    def _wave_key(self, clip: Clip, colour: str, rows: int, dpr: float, mode: str) -> tuple[Any, ...]:
        return (
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
            mode,
        )

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
            corner = (
                QPointF(curve[0].x(), top) if curve[0].y() > curve[-1].y() else QPointF(curve[-1].x(), top)
            )
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


def _waveform_image(
    clip: Clip,
    peaks: Any,
    colour: str,
    offset: float,
    width: float,
    rows: int,
    px_per_s: float,
    dpr: float,
    samples: tuple[int, np.ndarray] | None = None,
) -> QImage:
    """The waveform of ``clip`` from ``offset`` seconds into it, ``width`` px wide: min/max in the
    clip's colour, the RMS core lighter, clip gain and fades applied (vectorised, no per-sample Python).
    With ``samples`` (first frame, mono samples at the file's rate) the samples themselves are drawn:
    the line through them (:func:`studio.audio.sample_view.trace_extent`), dots once they are apart."""
    cols = max(1, int(math.ceil(width * dpr)))
    pps = px_per_s * dpr
    rate = peaks.sample_rate
    gain = _clip_gain(clip, clip.start + offset + (np.arange(cols) + 0.5) / pps)
    mid = rows / 2.0
    amp = rows / 2.0 - 0.5
    base = QColor(colour)
    light = QColor(
        min(255, base.red() * 4 // 3 + 20),
        min(255, base.green() * 4 // 3 + 20),
        min(255, base.blue() * 4 // 3 + 20),
    )
    rgb = np.uint32(base.rgb() & 0xFFFFFF)
    bright = np.uint32(light.rgb() & 0xFFFFFF) | np.uint32(235 << 24)
    y = np.arange(rows, dtype=np.float32)[:, None]
    if samples is not None:
        img = _sample_pixels(
            samples, offset * rate + clip.source_in * rate, rate / pps, cols, gain, y, mid, amp
        )
        line = np.uint32(light.rgb() & 0xFFFFFF) | np.uint32(190 << 24)
        dot = np.uint32(0xFFFFFFFF)
        img = np.where(
            img == 1,
            line,
            np.where(img == 3, dot, np.where(img == 2, rgb | np.uint32(90 << 24), np.uint32(0))),
        )
    else:
        level = peaks.level_for(1.0 / pps)
        first_bucket = (clip.source_in + offset) * rate / level.bucket
        lo, hi, rms = peaks_mod.columns(level, first_bucket, rate / (pps * level.bucket), cols)
        with np.errstate(invalid="ignore"):
            top = np.floor(mid - np.clip(hi * gain, -1, 1) * amp)
            bottom = np.ceil(mid - np.clip(lo * gain, -1, 1) * amp)
            r = np.clip(rms * gain, 0, 1) * amp
            outer = (y >= top) & (y <= bottom)
            inner = outer & (y >= np.floor(mid - r)) & (y <= np.ceil(mid + r))
        img = np.where(inner, bright, np.where(outer, rgb | np.uint32(150 << 24), 0))
    img = np.ascontiguousarray(img, dtype=np.uint32)
    image = QImage(img.data, cols, rows, cols * 4, QImage.Format.Format_ARGB32).copy()  # owns its pixels
    image.setDevicePixelRatio(dpr)
    return image


def _sample_pixels(
    samples: tuple[int, np.ndarray],
    first_frame: float,
    frames_per_col: float,
    cols: int,
    gain: np.ndarray,
    y: np.ndarray,
    mid: float,
    amp: float,
) -> np.ndarray:
    """Pixel classes of the sample-level view: 1 the trace, 3 the sample dots, 2 the zero line, 0 empty."""
    start, data = samples
    lo, hi = sv.trace_extent(data, start, first_frame, frames_per_col, cols)
    with np.errstate(invalid="ignore"):
        top = np.floor(mid - np.clip(hi * gain, -1, 1) * amp)
        bottom = np.maximum(np.ceil(mid - np.clip(lo * gain, -1, 1) * amp), top)
        trace = (y >= top) & (y <= bottom)
    zero = (np.abs(y - math.floor(mid)) < 0.5) & ~np.isnan(lo)
    out = np.where(trace, np.uint8(1), np.where(zero, np.uint8(2), np.uint8(0)))
    xs, idx = sv.sample_marks(start, data.shape[0], first_frame, frames_per_col, cols)
    if xs.size:
        cx = np.clip(np.round(xs).astype(np.int64), 0, cols - 1)
        cy = np.round(mid - np.clip(data[idx] * gain[cx], -1, 1) * amp).astype(np.int64)
        rows = out.shape[0]
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                out[np.clip(cy + dy, 0, rows - 1), np.clip(cx + dx, 0, cols - 1)] = 3
    return out


def _clip_gain(clip: Clip, t: np.ndarray) -> np.ndarray:
    """Clip gain × fade envelope at timeline times ``t`` (what the waveform should look like)."""
    g = np.full(t.shape, 10 ** (clip.gain_db / 20.0), np.float32)
    # The mixer's equal-power fades (studio.audio.gains): sin(π/2 · the share of the fade done).
    if clip.fade_in > 0:
        g *= np.sin(np.pi / 2 * np.clip((t - clip.start) / clip.fade_in, 0, 1)).astype(np.float32)
    if clip.fade_out > 0:
        g *= np.sin(np.pi / 2 * np.clip((clip.end - t) / clip.fade_out, 0, 1)).astype(np.float32)
    return g
