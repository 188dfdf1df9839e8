"""The Lexicon panel, the "Add pronunciation…" dialog and the script table's underlined matches.

* :class:`QtLexiconPanel` lists every entry that applies in the project (user, project and speaker
  scopes) with the number of lines it matches; search, add, edit, remove, import and export PLS/CSV.
* :class:`QtPronunciationDialog` edits one entry (word, replacement, IPA, kind, scope, case, whole
  word) and can audition the replacement through the line's voice.
* :class:`QtLexiconTextDelegate` paints the script table's text column with lexicon matches underlined.
* :func:`install_script_lexicon` adds "Add pronunciation…" (the word under the mouse) to the script
  table's context menu.

Widgets only turn gestures into the core's named edits (:mod:`studio.core.lexicon_ops`) through the
document's undo stack. User-lexicon entries live in the data folder (not in the project's undo).

Thread contract: GUI thread only.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio import paths
from studio.core import lexicon_ops
from studio.core.lexicon import ENTRY_KINDS, LexiconError, find_matches, make_entry
from studio.core.lexicon_files import (
    LexiconFileError,
    read_file,
    save_user_lexicon,
    user_lexicon_path,
    write_file,
)
from studio.core.model import LexiconEntry
from studio.core.project import Change
from studio.core.speech_text import display_matches
from studio.ui.qt_document import QtDocument

USER_SCOPE = "user"
PROJECT_SCOPE = "project"
_WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")

# An audition sink: (speaker id, text to speak) -> None (speaks it in that speaker's voice).
Audition = Callable[[str, str], None]


def scope_key(entry: LexiconEntry, user: bool) -> str:
    return USER_SCOPE if user else (f"speaker:{entry.speaker_id}" if entry.speaker_id else PROJECT_SCOPE)


def set_user_lexicon(doc: QtDocument, entries: list[LexiconEntry]) -> None:
    """Save the user lexicon and mark this project's affected lines stale (not an undoable edit)."""
    project = doc.project
    new = tuple(entries)
    stale = lexicon_ops.user_lexicon_changed(project, new)
    save_user_lexicon(user_lexicon_path(paths.data_dir()), new)
    project.user_lexicon = new
    if stale.ops:
        project.apply(stale)
    doc.changed.emit(Change("lexicon", "user"))


def save_entry(
    doc: QtDocument, entry: LexiconEntry, scope: str, old: tuple[LexiconEntry, bool] | None
) -> bool:
    """Store ``entry`` in ``scope`` (project | user | speaker:ID), replacing ``old`` (entry, was user)."""
    speaker_id = scope.removeprefix("speaker:") if scope.startswith("speaker:") else ""
    entry = dataclasses.replace(entry, speaker_id=speaker_id)
    if scope == USER_SCOPE:
        users = [e for e in doc.project.user_lexicon if not (old and old[1] and e.id == old[0].id)]
        users = [e for e in users if e.grapheme.casefold() != entry.grapheme.casefold()]
        if old is not None and not old[1]:
            doc.edit(lexicon_ops.remove_entry(doc.project, old[0].id))
        set_user_lexicon(doc, [*users, entry])
        return True
    if old is not None and old[1]:  # moved out of the user lexicon
        set_user_lexicon(doc, [e for e in doc.project.user_lexicon if e.id != old[0].id])
        old = None
    if old is not None:
        fields = (
            "grapheme",
            "replacement",
            "phonemes",
            "kind",
            "speaker_id",
            "match_case",
            "whole_word",
            "note",
        )
        changes = {f: getattr(entry, f) for f in fields}
        return doc.edit(lexicon_ops.update_entry(doc.project, old[0].id, **changes))
    return doc.edit(lexicon_ops.import_entries(doc.project, [entry], "Add pronunciation"))


class QtPronunciationDialog(QDialog):
    """One entry: what is written, what is said, how it matches, and where it applies."""

    def __init__(
        self,
        doc: QtDocument,
        word: str = "",
        speaker_id: str = "",
        entry: tuple[LexiconEntry, bool] | None = None,
        audition: Audition | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("pronunciationDialog")
        self.setWindowTitle("Pronunciation")
        self.doc = doc
        self.old = entry
        self.audition = audition
        self.speaker_id = speaker_id
        current = entry[0] if entry else None
        self.word = QLineEdit(current.grapheme if current else word)
        self.replacement = QLineEdit(current.replacement if current else "")
        self.replacement.setPlaceholderText("respelling (Win) or alias (away from keyboard)")
        self.phonemes = QLineEdit(current.phonemes if current else "")
        self.phonemes.setPlaceholderText("IPA, for backends that take phonemes (Piper): təˈmɑːtoʊ")
        self.kind = QComboBox()
        self.kind.addItems(list(ENTRY_KINDS))
        self.kind.setCurrentText(current.kind if current else "alias")
        self.scope = QComboBox()
        self.scope.addItem("This project", PROJECT_SCOPE)
        for speaker in doc.project.speakers.values():
            self.scope.addItem(f"Only {speaker.name}", f"speaker:{speaker.id}")
        self.scope.addItem("All my projects (user lexicon)", USER_SCOPE)
        wanted = scope_key(current, entry[1]) if current and entry else PROJECT_SCOPE
        self.scope.setCurrentIndex(max(0, self.scope.findData(wanted)))
        self.match_case = QCheckBox("Match case")
        self.match_case.setChecked(bool(current and current.match_case))
        self.whole_word = QCheckBox("Whole words only")
        self.whole_word.setChecked(current.whole_word if current else True)
        self.note = QLineEdit(current.note if current else "")
        self.listen = QPushButton("Audition")
        self.listen.setToolTip("Hear the replacement in the line's voice")
        self.listen.setEnabled(audition is not None)
        self.listen.clicked.connect(self._audition)
        self.error = QLineEdit()
        self.error.setReadOnly(True)
        self.error.setFrame(False)
        self.error.setObjectName("dialogError")

        form = QFormLayout()
        form.addRow("Written", self.word)
        say = QHBoxLayout()
        say.addWidget(self.replacement, 1)
        say.addWidget(self.listen)
        form.addRow("Say", say)
        form.addRow("Phonemes", self.phonemes)
        form.addRow("Kind", self.kind)
        form.addRow("Applies to", self.scope)
        flags = QHBoxLayout()
        flags.addWidget(self.match_case)
        flags.addWidget(self.whole_word)
        flags.addStretch(1)
        form.addRow("", flags)
        form.addRow("Note", self.note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def entry(self) -> LexiconEntry:
        """The entry as typed (LexiconError says what is missing)."""
        kind, said, ipa = (
            self.kind.currentText(),
            self.replacement.text().strip(),
            self.phonemes.text().strip(),
        )
        if (kind == "phonemes" and not ipa) or (kind != "phonemes" and not said):
            kind = ""  # let the fields decide (phonemes only → phonemes, else alias)
        return make_entry(
            self.word.text(),
            said,
            ipa,
            kind=kind,
            match_case=self.match_case.isChecked(),
            whole_word=self.whole_word.isChecked(),
            note=self.note.text().strip(),
            entry_id=self.old[0].id if self.old else "",
        )

    def _audition(self) -> None:
        said = self.replacement.text().strip() or self.word.text().strip()
        if self.phonemes.text().strip():
            said = f"[[ {self.phonemes.text().strip()} ]]"
        if said and self.audition is not None:
            scope = str(self.scope.currentData())
            speaker = scope.removeprefix("speaker:") if scope.startswith("speaker:") else self.speaker_id
            self.audition(speaker, said)

    def accept(self) -> None:
        try:
            entry = self.entry()
        except LexiconError as exc:
            self.error.setText(str(exc))
            return
        try:
            saved = save_entry(self.doc, entry, str(self.scope.currentData()), self.old)
        except (LexiconFileError, OSError) as exc:
            self.error.setText(f"the user lexicon could not be saved: {exc}")
            return
        if saved:
            super().accept()


class QtLexiconPanel(QWidget):
    """Search, add, edit, remove, import and export pronunciation entries."""

    COLUMNS = ("Written", "Say", "Phonemes", "Kind", "Applies to", "Lines")
    message = Signal(str)

    def __init__(
        self, doc: QtDocument, audition: Audition | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("lexiconPanel")
        self.doc = doc
        self.audition = audition
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search words, replacements, phonemes")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.refresh)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("lexiconTable")
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(lambda _i: self.edit_selected())
        buttons = QHBoxLayout()
        for text, slot in (
            ("Add…", self.add),
            ("Edit…", self.edit_selected),
            ("Remove", self.remove_selected),
            ("Import…", self.import_file),
            ("Export…", self.export_file),
        ):
            button = QPushButton(text)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self._rows: list[tuple[LexiconEntry, bool]] = []
        doc.changed.connect(self._on_change)
        self.refresh()

    def _on_change(self, change: Change) -> None:
        if change.kind in ("lexicon", "speaker") or (change.kind == "line" and change.action != "update"):
            self.refresh()

    def entries(self) -> list[tuple[LexiconEntry, bool]]:
        """(entry, is a user entry) shown, filtered by the search text."""
        rows = [(e, True) for e in self.doc.project.user_lexicon] + [
            (e, False) for e in self.doc.project.lexicon.values()
        ]
        wanted = self.search.text().strip().casefold()
        if wanted:
            rows = [
                (e, u)
                for e, u in rows
                if wanted in e.grapheme.casefold()
                or wanted in e.replacement.casefold()
                or wanted in e.phonemes
            ]
        return sorted(rows, key=lambda eu: (eu[0].grapheme.casefold(), eu[0].speaker_id))

    def refresh(self) -> None:
        project = self.doc.project
        counts: dict[str, int] = {}
        for line in project.ordered_lines():
            for entry_id in {m.entry.id for m in find_matches(project, line.speaker_id, line.text)}:
                counts[entry_id] = counts.get(entry_id, 0) + 1
        self._rows = self.entries()
        self.table.setRowCount(len(self._rows))
        for row, (e, user) in enumerate(self._rows):
            if user:
                scope = "All my projects"
            elif e.speaker_id:
                speaker = project.speakers.get(e.speaker_id)
                scope = f"Only {speaker.name if speaker else e.speaker_id}"
            else:
                scope = "This project"
            values = (e.grapheme, e.replacement, e.phonemes, e.kind, scope, str(counts.get(e.id, 0)))
            for col, value in enumerate(values):
                self.table.setItem(row, col, QTableWidgetItem(value))

    def selected(self) -> tuple[LexiconEntry, bool] | None:
        row = self.table.currentRow()
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def add(self, word: str = "", speaker_id: str = "") -> bool:
        dialog = QtPronunciationDialog(self.doc, word, speaker_id, audition=self.audition, parent=self)
        return bool(dialog.exec())

    def edit_selected(self) -> bool:
        chosen = self.selected()
        if chosen is None:
            return False
        dialog = QtPronunciationDialog(self.doc, entry=chosen, audition=self.audition, parent=self)
        return bool(dialog.exec())

    def remove_selected(self) -> bool:
        chosen = self.selected()
        if chosen is None:
            return False
        entry, user = chosen
        if user:
            set_user_lexicon(self.doc, [e for e in self.doc.project.user_lexicon if e.id != entry.id])
            return True
        return self.doc.edit(lexicon_ops.remove_entry(self.doc.project, entry.id))

    def import_file(self, path: str = "") -> bool:
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Import lexicon", "", "Lexicons (*.pls *.xml *.csv)")
        if not path:
            return False

        def lookup(name: str) -> str | None:
            speaker = self.doc.project.speaker_by_name(name)
            return speaker.id if speaker is not None else None

        try:
            entries = read_file(path, lookup)
        except LexiconFileError as exc:
            self.message.emit(str(exc))
            self.doc.report_failure(str(exc))
            return False
        done = self.doc.edit(lexicon_ops.import_entries(self.doc.project, entries))
        if done:
            self.message.emit(f"Imported {len(entries)} entries from {Path(path).name}")
        return done

    def export_file(self, path: str = "") -> bool:
        if not path:
            path, _ = QFileDialog.getSaveFileName(
                self, "Export lexicon", "lexicon.pls", "PLS (*.pls);;CSV (*.csv)"
            )
        if not path:
            return False
        project = self.doc.project

        def name_of(speaker_id: str) -> str:
            speaker = project.speakers.get(speaker_id)
            return speaker.name if speaker else speaker_id

        try:
            write_file(list(project.lexicon.values()), path, name_of, project.settings.source_language)
        except (LexiconFileError, OSError) as exc:
            self.doc.report_failure(f"cannot export the lexicon: {exc}")
            return False
        self.message.emit(f"Exported {len(project.lexicon)} entries to {Path(path).name}")
        return True


class QtLexiconTextDelegate(QStyledItemDelegate):
    """The script table's text column: the text as usual, with lexicon matches underlined."""

    def __init__(self, doc: QtDocument, line_of: Callable[[int], str], view: QAbstractItemView) -> None:
        super().__init__(view)
        self.doc = doc
        self.line_of = line_of
        self.view = view
        doc.changed.connect(self._on_change)

    def _on_change(self, change: Change) -> None:
        if change.kind in ("lexicon", "speaker"):
            self.view.viewport().update()

    def matches(self, index: QModelIndex | QPersistentModelIndex) -> list[tuple[int, int]]:
        line = self.doc.project.lines.get(self.line_of(index.row()))
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        if line is None or not text:
            return []
        return [(m.start, m.end) for m in display_matches(self.doc.project, line.speaker_id, text)]

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        spans = self.matches(index)
        if not spans:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else self.view.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, opt.widget).adjusted(
            3, 0, -3, 0
        )
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.save()
        painter.setClipRect(rect)
        painter.setPen(opt.palette.color(role))
        plain = QFont(opt.font)
        underlined = QFont(opt.font)
        underlined.setUnderline(True)
        x = rect.left()
        at = 0
        pieces: list[tuple[str, bool]] = []
        for start, end in spans:
            pieces += [(text[at:start], False), (text[start:end], True)]
            at = end
        pieces.append((text[at:], False))
        for piece, marked in pieces:
            if not piece:
                continue
            font = underlined if marked else plain
            painter.setFont(font)
            metrics = QFontMetrics(font)
            painter.drawText(
                x,
                rect.top(),
                metrics.horizontalAdvance(piece) + 1,
                rect.height(),
                int(Qt.AlignmentFlag.AlignVCenter),
                piece,
            )
            x += metrics.horizontalAdvance(piece)
            if x > rect.right():
                break
        painter.restore()


def word_at(text: str, font: QFont, x: int) -> str:
    """The word of ``text`` drawn at ``x`` pixels from its start in ``font`` ("" = none)."""
    metrics = QFontMetrics(font)
    for m in _WORD_RE.finditer(text):
        left = metrics.horizontalAdvance(text[: m.start()])
        right = metrics.horizontalAdvance(text[: m.end()])
        if left <= x <= right:
            return m.group(0)
    return ""


def install_script_lexicon(panel: Any, doc: QtDocument, audition: Audition | None = None) -> QAction:
    """Underline lexicon matches in ``panel``'s text column; "Add pronunciation…" on the context menu."""
    from studio.ui.qt_script_panel import COL_TEXT

    view = panel.view
    delegate = QtLexiconTextDelegate(doc, panel.model.line_id, view)
    view.setItemDelegateForColumn(COL_TEXT, delegate)
    action = QAction("Add pronunciation…", panel)
    action.setToolTip("Say the word under the mouse (or the current line's first word) differently")
    state: dict[str, Any] = {"word": "", "line": ""}

    def open_dialog() -> None:
        line = doc.project.lines.get(state["line"]) if state["line"] else None
        word = state["word"]
        if line is None:
            line_id = panel.current_line_id()
            line = doc.project.lines.get(line_id) if line_id else None
            first = _WORD_RE.search(line.text) if line is not None else None
            word = word or (first.group(0) if first else "")
        existing = (
            lexicon_ops.find_entry(doc.project, word, line.speaker_id if line else "") if word else None
        )
        if existing is None and word:
            existing = lexicon_ops.find_entry(doc.project, word)
        QtPronunciationDialog(
            doc,
            word,
            line.speaker_id if line else "",
            (existing, False) if existing else None,
            audition,
            panel,
        ).exec()
        state.update(word="", line="")

    action.triggered.connect(open_dialog)

    def menu(pos: QPoint) -> None:
        index = view.indexAt(pos)
        state.update(word="", line="")
        if index.isValid():
            state["line"] = panel.model.line_id(index.row())
            if index.column() == COL_TEXT:
                rect = view.visualRect(index)
                text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
                state["word"] = word_at(text, view.font(), pos.x() - rect.left() - 3 - 4)
        popup = QMenu(view)
        popup.addAction(action)
        popup.exec(view.viewport().mapToGlobal(pos))

    view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    view.customContextMenuRequested.connect(menu)
    return action


def speaker_audition(doc: QtDocument, auditioner: Any) -> Audition:
    """An :data:`Audition` speaking text in a speaker's voice through a QtAuditioner (the voice bank's)."""

    def run(speaker_id: str, text: str) -> None:
        from studio.render.takes import generation_params, voice_spec
        from studio.ui.qt_voice_audition import AuditionRequest

        project = doc.project
        speaker = project.speakers.get(speaker_id)
        auditioner.set_backend(project.settings.backend, project.settings.backend_options_dict())
        spec = voice_spec(speaker, doc.media_dir)
        name = speaker.name if speaker else "the default voice"
        auditioner.audition(
            AuditionRequest(speaker_id, name, spec, text, generation_params(project, speaker))
        )

    return run
