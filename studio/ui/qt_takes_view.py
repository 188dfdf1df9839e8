"""The Takes view: every take of the selected line with its check scores, played A/B, picked,
starred, and the unused ones deleted.

Gestures become the named edits of :mod:`studio.core.take_ops` (and the script panel's
:func:`~studio.ui.qt_script_panel.select_take`, which also moves the line's clip) on the document's
undo stack; the scores are :class:`studio.qa.scores.TakeScores` judged again with the project's
current thresholds; the transcript-vs-script marks come from :mod:`studio.qa.diff`.

Takes are heard through the studio's sound-card layer (:mod:`studio.audio.device_streams`): the
main window passes the opener of the output device the user chose.

A/B: while one take plays, playing another starts it at the same position, so two takes of a line
can be compared word for word.

Thread contract: GUI thread only.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.audio.device_streams import StreamOpener, default_output_opener
from studio.core import take_ops
from studio.core.model import LineStatus
from studio.core.project import Change, Project
from studio.qa.check import rejudge
from studio.qa.diff import diff_html
from studio.qa.scores import TakeScores
from studio.ui import qt_theme
from studio.ui.qt_document import QtDocument
from studio.ui.qt_voice_audition import QtClipPlayer

COLUMNS = ("★", "Take", "Verdict", "WER", "Letters", "Rate", "Silence", "Level", "Length", "Seed")
COL_FAV, COL_TAKE, COL_VERDICT = 0, 1, 2
KeyRole = Qt.ItemDataRole.UserRole + 1
NOT_CHECKED = "not checked"


@dataclass(frozen=True)
class TakeRow:
    """What one row shows (Qt-free, so a test can read it without a widget)."""

    key: str
    cells: tuple[str, ...]
    selected: bool
    favourite: bool
    suspect: bool
    tip: str


def take_rows(project: Project, line_id: str) -> list[TakeRow]:
    """The rows of a line's takes, oldest first (scores judged with the project's thresholds)."""
    line = project.lines.get(line_id)
    if line is None:
        return []
    rows = []
    for number, key in enumerate((k for k in line.takes if k in project.takes), 1):
        take = project.takes[key]
        scores = rejudge(project, key)
        label = f"{number}" + (f" ({take.language})" if take.language else "")
        selected = key == line.selected_take
        if selected:
            label += " ● selected"
        suspect = scores.suspect if scores is not None else take.suspect
        cells = (
            "★" if take.favourite else "☆",
            label,
            _verdict(scores, take.suspect),
            *_score_cells(scores),
            f"{take.duration:.2f} s",
            str(take.seed),
        )
        rows.append(TakeRow(key, cells, selected, take.favourite, suspect, _tip(scores, take.note)))
    return rows


def _verdict(scores: TakeScores | None, flagged: bool) -> str:
    if scores is None:
        return "suspect (engine)" if flagged else NOT_CHECKED
    return scores.verdict


def _score_cells(scores: TakeScores | None) -> tuple[str, ...]:
    if scores is None:
        return ("–", "–", "–", "–", "–")
    words = f"{scores.wer:.0%}" if scores.words_checked else "–"
    letters = f"{scores.cer:.0%}" if scores.words_checked else "–"
    rate = f"{scores.rate:.1f}/s" if scores.rate > 0 else "–"
    silence = f"{scores.leading_silence:.1f} · {scores.trailing_silence:.1f} · {scores.longest_pause:.1f}"
    level = "silent" if scores.level_dbfs <= -199 else f"{scores.level_dbfs:.0f} dB"
    return (words, letters, rate, silence, level)


def _tip(scores: TakeScores | None, note: str) -> str:
    if scores is None:
        return note or "Not checked yet"
    parts = [scores.summary]
    if scores.words_checked and scores.transcript:
        parts.append(f"Heard: {scores.transcript}")
    parts.append("Silence: start · end · longest pause inside (s)")
    return "\n".join(parts)


class QtTakesView(QWidget):
    """The takes of the document's first selected line (see the module docstring)."""

    message = Signal(str)

    def __init__(
        self,
        doc: QtDocument,
        output_factory: Callable[[], StreamOpener] = default_output_opener,
        select_take: Callable[[QtDocument, str, str], bool] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("takesView")
        self.doc = doc
        if select_take is None:
            from studio.ui.qt_script_panel import select_take as pick

            select_take = pick
        self._select_take = select_take
        self.line_id = ""
        self.position = 0.0  # seconds into the take playing (for A/B at the same position)
        self.player = QtClipPlayer(output_factory, parent=self)
        self.player.positionChanged.connect(self._on_position)
        self.player.stateChanged.connect(lambda _playing: self._update_buttons())
        self.player.error.connect(self.message)

        self.title = QLabel("Select a line to see its takes", self)
        self.title.setObjectName("takesTitle")
        self.title.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("takesTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._row_changed)
        self.table.cellDoubleClicked.connect(
            lambda row, col: self.toggle_favourite() if col == COL_FAV else self.play()
        )

        self.play_button = QPushButton("Play", self)
        self.play_button.setToolTip("Play this take (while another plays: from the same position, for A/B)")
        self.play_button.clicked.connect(self.play)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.clicked.connect(self.player.stop)
        self.pick_button = QPushButton("Pick", self)
        self.pick_button.setToolTip("Use this take for the line (re-rolls never replace a take you picked)")
        self.pick_button.clicked.connect(self.pick)
        self.favourite_button = QPushButton("Favourite", self)
        self.favourite_button.setToolTip("Star this take: it is kept when unused takes are deleted")
        self.favourite_button.clicked.connect(self.toggle_favourite)
        self.delete_button = QPushButton("Delete unused", self)
        self.delete_button.setToolTip(
            "Forget the takes that are neither selected, starred nor on the timeline"
        )
        self.delete_button.clicked.connect(self.delete_unused)
        buttons = QHBoxLayout()
        for button in (self.play_button, self.stop_button, self.pick_button, self.favourite_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.delete_button)

        self.diff = QLabel(self)
        self.diff.setObjectName("takesDiff")
        self.diff.setWordWrap(True)
        self.diff.setTextFormat(Qt.TextFormat.RichText)
        self.diff.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.diff)

        doc.selectionChanged.connect(self._follow_selection)
        self._dirty = False
        doc.changed.connect(self._on_change)
        doc.editEnded.connect(self._edit_ended)
        self._follow_selection()

    # ---- state -------------------------------------------------------------------------------
    def set_line(self, line_id: str) -> None:
        if line_id != self.line_id:
            self.line_id = line_id
            self.refresh()

    def current_key(self) -> str:
        items = self.table.selectedItems()
        return str(items[0].data(KeyRole)) if items else ""

    def select_key(self, key: str) -> None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, COL_TAKE)
            if item is not None and item.data(KeyRole) == key:
                self.table.selectRow(row)
                return

    def keys(self) -> list[str]:
        items = (self.table.item(r, COL_TAKE) for r in range(self.table.rowCount()))
        return [str(item.data(KeyRole)) for item in items if item is not None]

    def refresh(self) -> None:
        project = self.doc.project
        line = project.lines.get(self.line_id)
        keep = self.current_key()
        self.table.setRowCount(0)
        if line is None:
            self.line_id = ""
            self.title.setText("Select a line to see its takes")
            self.diff.clear()
            self._update_buttons()
            return
        speaker = project.speakers.get(line.speaker_id)
        name = speaker.name if speaker is not None else line.speaker_id
        rows = take_rows(project, line.id)
        self.title.setText(f"<b>{line.id}</b> · {name} · {len(rows)} take(s)<br>{html.escape(line.text)}")
        bold = QFont(self.table.font())
        bold.setBold(True)
        for r, row in enumerate(rows):
            self.table.insertRow(r)
            for c, text in enumerate(row.cells):
                item = QTableWidgetItem(text)
                item.setData(KeyRole, row.key)
                item.setToolTip(row.tip)
                if row.selected:
                    item.setFont(bold)
                if c == COL_VERDICT and row.suspect:
                    bg, fg = qt_theme.STATUS_COLOURS[LineStatus.SUSPECT]
                    item.setBackground(QColor(bg))
                    item.setForeground(QColor(fg))
                self.table.setItem(r, c, item)
        wanted = keep if keep in {row.key for row in rows} else line.selected_take
        self.select_key(wanted)
        if not self.current_key() and rows:
            self.table.selectRow(0)
        self._row_changed()

    # ---- gestures ----------------------------------------------------------------------------
    def play(self, key: str = "") -> bool:
        """Play ``key`` (default: the current row); from the same position if a take is playing."""
        key = key or self.current_key()
        take = self.doc.project.takes.get(key)
        if take is None:
            return False
        start = self.position if self.player.playing else 0.0
        if start >= take.duration:
            start = 0.0
        self.position = start
        return self.player.play(self.doc.media_path(take.media), key=key, start=start)

    def pick(self) -> bool:
        key = self.current_key()
        if not key or not self.line_id:
            return False
        return self._select_take(self.doc, self.line_id, key)

    def toggle_favourite(self) -> bool:
        take = self.doc.project.takes.get(self.current_key())
        if take is None:
            return False
        return self.doc.edit(take_ops.set_favourite(take.key, not take.favourite))

    def delete_unused(self) -> bool:
        if not self.line_id:
            return False
        gone = take_ops.unused_takes(self.doc.project, self.line_id)
        if not gone:
            self.message.emit("No unused takes: every take is selected, starred or on the timeline")
            return False
        if self.player.key in gone:
            self.player.stop()
        ok = self.doc.edit(take_ops.delete_unused_takes(self.doc.project, self.line_id))
        if ok:
            self.message.emit(f"Deleted {len(gone)} unused take(s) (undo brings them back)")
        return ok

    # ---- reacting ----------------------------------------------------------------------------
    def _follow_selection(self) -> None:
        lines = self.doc.selected_lines
        if lines:
            self.set_line(lines[0])

    def _on_change(self, change: Change) -> None:
        """Note that the shown line's takes changed; the view is redrawn once the edit ends."""
        if not self.line_id or self._dirty:
            return
        mine = (change.kind == "line" and change.id == self.line_id) or change.kind == "settings"
        if change.kind == "take":
            mine = any(getattr(record, "line_id", "") == self.line_id for record in (change.old, change.new))
        self._dirty = mine

    def _edit_ended(self) -> None:
        if self._dirty:
            self._dirty = False
            self.refresh()

    def _on_position(self, seconds: float) -> None:
        self.position = seconds

    def _row_changed(self) -> None:
        key = self.current_key()
        scores = rejudge(self.doc.project, key) if key in self.doc.project.takes else None
        if scores is not None and scores.words_checked and (scores.expected or scores.transcript):
            self.diff.setText(diff_html(scores.expected, scores.transcript))
        elif key:
            self.diff.setText("<i>No transcript: the take has not been checked.</i>")
        else:
            self.diff.clear()
        self._update_buttons()

    def _update_buttons(self) -> None:
        project = self.doc.project
        key = self.current_key()
        take = project.takes.get(key)
        line = project.lines.get(self.line_id)
        self.play_button.setEnabled(take is not None)
        self.stop_button.setEnabled(self.player.playing)
        self.pick_button.setEnabled(
            take is not None and line is not None and key != line.selected_take and not take.language
        )
        self.favourite_button.setEnabled(take is not None)
        self.favourite_button.setText("Unfavourite" if take is not None and take.favourite else "Favourite")
        unused = len(take_ops.unused_takes(project, self.line_id)) if line is not None else 0
        self.delete_button.setEnabled(unused > 0)
        self.delete_button.setText(f"Delete unused ({unused})" if unused else "Delete unused")

    def closeEvent(self, event: Any) -> None:
        self.player.stop()
        super().closeEvent(event)
