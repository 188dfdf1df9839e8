"""The Inspector: properties of the selected line, clip and track, editable in place.

Each field edits through the undo stack when editing finishes (Enter or focus leaving), and shows
the model's value again when the project changes (undo, another panel).

Thread contract: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from studio.core import ops
from studio.core.model import TrackKind
from studio.core.project import Change
from studio.ui import qt_theme
from studio.ui.qt_document import QtDocument
from studio.ui.qt_timeline_model import format_time


class QtCommitTextEdit(QPlainTextEdit):
    """A multi-line editor that commits on focus out or Ctrl+Enter."""

    def __init__(self, commit: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._commit = commit
        self.setTabChangesFocus(True)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if (
            event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self._commit(self.toPlainText())
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        self._commit(self.toPlainText())
        super().focusOutEvent(event)


def _spin(lo: float, hi: float, step: float, suffix: str, decimals: int = 3) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    box.setSuffix(suffix)
    box.setKeyboardTracking(False)
    return box


class QtInspector(QScrollArea):
    def __init__(self, doc: QtDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector")
        self.doc = doc
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        self.setWidget(body)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 8, 8, 8)
        self._updating = False

        self.empty = QLabel("Select a line, a clip or a track to see its properties.")
        self.empty.setObjectName("placeholder")
        self.empty.setWordWrap(True)
        layout.addWidget(self.empty)

        # line
        self.line_box = QGroupBox("Line")
        form = QFormLayout(self.line_box)
        self.line_id = QLabel()
        self.line_id.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.line_speaker = QComboBox()
        self.line_text = QtCommitTextEdit(self._commit_text)
        self.line_text.setFixedHeight(self.fontMetrics().lineSpacing() * 5 + 10)
        self.line_direction = QLineEdit()
        self.line_direction.setPlaceholderText("e.g. warmly, laughing")
        self.line_notes = QLineEdit()
        self.line_status = QLabel()
        self.line_status.setWordWrap(True)
        form.addRow("ID", self.line_id)
        form.addRow("Speaker", self.line_speaker)
        form.addRow("Text", self.line_text)
        form.addRow("Direction", self.line_direction)
        form.addRow("Notes", self.line_notes)
        form.addRow("Status", self.line_status)
        layout.addWidget(self.line_box)

        # clip
        self.clip_box = QGroupBox("Clip")
        form = QFormLayout(self.clip_box)
        self.clip_start = _spin(0, 1e6, 0.01, " s")
        self.clip_duration = QLabel()
        self.clip_gain = _spin(-60, 24, 0.5, " dB", 1)
        self.clip_fade_in = _spin(0, 600, 0.05, " s")
        self.clip_fade_out = _spin(0, 600, 0.05, " s")
        self.clip_media = QLabel()
        self.clip_media.setObjectName("placeholder")
        form.addRow("Start", self.clip_start)
        form.addRow("Length", self.clip_duration)
        form.addRow("Gain", self.clip_gain)
        form.addRow("Fade in", self.clip_fade_in)
        form.addRow("Fade out", self.clip_fade_out)
        form.addRow("Media", self.clip_media)
        layout.addWidget(self.clip_box)

        # track
        self.track_box = QGroupBox("Track")
        form = QFormLayout(self.track_box)
        self.track_name = QLineEdit()
        self.track_kind = QLabel()
        self.track_gain = _spin(-60, 12, 0.5, " dB", 1)
        self.track_pan = _spin(-1, 1, 0.05, "", 2)
        self.track_duck = QCheckBox("Duck under dialogue")
        self.track_duck_depth = _spin(-40, 0, 1, " dB", 1)
        form.addRow("Name", self.track_name)
        form.addRow("Kind", self.track_kind)
        form.addRow("Gain", self.track_gain)
        form.addRow("Pan", self.track_pan)
        form.addRow("", self.track_duck)
        form.addRow("Duck depth", self.track_duck_depth)
        self.track_form = form
        layout.addWidget(self.track_box)
        layout.addStretch(1)

        self.line_speaker.activated.connect(self._commit_speaker)
        self.line_direction.editingFinished.connect(self._commit_direction)
        self.line_notes.editingFinished.connect(self._commit_notes)
        self.clip_start.valueChanged.connect(self._commit_clip_start)
        self.clip_gain.valueChanged.connect(lambda v: self._clip_edit("Clip gain", gain_db=round(v, 2)))
        self.clip_fade_in.valueChanged.connect(lambda v: self._clip_fades(fade_in=v))
        self.clip_fade_out.valueChanged.connect(lambda v: self._clip_fades(fade_out=v))
        self.track_name.editingFinished.connect(self._commit_track_name)
        self.track_gain.valueChanged.connect(lambda v: self._track_edit(gain_db=round(v, 2)))
        self.track_pan.valueChanged.connect(lambda v: self._track_edit(pan=round(v, 3)))
        self.track_duck.toggled.connect(self._commit_duck)
        self.track_duck_depth.valueChanged.connect(self._commit_duck)

        doc.selectionChanged.connect(self.refresh)
        doc.changed.connect(self._on_change)
        self.refresh()

    # ---- what is shown -------------------------------------------------------------------
    def current(self) -> tuple[str | None, str | None, str | None]:
        project = self.doc.project
        clip_id = next((c for c in self.doc.selected_clips if c in project.clips), None)
        line_id = next((i for i in self.doc.selected_lines if i in project.lines), None)
        if clip_id is not None:  # one selection: a clip is shown with its own line, never another's
            line_id = project.clips[clip_id].line_id or None
        if clip_id is None and line_id is not None and len(self.doc.selected_lines) == 1:
            clip = next((c for c in project.clips.values() if c.line_id == line_id), None)
            clip_id = clip.id if clip else None
        track_id = project.clips[clip_id].track_id if clip_id else (self.doc.selected_track or None)
        if track_id not in project.tracks:
            track_id = None
        return line_id, clip_id, track_id

    def _on_change(self, change: Change) -> None:
        line_id, clip_id, track_id = self.current()
        if (change.kind, change.id) in {
            ("line", line_id),
            ("clip", clip_id),
            ("track", track_id),
        } or change.kind == "speaker":
            self.refresh()

    def refresh(self) -> None:
        line_id, clip_id, track_id = self.current()
        project = self.doc.project
        self._updating = True
        try:
            self.empty.setVisible(not (line_id or clip_id or track_id))
            self.line_box.setVisible(line_id is not None)
            self.clip_box.setVisible(clip_id is not None)
            self.track_box.setVisible(track_id is not None)
            if line_id is not None:
                line = project.lines[line_id]
                self.line_id.setText(line.id)
                self.line_speaker.clear()
                for speaker in project.speakers.values():
                    self.line_speaker.addItem(speaker.name, speaker.id)
                self.line_speaker.setCurrentIndex(max(0, self.line_speaker.findData(line.speaker_id)))
                if not self.line_text.hasFocus():
                    self.line_text.setPlainText(line.text)
                self.line_direction.setText(line.direction)
                self.line_notes.setText(line.notes)
                bg, fg = qt_theme.STATUS_COLOURS[line.status]
                detail = f" — {line.status_detail}" if line.status_detail else ""
                takes = f" · {len(line.takes)} take(s)" if line.takes else ""
                self.line_status.setText(
                    f"<span style='background:{bg};color:{fg};padding:2px 6px;border-radius:6px'>&nbsp;{line.status.value}&nbsp;</span>{takes}{detail}"
                )
            if clip_id is not None:
                clip = project.clips[clip_id]
                self.clip_start.setValue(clip.start)
                self.clip_duration.setText(
                    f"{clip.duration:.3f} s  ({format_time(clip.start, 2)} – {format_time(clip.end, 2)})"
                )
                self.clip_gain.setValue(clip.gain_db)
                self.clip_fade_in.setValue(clip.fade_in)
                self.clip_fade_out.setValue(clip.fade_out)
                missing = " (missing!)" if clip.media in project.missing_media else ""
                name = self.clip_media.fontMetrics().elidedText(clip.media, Qt.TextElideMode.ElideMiddle, 180)
                self.clip_media.setText(name + missing)
                self.clip_media.setToolTip(clip.media)
            if track_id is not None:
                track = project.tracks[track_id]
                self.track_name.setText(track.name)
                self.track_kind.setText(track.kind.value)
                self.track_gain.setValue(track.gain_db)
                self.track_pan.setValue(track.pan)
                duckable = track.kind in (TrackKind.MUSIC, TrackKind.HUMMING)
                self.track_form.setRowVisible(self.track_duck, duckable)  # label and field together
                self.track_form.setRowVisible(self.track_duck_depth, duckable)
                self.track_duck.setChecked(track.ducking.enabled)
                self.track_duck_depth.setValue(track.ducking.depth_db)
        finally:
            self._updating = False

    # ---- commits -------------------------------------------------------------------------
    def _line(self) -> Any:
        line_id, _, _ = self.current()
        return self.doc.project.lines.get(line_id) if line_id else None

    def _commit_text(self, text: str) -> None:
        line = self._line()
        text = text.strip()
        if self._updating or line is None or text == line.text:
            return
        if not text:  # say why, and keep the box in agreement with the line
            self.doc.report_failure(ops.EMPTY_TEXT)
            self.line_text.setPlainText(line.text)
            return
        self.doc.edit(ops.change_text(line.id, text))

    def _commit_speaker(self) -> None:
        line = self._line()
        speaker_id = self.line_speaker.currentData()
        if line is not None and speaker_id and speaker_id != line.speaker_id:
            self.doc.edit(ops.assign_speaker(line.id, speaker_id))

    def _commit_direction(self) -> None:
        line = self._line()
        if line is not None and self.line_direction.text().strip() != line.direction:
            self.doc.edit(ops.change_direction(line.id, self.line_direction.text().strip()))

    def _commit_notes(self) -> None:
        line = self._line()
        if line is not None and self.line_notes.text() != line.notes:
            self.doc.edit(ops.set_line_notes(line.id, self.line_notes.text()))

    def _clip_edit(self, label: str, **changes: Any) -> None:
        _, clip_id, _ = self.current()
        if self._updating or clip_id is None:
            return
        clip = self.doc.project.clips[clip_id]
        if all(getattr(clip, k) == v for k, v in changes.items()):
            return
        self.doc.edit(
            ops.set_clip(clip_id, label, **changes),
            label,
            merge_key=f"inspector:{clip_id}:{label}",
        )

    def _commit_clip_start(self, value: float) -> None:
        _, clip_id, _ = self.current()
        if self._updating or clip_id is None or abs(self.doc.project.clips[clip_id].start - value) < 1e-9:
            return
        self.doc.edit(ops.move_clip(clip_id, value), "Move clip", merge_key=f"inspector:{clip_id}:start")

    def _clip_fades(self, **fades: float) -> None:
        _, clip_id, _ = self.current()
        if self._updating or clip_id is None:
            return
        self.doc.edit(ops.set_fades(clip_id, **fades), "Fade", merge_key=f"inspector:{clip_id}:fade")

    def _track_edit(self, **changes: Any) -> None:
        _, _, track_id = self.current()
        if self._updating or track_id is None:
            return
        track = self.doc.project.tracks[track_id]
        if all(getattr(track, k) == v for k, v in changes.items()):
            return
        self.doc.edit(
            ops.set_track(track_id, **changes),
            "Track settings",
            merge_key=f"inspector:{track_id}:{sorted(changes)}",
        )

    def _commit_track_name(self) -> None:
        name = self.track_name.text().strip()
        _, _, track_id = self.current()
        if track_id is not None and name and name != self.doc.project.tracks[track_id].name:
            self.doc.edit(ops.set_track(track_id, name=name), "Rename track")

    def _commit_duck(self) -> None:
        import dataclasses

        _, _, track_id = self.current()
        if self._updating or track_id is None:
            return
        track = self.doc.project.tracks[track_id]
        ducking = dataclasses.replace(
            track.ducking,
            enabled=self.track_duck.isChecked(),
            depth_db=round(self.track_duck_depth.value(), 1),
        )
        if ducking != track.ducking:
            self.doc.edit(
                ops.set_track(track_id, ducking=ducking), "Ducking", merge_key=f"inspector:{track_id}:duck"
            )
