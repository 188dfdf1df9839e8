"""One reference clip of a bank voice: its waveform with trim handles, transcript, quality notes.

Drag the two handles on the waveform to choose the part to keep, then **Trim**: the part is cut
out and re-normalised (:func:`studio.bank.clips.trim_clip`, on a worker thread) and stored in
place of the old clip (:meth:`~studio.bank.store.VoiceBank.replace_clip`, on the GUI thread). The
waveform itself (:func:`studio.bank.clips.waveform_peaks`) is also computed on a worker.
When the clip knows what the speech recogniser heard in it, a transcript that disagrees is flagged
("the clip says: …", :func:`studio.qa.reference.reference_flag`) with a button to take the heard words.

Thread contract: GUI thread only; work runs through a :class:`~studio.ui.qt_bank_jobs.QtJobRunner`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import shiboken6
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from studio.bank.clips import MIN_SECONDS, PreparedClip, trim_clip, waveform_peaks
from studio.bank.records import BankError, ReferenceClip
from studio.bank.store import VoiceBank
from studio.qa.reference import reference_flag
from studio.ui import qt_theme
from studio.ui.qt_bank_jobs import QtJobRunner
from studio.ui.qt_voice_audition import QtClipPlayer

PEAK_BUCKETS = 600
HANDLE_GRAB_PX = 7
WAVE_HEIGHT = 64
TRIM_EPSILON_S = 0.01  # a selection this close to the whole clip is no trim

# report(text, is_error): where the editor's messages go (the panel's status line)
Reporter = Callable[[str, bool], None]


# (parent, title, text) -> yes? — widgets that ask before destructive actions hold one in ``.ask``
# (default :func:`confirm`); tests replace it to answer "no" as well as "yes".
Asker = Callable[[QWidget, str, str], bool]


def confirm(parent: QWidget, title: str, text: str) -> bool:
    """Ask before a destructive action; offscreen (tests, CI) there is nobody to ask: yes."""
    if QApplication.platformName() == "offscreen":
        return True
    answer = QMessageBox.question(parent, title, text)
    return answer == QMessageBox.StandardButton.Yes


class QtWaveformView(QWidget):
    """Min/max waveform of a clip with a start and an end handle (the part to keep) and a playhead."""

    selectionChanged = Signal(float, float)  # while a handle moves
    selectionEdited = Signal(float, float)  # when a handle is let go

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(WAVE_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self.peaks: np.ndarray | None = None
        self.duration = 0.0
        self.note = "drawing the waveform…"
        self._start = 0.0
        self._end = 0.0
        self._drag: str = ""  # "start" | "end" | ""
        self.playhead: float | None = None

    def sizeHint(self) -> QSize:
        return QSize(320, WAVE_HEIGHT)

    # ---- model -----------------------------------------------------------------------------
    def set_peaks(self, peaks: np.ndarray | None, duration: float, note: str = "") -> None:
        self.peaks = peaks
        self.duration = max(0.0, duration)
        self.note = note
        self._start, self._end = 0.0, self.duration
        self.update()

    @property
    def selection(self) -> tuple[float, float]:
        return self._start, self._end

    def set_selection(self, start: float, end: float) -> None:
        """Clamp to the clip and to at least MIN_SECONDS; emits ``selectionChanged`` if it moved."""
        start = min(max(0.0, start), self.duration)
        end = min(max(0.0, end), self.duration)
        if end - start < MIN_SECONDS:
            if self._drag == "start":
                start = max(0.0, end - MIN_SECONDS)
            else:
                end = min(self.duration, start + MIN_SECONDS)
        if (start, end) != (self._start, self._end):
            self._start, self._end = start, end
            self.update()
            self.selectionChanged.emit(start, end)

    def reset_selection(self) -> None:
        self.set_selection(0.0, self.duration)

    @property
    def trimmed(self) -> bool:
        return self._start > TRIM_EPSILON_S or self._end < self.duration - TRIM_EPSILON_S

    def set_playhead(self, seconds: float | None) -> None:
        if seconds != self.playhead:
            self.playhead = seconds
            self.update()

    # ---- geometry --------------------------------------------------------------------------
    def _inner(self) -> QRectF:
        return QRectF(self.rect()).adjusted(HANDLE_GRAB_PX, 2, -HANDLE_GRAB_PX, -2)

    def x_of(self, seconds: float) -> float:
        inner = self._inner()
        if self.duration <= 0:
            return inner.left()
        return inner.left() + inner.width() * seconds / self.duration

    def seconds_at(self, x: float) -> float:
        inner = self._inner()
        if inner.width() <= 0 or self.duration <= 0:
            return 0.0
        return (x - inner.left()) / inner.width() * self.duration

    def handle_at(self, x: float) -> str:
        if self.duration <= 0:
            return ""
        d_start, d_end = abs(x - self.x_of(self._start)), abs(x - self.x_of(self._end))
        if min(d_start, d_end) > HANDLE_GRAB_PX:
            return ""
        return "start" if d_start < d_end or (d_start == d_end and x < self.x_of(self._start)) else "end"

    # ---- mouse -----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag = self.handle_at(event.position().x())
        if not self._drag:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        x = event.position().x()
        if self._drag == "start":
            self.set_selection(self.seconds_at(x), self._end)
        elif self._drag == "end":
            self.set_selection(self._start, self.seconds_at(x))
        else:
            cursor = Qt.CursorShape.SizeHorCursor if self.handle_at(x) else Qt.CursorShape.ArrowCursor
            self.setCursor(cursor)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag and event.button() == Qt.MouseButton.LeftButton:
            self._drag = ""
            self.selectionEdited.emit(self._start, self._end)

    # ---- paint -----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        rect = QRectF(self.rect())
        p.fillRect(rect, QColor(qt_theme.TIMELINE_BG))
        inner = self._inner()
        mid = inner.center().y()
        half = inner.height() / 2 - 1
        peaks = self.peaks
        if peaks is None or not len(peaks) or self.duration <= 0:
            p.setPen(QColor(qt_theme.TEXT_DIM))
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.note or "no waveform")
            p.end()
            return
        p.setPen(QPen(QColor(qt_theme.GRID_MAJOR), 1))
        p.drawLine(QPointF(inner.left(), mid), QPointF(inner.right(), mid))
        wave = QColor(qt_theme.ACCENT)
        columns = max(1, int(inner.width()))
        index = np.minimum((np.arange(columns) * len(peaks) / columns).astype(int), len(peaks) - 1)
        index_end = np.minimum(((np.arange(columns) + 1) * len(peaks) / columns).astype(int), len(peaks))
        p.setPen(QPen(wave, 1))
        for col in range(columns):
            lo_i, hi_i = index[col], max(index_end[col], index[col] + 1)
            lo = float(peaks[lo_i:hi_i, 0].min())
            hi = float(peaks[lo_i:hi_i, 1].max())
            x = inner.left() + col + 0.5
            p.drawLine(QPointF(x, mid - hi * half), QPointF(x, mid - lo * half))
        # the parts the trim would cut, dimmed
        dim = QColor(0, 0, 0, 150)
        x0, x1 = self.x_of(self._start), self.x_of(self._end)
        p.fillRect(QRectF(rect.left(), rect.top(), x0 - rect.left(), rect.height()), dim)
        p.fillRect(QRectF(x1, rect.top(), rect.right() - x1, rect.height()), dim)
        handle = QColor(qt_theme.SNAP_GUIDE if self.trimmed else qt_theme.TEXT_DIM)
        for x in (x0, x1):
            p.setPen(QPen(handle, 2))
            p.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
            p.fillRect(QRectF(x - 4, rect.top(), 8, 9), handle)
            p.fillRect(QRectF(x - 4, rect.bottom() - 9, 8, 9), handle)
        if self.playhead is not None:
            xp = self.x_of(self.playhead)
            p.setPen(QPen(QColor(qt_theme.PLAYHEAD), 1))
            p.drawLine(QPointF(xp, rect.top()), QPointF(xp, rect.bottom()))
        p.end()


def clip_summary(clip: ReferenceClip) -> str:
    snr = "clean" if clip.snr_db is None else f"SNR {clip.snr_db:.0f} dB"
    return f"{clip.duration:.1f} s · {clip.loudness_lufs:.1f} LUFS · peak {clip.peak_dbfs:.1f} dBFS · {snr}"


class QtClipEditor(QFrame):
    """A clip row of the voice bank panel (see the module docstring)."""

    def __init__(
        self,
        bank: VoiceBank,
        voice_id: str,
        clip: ReferenceClip,
        index: int,
        jobs: QtJobRunner,
        report: Reporter,
        player: QtClipPlayer | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("clipEditor")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.bank = bank
        self.ask: Asker = confirm  # replaced by tests (and by callers with their own prompter)
        self.voice_id = voice_id
        self.clip = clip
        self.index = index
        self.jobs = jobs
        self.report = report
        self.player = player
        self.trimming = False
        self.detached = False  # set when the editor is dropped: it must not write any more

        name = clip.original_name or clip.clip_id[:12]
        self.title = QLabel(f"<b>{'★ ' if index == 0 else ''}{_html(name)}</b>")
        self.title.setToolTip("The primary clip (what projects embed)" if index == 0 else clip.clip_id)
        self.info = QLabel(clip_summary(clip))
        self.info.setObjectName("engineStatus")
        self.notes = QLabel("\n".join(f"⚠ {n}" for n in clip.notes()))
        self.notes.setObjectName("transportWarning")
        self.notes.setWordWrap(True)
        self.notes.setVisible(bool(clip.notes()))
        self.wave = QtWaveformView()
        self.wave.selectionChanged.connect(self._selection_moved)
        self.selection_label = QLabel()
        self.selection_label.setObjectName("engineStatus")
        self.transcript = QLineEdit(clip.transcript)
        self.transcript.setPlaceholderText("The exact words spoken in the clip")
        self.transcript.editingFinished.connect(self.commit_transcript)
        self.transcript.textChanged.connect(self.refresh_flag)
        # What the recogniser heard, when the typed transcript disagrees (Higgs needs the exact words).
        self.flag = QLabel()
        self.flag.setObjectName("transportWarning")  # the theme's warning colour
        self.flag.setWordWrap(True)
        self.flag.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.use_heard_button = QPushButton("Use what it says")
        self.use_heard_button.setToolTip(
            "Replace the transcript with the words the recogniser heard in the clip"
        )
        self.use_heard_button.clicked.connect(self.use_heard)

        self.play_button = QPushButton("▶ Play")
        self.play_button.setToolTip("Play the clip (the part between the handles)")
        self.play_button.clicked.connect(self.toggle_play)
        self.trim_button = QPushButton("Trim")
        self.trim_button.setToolTip("Keep only the part between the handles (re-normalised)")
        self.trim_button.clicked.connect(self.apply_trim)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Move the handles back to the ends")
        self.reset_button.clicked.connect(self.wave.reset_selection)
        self.primary_button = QPushButton("Make primary")
        self.primary_button.setToolTip("Projects embed the primary clip")
        self.primary_button.clicked.connect(self.make_primary)
        self.primary_button.setVisible(index > 0)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove)
        if player is not None and not player.available:
            self.play_button.setEnabled(False)
            self.play_button.setToolTip(player.reason)

        # A narrow voice bank dock must not push Remove out of sight: the file name gives way
        # (full name in the tooltip) and the buttons take two rows.
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title.setToolTip(f"{name}\n{self.title.toolTip()}")
        self.info.setWordWrap(True)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.selection_label)
        buttons = QVBoxLayout()
        first, second = QHBoxLayout(), QHBoxLayout()
        for button in (self.play_button, self.trim_button, self.reset_button):
            first.addWidget(button)
        first.addStretch(1)
        second.addWidget(self.primary_button)
        second.addWidget(self.remove_button)
        second.addStretch(1)
        buttons.addLayout(first)
        buttons.addLayout(second)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addLayout(head)
        layout.addWidget(self.info)
        layout.addWidget(self.wave)
        layout.addLayout(buttons)
        layout.addWidget(self.transcript)
        flag_row = QHBoxLayout()
        flag_row.addWidget(self.flag, 1)
        flag_row.addWidget(self.use_heard_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(flag_row)
        layout.addWidget(self.notes)
        self.refresh_flag()
        self._selection_moved(0.0, clip.duration)
        self.load_waveform()

    def detach(self) -> None:
        """The editor is being removed (or the bank closed): its fields commit nothing from now on."""
        self.detached = True

    @property
    def path(self) -> Path:
        return self.bank.clip_path(self.clip.clip_id)

    # ---- waveform --------------------------------------------------------------------------
    def load_waveform(self) -> None:
        self.jobs.submit(
            waveform_peaks,
            self.path,
            PEAK_BUCKETS,
            done=self._got_peaks,
            failed=self._no_peaks,
            label="Waveform",
        )

    def _got_peaks(self, peaks: np.ndarray) -> None:
        if shiboken6.isValid(self):
            self.wave.set_peaks(peaks, self.clip.duration)
            self._selection_moved(*self.wave.selection)

    def _no_peaks(self, exc: BaseException) -> None:
        if shiboken6.isValid(self):
            self.wave.set_peaks(None, 0.0, f"cannot draw the waveform: {exc}")
            self.trim_button.setEnabled(False)

    def _selection_moved(self, start: float, end: float) -> None:
        trimmed = self.wave.trimmed
        self.trim_button.setEnabled(trimmed and not self.trimming and self.wave.peaks is not None)
        self.reset_button.setEnabled(trimmed)
        self.selection_label.setText(f"keep {start:.2f}–{end:.2f} s ({end - start:.1f} s)" if trimmed else "")

    # ---- actions ---------------------------------------------------------------------------
    def apply_trim(self) -> None:
        """Cut the clip to the handles on a worker; the bank replaces it when that is done."""
        if self.detached:
            return
        if not self.wave.trimmed or self.trimming:
            return
        start, end = self.wave.selection
        self.trimming = True
        self.trim_button.setEnabled(False)
        self.trim_button.setText("Trimming…")
        bank, voice_id, old = self.bank, self.voice_id, self.clip
        report = self.report

        def trimmed(prepared: PreparedClip) -> None:  # GUI thread
            try:
                bank.replace_clip(voice_id, old.clip_id, prepared)
            except BankError as exc:
                report(f"Cannot trim the clip: {exc}", True)
                self._trim_done()
                return
            notes = "; ".join(prepared.messages)
            report(f"Trimmed to {prepared.stats.duration:.1f} s" + (f" — {notes}" if notes else ""), False)
            self._trim_done()

        def failed(exc: BaseException) -> None:
            report(f"Cannot trim the clip: {exc}", True)
            self._trim_done()

        name = old.original_name or ""
        self.jobs.submit(
            trim_clip, self.path, start, end, old.transcript, name, done=trimmed, failed=failed, label="Trim"
        )

    def _trim_done(self) -> None:
        if shiboken6.isValid(self):
            self.trimming = False
            self.trim_button.setText("Trim")
            self._selection_moved(*self.wave.selection)

    def commit_transcript(self) -> None:
        if self.detached:
            return
        text = self.transcript.text()
        if " ".join(text.split()) == self.clip.transcript:
            return
        try:
            voice = self.bank.set_transcript(self.voice_id, self.clip.clip_id, text)
        except BankError as exc:
            self.report(f"Cannot change the transcript: {exc}", True)
            return
        saved = next((c for c in voice.clips if c.clip_id == self.clip.clip_id), None)
        if saved is not None:  # the warnings follow the saved transcript ("no transcript" goes)
            self.clip = saved
            self.notes.setText("\n".join(f"⚠ {n}" for n in saved.notes()))
            self.notes.setVisible(bool(saved.notes()))
            self.report(f"Saved the transcript of {saved.original_name or 'the clip'}", False)

    def set_clip(self, clip: ReferenceClip) -> None:
        """The bank changed this clip (transcript or heard text): show it, keeping what is being typed."""
        self.clip = clip
        if not self.transcript.hasFocus() and self.transcript.text() != clip.transcript:
            self.transcript.blockSignals(True)
            self.transcript.setText(clip.transcript)
            self.transcript.blockSignals(False)
        self.notes.setText("\n".join(f"⚠ {n}" for n in clip.notes()))
        self.notes.setVisible(bool(clip.notes()))
        self.refresh_flag()

    def refresh_flag(self) -> None:
        """Flag the typed transcript when it disagrees with what the recogniser heard in the clip."""
        flag = reference_flag(self.transcript.text(), self.clip.heard)
        self.flag.setText(f"⚠ {flag[0].upper()}{flag[1:]}" if flag else "")
        self.flag.setVisible(bool(flag))
        self.use_heard_button.setVisible(bool(flag))

    def use_heard(self) -> None:
        """Take the heard text as the transcript (and save it)."""
        if self.detached or not self.clip.heard:
            return
        self.transcript.setText(self.clip.heard)
        self.commit_transcript()

    def make_primary(self) -> None:
        if self.detached:
            return
        try:
            self.bank.set_primary_clip(self.voice_id, self.clip.clip_id)
        except BankError as exc:
            self.report(f"Cannot make it the primary clip: {exc}", True)

    def remove(self) -> None:
        if self.detached:
            return
        if not self.ask(self, "Remove clip", "Remove this reference clip from the voice?"):
            return
        try:
            self.bank.remove_clip(self.voice_id, self.clip.clip_id)
        except BankError as exc:
            self.report(f"Cannot remove the clip: {exc}", True)

    def toggle_play(self) -> None:
        player = self.player
        if player is None:
            return
        if player.playing and player.key == self.clip.clip_id:
            player.stop()
            return
        start, end = self.wave.selection
        if not player.play(self.path, key=self.clip.clip_id, start=start, end=end or None):
            self.report(player.reason or "Cannot play the clip", True)

    def show_playing(self, seconds: float | None) -> None:
        """The player's position (None = stopped) — only for this clip."""
        self.wave.set_playhead(seconds)
        self.play_button.setText("■ Stop" if seconds is not None else "▶ Play")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
