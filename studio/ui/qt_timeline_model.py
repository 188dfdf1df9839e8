"""What the timeline draws, kept in step with the project: track rows, per-track clip indexes,
placeholders for lines being rendered, and the shared time scale (zoom + scroll).

The indexes are sorted numpy arrays per track, rebuilt lazily for the tracks a change touched, so a
2,000-clip view finds its visible clips with two binary searches. Clip changes are re-announced as
``rangeChanged(t0, t1)`` (the time range to repaint), never as "everything changed".

Placeholders: a line that is queued or rendering and has no clip yet is drawn where layout will put
it (after the previous line, on its speaker's track — a row is shown for a speaker whose track does
not exist yet), with the render progress, and is replaced by the real clip when the take arrives.

Thread contract: GUI thread only.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from studio.core.layout import gap_before
from studio.core.model import Clip, LineKind, LineStatus, Track, TrackKind
from studio.core.project import Change
from studio.ui import qt_theme
from studio.ui.qt_document import QtDocument

MIN_PX_PER_S = 0.02
MAX_PX_PER_S = 96000.0  # 2 px per sample at 48 kHz: the sample-level view shows every sample
DEFAULT_PX_PER_S = 40.0
SECONDS_PER_WORD = 0.38  # placeholder length estimate until the take exists
RENDERING = (LineStatus.QUEUED, LineStatus.RENDERING)


class QtTimeScale(QObject):
    """Horizontal mapping shared by the ruler and the canvas: ``x = (t - origin) · px_per_s``."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.px_per_s = DEFAULT_PX_PER_S
        self.origin = 0.0  # seconds at x = 0

    def x(self, t: float) -> float:
        return (t - self.origin) * self.px_per_s

    def t(self, x: float) -> float:
        return self.origin + x / self.px_per_s

    def set(self, px_per_s: float | None = None, origin: float | None = None) -> None:
        pps = self.px_per_s if px_per_s is None else min(MAX_PX_PER_S, max(MIN_PX_PER_S, px_per_s))
        org = self.origin if origin is None else max(0.0, origin)
        if pps != self.px_per_s or org != self.origin:
            self.px_per_s, self.origin = pps, org
            self.changed.emit()

    def zoom_at(self, factor: float, x: float) -> None:
        """Zoom by ``factor`` keeping the time under pixel ``x`` where it is."""
        anchor = self.t(x)
        pps = min(MAX_PX_PER_S, max(MIN_PX_PER_S, self.px_per_s * factor))
        self.set(pps, anchor - x / pps)


_GRID_STEPS: tuple[tuple[float, float], ...] = (
    (0.001, 0.0002),
    (0.002, 0.0005),
    (0.005, 0.001),
    (0.01, 0.002),
    (0.02, 0.005),
    (0.05, 0.01),
    (0.1, 0.02),
    (0.2, 0.05),
    (0.5, 0.1),
    (1.0, 0.2),
    (2.0, 0.5),
    (5.0, 1.0),
    (10.0, 2.0),
    (15.0, 5.0),
    (30.0, 10.0),
    (60.0, 10.0),
    (120.0, 30.0),
    (300.0, 60.0),
    (600.0, 120.0),
    (900.0, 300.0),
    (1800.0, 600.0),
    (3600.0, 900.0),
)


def grid_step(px_per_s: float, min_px: float = 80.0) -> tuple[float, float]:
    """(major, minor) tick spacing in seconds for labels at least ``min_px`` apart."""
    for major, minor in _GRID_STEPS:
        if major * px_per_s >= min_px:
            return major, minor
    return 7200.0, 1800.0


def format_time(seconds: float, precision: int = 1) -> str:
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    width = 3 + precision if precision else 2
    text = f"{secs:0{width}.{precision}f}"
    if hours >= 1:
        return f"{sign}{int(hours)}:{int(minutes):02d}:{text}"
    return f"{sign}{int(minutes)}:{text}"


@dataclass
class Row:
    """One lane of the timeline: a real track, or a speaker's track that rendering will create."""

    key: str  # track id, or "pending:<speaker id>"
    name: str
    kind: TrackKind
    colour: str
    track: Track | None = None
    speaker_id: str = ""

    @property
    def virtual(self) -> bool:
        return self.track is None


@dataclass
class TrackIndex:
    """Clips of one track sorted by start, with a running maximum of ends for range queries."""

    ids: list[str] = field(default_factory=list)
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ends: np.ndarray = field(default_factory=lambda: np.zeros(0))
    max_end: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def visible(self, t0: float, t1: float) -> range:
        """Indexes of clips that may overlap ``[t0, t1]`` (check ``ends`` for the exact answer)."""
        lo = int(np.searchsorted(self.max_end, t0, side="right"))
        hi = int(np.searchsorted(self.starts, t1, side="left"))
        return range(lo, max(lo, hi))


@dataclass(frozen=True)
class Placeholder:
    line_id: str
    row_key: str
    start: float
    duration: float
    colour: str
    status: LineStatus

    @property
    def end(self) -> float:
        return self.start + self.duration


class QtTimelineModel(QObject):
    rowsChanged = Signal()
    rangeChanged = Signal(float, float)  # seconds; repaint this time range
    placeholdersChanged = Signal()
    markersChanged = Signal()

    def __init__(self, doc: QtDocument, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.rows: list[Row] = []
        self._row_index: dict[str, int] = {}
        self._indexes: dict[str, TrackIndex] = {}
        self._dirty_tracks: set[str] = set()
        self._clip_of_line: dict[str, str] | None = None
        self.placeholders: list[Placeholder] = []
        self._placeholder_of: dict[str, Placeholder] = {}
        self.progress: dict[str, float] = {}
        self._rows_dirty = False
        self._placeholders_dirty = False
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(0)
        self._flush_timer.timeout.connect(self._flush)
        self._rebuild_rows()
        self._rebuild_placeholders()
        doc.changed.connect(self._on_change)

    # ---- queries -------------------------------------------------------------------------
    @property
    def project(self):  # type: ignore[no-untyped-def]
        return self.doc.project

    def row_of(self, key: str) -> int:
        return self._row_index.get(key, -1)

    def row_for_track(self, track_id: str) -> Row | None:
        i = self._row_index.get(track_id, -1)
        return self.rows[i] if i >= 0 else None

    def index(self, track_id: str) -> TrackIndex:
        if track_id in self._dirty_tracks or track_id not in self._indexes:
            self._dirty_tracks.discard(track_id)
            clips = sorted(
                (c for c in self.project.clips.values() if c.track_id == track_id),
                key=lambda c: (c.start, c.id),
            )
            starts = np.array([c.start for c in clips], dtype=np.float64)
            ends = np.array([c.end for c in clips], dtype=np.float64)
            self._indexes[track_id] = TrackIndex(
                [c.id for c in clips], starts, ends, np.maximum.accumulate(ends) if len(ends) else ends
            )
        return self._indexes[track_id]

    def clips_in(self, track_id: str, t0: float, t1: float) -> list[Clip]:
        idx = self.index(track_id)
        clips = self.project.clips
        return [clips[idx.ids[i]] for i in idx.visible(t0, t1) if idx.ends[i] > t0 and idx.ids[i] in clips]

    def clip_for_line(self, line_id: str) -> Clip | None:
        if self._clip_of_line is None:
            self._clip_of_line = {c.line_id: c.id for c in self.project.clips.values() if c.line_id}
        clip_id = self._clip_of_line.get(line_id)
        return self.project.clips.get(clip_id) if clip_id else None

    def clip_colour(self, clip: Clip) -> str:
        project = self.project
        if clip.line_id:
            line = project.lines.get(clip.line_id)
            if line is not None:
                if line.kind == LineKind.HUMMING:
                    return qt_theme.HUMMING_CLIP
                speaker = project.speakers.get(line.speaker_id)
                if speaker is not None:
                    return str(speaker.colour)
        track = project.tracks.get(clip.track_id)
        return self.track_colour(track) if track else qt_theme.SFX_CLIP

    def track_colour(self, track: Track) -> str:
        if track.kind == TrackKind.DIALOGUE:
            speaker = self.project.speakers.get(track.speaker_id)
            return speaker.colour if speaker else qt_theme.ACCENT
        return {
            TrackKind.MUSIC: qt_theme.MUSIC_CLIP,
            TrackKind.HUMMING: qt_theme.HUMMING_CLIP,
            TrackKind.SFX: qt_theme.SFX_CLIP,
        }.get(track.kind, qt_theme.SFX_CLIP)

    def placeholder(self, line_id: str) -> Placeholder | None:
        return self._placeholder_of.get(line_id)

    def end_time(self) -> float:
        ends = [c.end for c in self.project.clips.values()]
        ends += [p.end for p in self.placeholders]
        ends += [m.time for m in self.project.markers.values()]
        return max(ends, default=0.0)

    def snap_points(self, t0: float, t1: float, exclude: set[str]) -> list[float]:
        """Clip edges (other than ``exclude``) and markers within ``[t0, t1]``."""
        points: list[float] = []
        for row in self.rows:
            if row.track is None:
                continue
            for clip in self.clips_in(row.track.id, t0, t1):
                if clip.id not in exclude:
                    points.extend((clip.start, clip.end))
        points.extend(m.time for m in self.project.markers.values() if t0 <= m.time <= t1)
        return points

    # ---- progress (engine state, not project state) ----------------------------------------
    def set_progress(self, line_id: str, fraction: float | None) -> None:
        if fraction is None or fraction < 0:
            self.progress.pop(line_id, None)
        else:
            self.progress[line_id] = fraction
        target = self._placeholder_of.get(line_id) or self.clip_for_line(line_id)
        if target is not None:
            self.rangeChanged.emit(target.start, target.end)

    # ---- change propagation --------------------------------------------------------------
    def _on_change(self, change: Change) -> None:
        kind = change.kind
        if kind == "clip":
            for clip in (change.old, change.new):
                if isinstance(clip, Clip):
                    self._dirty_tracks.add(clip.track_id)
            old, new = change.old, change.new
            if (
                not isinstance(old, Clip)
                or not isinstance(new, Clip)
                or old.line_id != new.line_id
                or change.action != "update"
            ):
                self._clip_of_line = None
            if any(isinstance(c, Clip) and c.line_id for c in (old, new)):
                self._schedule(placeholders=True)
            self.rangeChanged.emit(change.t0, change.t1)
        elif kind == "track":
            self._schedule(rows=True)
        elif kind == "speaker":
            self._schedule(rows=True, placeholders=True)
            self.rangeChanged.emit(0.0, math.inf)
        elif kind == "line":
            old, new = change.old, change.new
            if (
                old is None
                or new is None
                or old.status != new.status
                or old.selected_take != new.selected_take
                or (new.status in RENDERING and (old.speaker_id != new.speaker_id or old.text != new.text))
            ):
                self._schedule(placeholders=True)
            clip = self.clip_for_line(change.id)
            if clip is not None and (
                old is None or new is None or old.status != new.status or old.speaker_id != new.speaker_id
            ):
                self.rangeChanged.emit(clip.start, clip.end)
        elif kind in ("order", "settings"):
            self._schedule(placeholders=True)
        elif kind == "marker":
            self.markersChanged.emit()
            times = [m.time for m in (change.old, change.new) if m is not None]
            self.rangeChanged.emit(min(times) - 1e-3, max(times) + 1e-3)

    def _schedule(self, rows: bool = False, placeholders: bool = False) -> None:
        self._rows_dirty |= rows
        self._placeholders_dirty |= placeholders
        self._flush_timer.start()

    def flush(self) -> None:
        """Apply scheduled row/placeholder rebuilds now (they otherwise run on the next event loop turn)."""
        self._flush_timer.stop()
        self._flush()

    def _flush(self) -> None:
        rows, placeholders = self._rows_dirty, self._placeholders_dirty
        self._rows_dirty = self._placeholders_dirty = False
        if placeholders:
            self._rebuild_placeholders()
        if rows or placeholders:
            before = [(r.key, r.name, r.colour) for r in self.rows]
            self._rebuild_rows()
            if [(r.key, r.name, r.colour) for r in self.rows] != before or rows:
                self.rowsChanged.emit()
        if placeholders:
            self.placeholdersChanged.emit()

    def _rebuild_rows(self) -> None:
        project = self.project
        rows = [
            Row(t.id, t.name, t.kind, self.track_colour(t), t, t.speaker_id) for t in project.tracks.values()
        ]
        have = {t.speaker_id for t in project.tracks.values() if t.kind == TrackKind.DIALOGUE}
        pending_speakers = []
        for ph in self.placeholders:
            if ph.row_key.startswith("pending:"):
                speaker_id = ph.row_key.removeprefix("pending:")
                if speaker_id not in have and speaker_id not in pending_speakers:
                    pending_speakers.append(speaker_id)
        dialogue_end = sum(1 for r in rows if r.kind == TrackKind.DIALOGUE)
        for i, speaker_id in enumerate(pending_speakers):
            speaker = project.speakers.get(speaker_id)
            name = speaker.name if speaker else "Dialogue"
            colour = speaker.colour if speaker else qt_theme.ACCENT
            rows.insert(
                dialogue_end + i,
                Row(f"pending:{speaker_id}", name, TrackKind.DIALOGUE, colour, None, speaker_id),
            )
        self.rows = rows
        self._row_index = {r.key: i for i, r in enumerate(rows)}

    def _rebuild_placeholders(self) -> None:
        """Estimate where queued/rendering lines without a clip will land (as layout would place them)."""
        project = self.project
        settings = project.settings
        dialogue_track = {t.speaker_id: t.id for t in project.tracks.values() if t.kind == TrackKind.DIALOGUE}
        cursor = settings.lead_in
        prev_speaker: str | None = None
        prev_scene: str | None = None
        out: list[Placeholder] = []
        for line in project.ordered_lines():
            clip = self.clip_for_line(line.id)
            if line.kind == LineKind.MUSIC:
                continue
            if clip is not None:
                cursor = clip.end
                prev_speaker, prev_scene = line.speaker_id, line.scene_id
                continue
            placing = line.status in (LineStatus.DONE, LineStatus.SUSPECT) and bool(line.selected_take)
            if line.status not in RENDERING and not placing:
                continue
            gap = gap_before(settings, line, prev_speaker, prev_scene)
            take = project.takes.get(line.selected_take) if placing else None
            words = max(1, len(line.text.split()))
            duration = take.duration if take is not None else max(0.8, words * SECONDS_PER_WORD)
            speaker = project.speakers.get(line.speaker_id)
            row_key = dialogue_track.get(line.speaker_id, f"pending:{line.speaker_id}")
            start = cursor + gap
            out.append(
                Placeholder(
                    line.id,
                    row_key,
                    start,
                    duration,
                    speaker.colour if speaker else qt_theme.ACCENT,
                    line.status,
                )
            )
            cursor = start + duration
            prev_speaker, prev_scene = line.speaker_id, line.scene_id
        self.placeholders = out
        self._placeholder_of = {p.line_id: p for p in out}

    def placeholders_in(self, row_key: str, t0: float, t1: float) -> list[Placeholder]:
        return [p for p in self.placeholders if p.row_key == row_key and p.end > t0 and p.start < t1]

    def markers_sorted(self) -> list[tuple[float, str, str]]:
        return sorted((m.time, m.title, m.id) for m in self.project.markers.values())

    def marker_near(self, t: float, tolerance: float) -> str | None:
        markers = self.markers_sorted()
        times = [m[0] for m in markers]
        i = bisect.bisect_left(times, t)
        best: tuple[float, str] | None = None
        for j in (i - 1, i):
            if 0 <= j < len(markers) and abs(markers[j][0] - t) <= tolerance:
                d = abs(markers[j][0] - t)
                if best is None or d < best[0]:
                    best = (d, markers[j][2])
        return best[1] if best else None
