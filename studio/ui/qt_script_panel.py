"""The Script panel: the project's lines as an editable table (id, speaker, text, direction, scene,
status badge, take picker), kept in step with the project by change announcements — a change to one
line repaints one row; no full reset per change.

Edits go through the document's undo stack (:meth:`QtDocument.edit`). Rows are reordered by drag and
drop (or Alt+Up/Down); script files dropped on the table are imported.

Thread contract: GUI thread only.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QByteArray,
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QKeySequence, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from studio.core import ops, workflow
from studio.core.model import LineStage, LineStatus, ScriptLine
from studio.core.project import Change
from studio.render.takes import line_recipe
from studio.ui import qt_theme
from studio.ui.qt_document import QtDocument

COLUMNS = ("ID", "Speaker", "Text", "Direction", "Scene", "Status", "Take", "Stage")
COL_ID, COL_SPEAKER, COL_TEXT, COL_DIRECTION, COL_SCENE, COL_STATUS, COL_TAKE = range(7)
COL_STAGE = 7  # draft → ready → rendered → approved → locked (studio.core.workflow)
NOT_TRANSLATED = "(not translated)"  # shown for a line without text in the table's target language
LINE_IDS_MIME = "application/x-chorus-line-ids"
SCRIPT_SUFFIXES = (".txt", ".csv", ".fountain", ".spmd", ".higgs", ".screenplay")
ROW_HEIGHT = 26
# Role giving the raw value an editor needs (speaker id, scene id, take key …).
ValueRole = Qt.ItemDataRole.UserRole + 1


_ROLES = frozenset(
    int(r)
    for r in (
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.EditRole,
        ValueRole,
        Qt.ItemDataRole.DecorationRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.ForegroundRole,
    )
)


def take_label(index: int, total: int) -> str:
    return f"{index + 1} of {total}"


class QtScriptModel(QAbstractTableModel):
    """A table over ``project.line_order``, updated row by row from the document's changes."""

    filesDropped = Signal(list)  # local paths of script files dropped on the table

    def __init__(self, doc: QtDocument, parent: Any = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self._ids: list[str] = list(doc.project.line_order)
        self._row_of: dict[str, int] | None = None
        self._progress: dict[str, float] = {}
        self.language = ""  # the language whose text and takes the table shows ("" = the source)
        self._status_cache: dict[str, tuple[ScriptLine, LineStatus]] = {}  # a target language's status
        self.patcher: Any = None  # renders patches of recorded lines (studio.ui.qt_recording_edit)
        doc.changed.connect(self._on_change)

    # ---- language ------------------------------------------------------------------------
    def set_language(self, code: str) -> None:
        """Show (and edit) the text and takes of ``code`` ("" or the source language = the source)."""
        code = "" if workflow.is_source(self.doc.project, code) else code
        if code == self.language:
            return
        self.beginResetModel()
        self.language = code
        self._status_cache.clear()
        self.endResetModel()

    def takes_shown(self, line: ScriptLine) -> list[str]:
        """The line's takes in the shown language, oldest first."""
        takes = self.doc.project.takes
        return (
            [k for k in line.takes if k in takes and takes[k].language == self.language]
            if self.language
            else [k for k in line.takes if k not in takes or not takes[k].language]
        )

    def _status(self, line: ScriptLine) -> LineStatus:
        """The source's render status, or in a target language whether its selected take is current."""
        if not self.language:
            return line.status
        cached = self._status_cache.get(line.id)
        if cached is not None and cached[0] is line:
            return cached[1]
        project = self.doc.project
        take = project.takes.get(workflow.selected_take_key(project, line, self.language))
        if take is None or take.recipe != line_recipe(project, line, self.language):
            status = LineStatus.STALE
        else:
            status = LineStatus.SUSPECT if take.suspect else LineStatus.DONE
        self._status_cache[line.id] = (line, status)
        return status

    # ---- rows ----------------------------------------------------------------------------
    def line_id(self, row: int) -> str:
        return self._ids[row]

    def row_of(self, line_id: str) -> int:
        if self._row_of is None:
            self._row_of = {line_id: i for i, line_id in enumerate(self._ids)}
        return self._row_of.get(line_id, -1)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    # ---- progress (not part of the project: rendering state of the engine) ----------------
    def set_progress(self, line_id: str, fraction: float | None) -> None:
        if fraction is None or fraction < 0:
            self._progress.pop(line_id, None)
        else:
            self._progress[line_id] = fraction
        row = self.row_of(line_id)
        if row >= 0:
            index = self.index(row, COL_STATUS)
            self.dataChanged.emit(index, index)

    def progress(self, line_id: str) -> float | None:
        return self._progress.get(line_id)

    # ---- data ----------------------------------------------------------------------------
    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role not in _ROLES or not index.isValid():  # the view asks ~10 roles per cell: most are not ours
            return None
        project = self.doc.project
        line = project.lines.get(self._ids[index.row()])
        if line is None:
            return None
        col = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if col == COL_ID:
                return line.id
            if col == COL_SPEAKER:
                speaker = project.speakers.get(line.speaker_id)
                return speaker.name if speaker else "—"
            if col == COL_TEXT:
                text = workflow.line_text(project, line, self.language)
                if not text and role == Qt.ItemDataRole.DisplayRole:
                    return NOT_TRANSLATED
                return text
            if col == COL_DIRECTION:
                return line.direction
            if col == COL_STAGE:
                return line.stage.value
            if col == COL_SCENE:
                scene = project.scenes.get(line.scene_id)
                return scene.title if scene else ""
            if col == COL_STATUS:
                return qt_theme.status_text(self._status(line), self._progress.get(line.id))
            if col == COL_TAKE:
                takes = self.takes_shown(line)
                selected = workflow.selected_take_key(project, line, self.language)
                if not takes:
                    return "—"
                if selected in takes:
                    return take_label(takes.index(selected), len(takes))
                return f"{len(takes)} takes"
        elif role == ValueRole:
            return {
                COL_SPEAKER: line.speaker_id,
                COL_SCENE: line.scene_id,
                COL_TAKE: workflow.selected_take_key(project, line, self.language),
                COL_STATUS: self._status(line),
                COL_TEXT: workflow.line_text(project, line, self.language),
                COL_DIRECTION: line.direction,
                COL_STAGE: line.stage.value,
            }.get(col, line.id)
        elif role == Qt.ItemDataRole.DecorationRole and col == COL_SPEAKER:
            speaker = project.speakers.get(line.speaker_id)
            return QColor(speaker.colour) if speaker else None
        elif role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_STATUS:
                return status_tip(project, line, self.language) or None
            if col == COL_TEXT and self.language:
                return f"{self.language}: {workflow.line_text(project, line, self.language) or '(not translated)'}\n{project.settings.source_language}: {line.text}"
            if col in (COL_TEXT, COL_DIRECTION):
                return line.text if col == COL_TEXT else line.direction or None
        elif role == Qt.ItemDataRole.ForegroundRole and col == COL_ID:
            return QColor(qt_theme.TEXT_DIM)
        elif role == Qt.ItemDataRole.ForegroundRole and col == COL_TEXT and self.language:
            return None if workflow.line_text(project, line, self.language) else QColor(qt_theme.TEXT_DIM)
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsDropEnabled
        if not index.isValid():
            return base
        flags = (
            base | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled
        )
        if index.column() in (COL_SPEAKER, COL_TEXT, COL_DIRECTION, COL_SCENE, COL_STAGE):
            flags |= Qt.ItemFlag.ItemIsEditable
        line = self.doc.project.lines.get(self._ids[index.row()])
        if index.column() == COL_TAKE and line is not None and len(self.takes_shown(line)) > 1:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def setData(
        self, index: QModelIndex | QPersistentModelIndex, value: Any, role: int = Qt.ItemDataRole.EditRole
    ) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        line = self.doc.project.lines.get(self._ids[index.row()])
        if line is None:
            return False
        col = index.column()
        if col == COL_TEXT and self.language:
            if str(value).strip() == workflow.line_text(self.doc.project, line, self.language):
                return False
            return self.doc.edit(
                workflow.set_translation(self.doc.project, line.id, self.language, str(value))
            )
        if col == COL_STAGE:
            if str(value) == line.stage.value or str(value) not in set(LineStage):
                return False
            import getpass

            return self.doc.edit(
                workflow.set_stage(self.doc.project, [line.id], str(value), who=getpass.getuser())
            )
        if col == COL_TEXT:
            text = str(value).strip()
            if text == line.text:
                return False
            if not text:  # say why, and the cell shows the line's text again
                self.doc.report_failure(ops.EMPTY_TEXT)
                return False
            if line.recording_id:  # a recorded line: the text edits the audio (cuts and patches)
                from studio.ui.qt_recording_edit import QtPatcher, edit_recorded_text

                if self.patcher is None:
                    self.patcher = QtPatcher(self.doc)
                return edit_recorded_text(self.doc, line, text, self.patcher)
            return self.doc.edit(ops.change_text(line.id, text))
        if col == COL_DIRECTION:
            if str(value) == line.direction:
                return False
            return self.doc.edit(ops.change_direction(line.id, str(value).strip()))
        if col == COL_SPEAKER:
            speaker_id = str(value)
            if speaker_id == line.speaker_id or speaker_id not in self.doc.project.speakers:
                return False
            return self.doc.edit(ops.assign_speaker(line.id, speaker_id))
        if col == COL_SCENE:
            scene_id = str(value)
            if scene_id == line.scene_id:
                return False
            return self.doc.edit(ops.change_scene(line.id, scene_id))
        if col == COL_TAKE and self.language:
            if str(value) not in self.takes_shown(line) or str(value) == workflow.selected_take_key(
                self.doc.project, line, self.language
            ):
                return False
            language_takes = workflow.with_language_take(line, self.language, str(value))
            from studio.core.layout import layout_ops

            with self.doc.macro("Select take"):  # the timeline follows when it speaks this language
                ok = self.doc.edit(ops.set_language_takes(line.id, language_takes))
                if ok:
                    self.doc.edit(layout_ops(self.doc.project))
            return ok
        if col == COL_TAKE:
            return select_take(self.doc, line.id, str(value))
        return False

    # ---- change propagation --------------------------------------------------------------
    def _on_change(self, change: Change) -> None:
        if change.kind == "line":
            if change.action == "insert":
                at = self.doc.project.line_order.index(change.id)
                self.beginInsertRows(QModelIndex(), at, at)
                self._ids.insert(at, change.id)
                self._row_of = None
                self.endInsertRows()
            elif change.action == "delete":
                row = self.row_of(change.id)
                if row >= 0:
                    self.beginRemoveRows(QModelIndex(), row, row)
                    self._ids.pop(row)
                    self._row_of = None
                    self.endRemoveRows()
                self._progress.pop(change.id, None)
            else:
                row = self.row_of(change.id)
                if row >= 0:
                    self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        elif change.kind == "order":
            old, new = int(change.old), int(change.new)
            dest = new + 1 if new > old else new  # Qt's destination is "before this row" in the old order
            if self.beginMoveRows(QModelIndex(), old, old, QModelIndex(), dest):
                self._ids.insert(new, self._ids.pop(old))
                self._row_of = None
                self.endMoveRows()
            else:  # a no-op move in Qt's terms: just resync
                self._ids = list(self.doc.project.line_order)
                self._row_of = None
        elif change.kind == "settings":
            self._status_cache.clear()
        elif change.kind in ("speaker", "scene"):
            self._status_cache.clear()
            column = COL_SPEAKER if change.kind == "speaker" else COL_SCENE
            if self._ids:
                self.dataChanged.emit(self.index(0, column), self.index(len(self._ids) - 1, column))

    # ---- drag and drop -------------------------------------------------------------------
    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction | Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:
        # Copy, so the view never calls removeRows after a drop: dropMimeData moves the lines itself.
        return Qt.DropAction.CopyAction

    def mimeTypes(self) -> list[str]:
        return [LINE_IDS_MIME, "text/uri-list"]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # type: ignore[override]
        rows = sorted({i.row() for i in indexes if i.isValid()})
        mime = QMimeData()
        mime.setData(LINE_IDS_MIME, QByteArray("\n".join(self._ids[r] for r in rows).encode()))
        return mime

    def canDropMimeData(
        self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: Any
    ) -> bool:
        return data.hasFormat(LINE_IDS_MIME) or bool(script_files(data))

    def dropMimeData(
        self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: Any
    ) -> bool:
        if action == Qt.DropAction.IgnoreAction:
            return True
        files = script_files(data)
        if files:
            self.filesDropped.emit(files)
            return True
        if not data.hasFormat(LINE_IDS_MIME):
            return False
        ids = [
            i
            for i in bytes(data.data(LINE_IDS_MIME).data()).decode().split("\n")
            if i in self.doc.project.lines
        ]
        if not ids:
            return False
        if row < 0:
            row = parent.row() if parent is not None and parent.isValid() else len(self._ids)
        return move_lines(self.doc, ids, row)


def script_files(data: QMimeData) -> list[str]:
    if not data.hasUrls():
        return []
    return [
        url.toLocalFile()
        for url in data.urls()
        if url.isLocalFile() and url.toLocalFile().lower().endswith(SCRIPT_SUFFIXES)
    ]


# ---- edits with several steps ------------------------------------------------------------------


def move_lines(doc: QtDocument, line_ids: list[str], before_row: int) -> bool:
    """Move ``line_ids`` (kept in their script order) to sit before ``before_row`` — one undo step."""
    order = doc.project.line_order
    moving = [i for i in order if i in set(line_ids)]
    rest = [i for i in order if i not in set(line_ids)]
    anchor = order[before_row] if 0 <= before_row < len(order) else None
    while anchor is not None and anchor in set(line_ids):
        nxt = order.index(anchor) + 1
        anchor = order[nxt] if nxt < len(order) else None
    at = rest.index(anchor) if anchor is not None else len(rest)
    target = rest[:at] + moving + rest[at:]
    if target == order:
        return False
    edits: list[ops.Op] = []
    simulated = list(order)
    for new_index, line_id in enumerate(target):
        if simulated[new_index] != line_id:
            simulated.remove(line_id)
            simulated.insert(new_index, line_id)
            edits.append(ops.move_line(line_id, new_index))
    label = "Move line" if len(moving) == 1 else f"Move {len(moving)} lines"
    return doc.edit(ops.Batch(tuple(edits), label))


def status_tip(project: Any, line: ScriptLine, language: str = "") -> str:
    """The status badge's tooltip: the check's verdict and reasons, and for a checked take whose
    words differ, the script and the transcript with the differing words marked (HTML)."""
    from studio.qa.check import rejudge
    from studio.qa.diff import diff_html, diff_text

    key = workflow.selected_take_key(project, line, language)
    scores = rejudge(project, key) if key in project.takes else None
    if scores is None:
        return line.status_detail
    head = html.escape(scores.summary if scores.suspect else line.status_detail or scores.summary)
    if scores.words_checked and diff_text(scores.expected, scores.transcript).differs:
        return f"<p>{head}</p>{diff_html(scores.expected, scores.transcript)}"
    return head


def select_take(doc: QtDocument, line_id: str, key: str) -> bool:
    """Pick a take from a line's history; its clip on the timeline follows (one undo step)."""
    project = doc.project
    line = project.lines[line_id]
    take = project.takes.get(key)
    if take is None or key == line.selected_take:
        return False
    current = take.recipe == line_recipe(project, line)
    from studio.qa.check import rejudge

    scores = rejudge(project, key)  # the take check's verdict when it was checked, else the engine's flag
    suspect = scores.suspect if scores is not None else take.suspect
    detail = "; ".join(scores.reasons) if scores is not None else take.note
    status = (LineStatus.SUSPECT if suspect else LineStatus.DONE) if current else LineStatus.STALE
    from studio.core.layout import layout_ops

    with doc.macro("Select take"):
        ok = doc.edit(ops.select_take(line_id, key, status, detail))
        if ok:
            doc.edit(layout_ops(project))
    return ok


def remove_lines(doc: QtDocument, line_ids: list[str]) -> bool:
    batches = [ops.remove_line(doc.project, i) for i in line_ids if i in doc.project.lines]
    if not batches:
        return False
    label = "Remove line" if len(batches) == 1 else f"Remove {len(batches)} lines"
    return doc.edit(ops.Batch(tuple(batches), label))


def add_line_after(doc: QtDocument, after: str | None, text: str = "New line") -> str:
    """Add a line after ``after`` (same speaker and scene) or at the end; returns its id."""
    project = doc.project
    ref = project.lines.get(after) if after else None
    if ref is None and project.line_order:
        ref = project.lines[project.line_order[-1]]
    speaker = ref.speaker_id if ref else next(iter(project.speakers), "")
    scene = ref.scene_id if ref else ""
    index = project.line_index(ref.id) + 1 if ref and after else None
    from studio.core.script_formats import new_line_id

    line = ScriptLine(new_line_id(project.lines), speaker, text, scene_id=scene)
    doc.edit(ops.add_line(line, index))
    return line.id


# ---- delegates ---------------------------------------------------------------------------------


class QtStatusBadgeDelegate(QStyledItemDelegate):
    """Paints the status as a coloured pill (with the render progress as a fill)."""

    def __init__(self, model: QtScriptModel, parent: Any = None) -> None:
        super().__init__(parent)
        self._model = model

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        try:
            status = LineStatus(index.data(ValueRole))  # enums cross Qt as plain strings
        except ValueError:
            super().paint(painter, option, index)
            return
        painter.save()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        bg, fg = qt_theme.STATUS_COLOURS[status]
        text = str(index.data(Qt.ItemDataRole.DisplayRole))
        metrics = option.fontMetrics
        width = min(option.rect.width() - 8, metrics.horizontalAdvance(text) + 16)
        height = min(option.rect.height() - 6, metrics.height() + 4)
        rect = QRectF(option.rect.x() + 4, option.rect.center().y() - height / 2 + 0.5, width, height)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(bg))
        painter.drawRoundedRect(rect, height / 2, height / 2)
        fraction = self._model.progress(self._model.line_id(index.row()))
        if status == LineStatus.RENDERING and fraction:
            fill = QRectF(rect)
            fill.setWidth(rect.width() * max(0.0, min(1.0, fraction)))
            painter.setBrush(QColor(qt_theme.ACCENT))
            painter.setClipRect(fill)
            painter.drawRoundedRect(rect, height / 2, height / 2)
            painter.setClipping(False)
        painter.setPen(QPen(QColor(fg)))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(option.fontMetrics.horizontalAdvance("rendering 100 %") + 24, ROW_HEIGHT)


class QtChoiceDelegate(QStyledItemDelegate):
    """A combo box editor; ``choices(index)`` gives (label, value, colour-or-None) items."""

    def __init__(
        self,
        choices: Callable[[QModelIndex | QPersistentModelIndex], list[tuple[str, str, str | None]]],
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self._choices = choices

    def createEditor(
        self, parent: QWidget, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QWidget:
        combo = QComboBox(parent)
        for label, value, colour in self._choices(index):
            if colour:
                combo.addItem(_swatch(colour), label, value)
            else:
                combo.addItem(label, value)
        combo.activated.connect(lambda _i, c=combo: self.commitData.emit(c))
        return combo

    def setEditorData(self, editor: QWidget, index: QModelIndex | QPersistentModelIndex) -> None:
        assert isinstance(editor, QComboBox)
        at = editor.findData(index.data(ValueRole))
        editor.setCurrentIndex(max(0, at))

    def setModelData(self, editor: QWidget, model: Any, index: QModelIndex | QPersistentModelIndex) -> None:
        assert isinstance(editor, QComboBox)
        value = editor.currentData()
        if value is not None and value != index.data(ValueRole):
            model.setData(index, value, Qt.ItemDataRole.EditRole)


def _swatch(colour: str) -> Any:
    from PySide6.QtGui import QIcon, QPixmap

    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


# ---- the panel ---------------------------------------------------------------------------------


ID_COLUMN_MIN, ID_COLUMN_MAX = 60, 220  # px
TEXT_COLUMN_MIN = 240  # px


class QtScriptPanel(QWidget):
    """Toolbar + table. ``import_files`` is called with paths of script files dropped on the table."""

    def __init__(
        self, doc: QtDocument, import_files: Callable[[list[str]], object] | None = None, parent: Any = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("scriptPanel")
        self.doc = doc
        self.model = QtScriptModel(doc, self)
        self.view = QTableView(self)
        self.view.setObjectName("scriptTable")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setShowGrid(False)
        self.view.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed  # F2; typing never overwrites a line
        )
        self.view.setDragEnabled(True)
        self.view.setAcceptDrops(True)
        self.view.setDropIndicatorShown(True)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.view.setDefaultDropAction(Qt.DropAction.CopyAction)
        vheader = self.view.verticalHeader()
        vheader.setVisible(False)
        vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vheader.setDefaultSectionSize(ROW_HEIGHT)
        header = self.view.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # The text column takes the room the others leave, but never less than TEXT_COLUMN_MIN: in a
        # narrow dock the table scrolls sideways instead of showing "Welcome t…" (see _fit_text_column).
        widths = (
            (COL_ID, 80),
            (COL_SPEAKER, 90),
            (COL_DIRECTION, 84),
            (COL_SCENE, 104),
            (COL_STATUS, 100),
            (COL_TAKE, 56),
            (COL_STAGE, 80),
        )
        for col, width in widths:
            self.view.setColumnWidth(col, width)
        self.view.setItemDelegateForColumn(COL_STATUS, QtStatusBadgeDelegate(self.model, self.view))
        self.view.setItemDelegateForColumn(COL_SPEAKER, QtChoiceDelegate(self._speaker_choices, self.view))
        self.view.setItemDelegateForColumn(COL_SCENE, QtChoiceDelegate(self._scene_choices, self.view))
        self.view.setItemDelegateForColumn(COL_TAKE, QtChoiceDelegate(self._take_choices, self.view))
        self.view.setItemDelegateForColumn(
            COL_STAGE, QtChoiceDelegate(lambda _i: [(s.value, s.value, None) for s in LineStage], self.view)
        )

        self.toolbar = QToolBar(self)
        self.toolbar.setIconSize(QSize(16, 16))
        self.action_add = self._action(
            "Add line", "Add a line after the current one (Ctrl+Enter)", self.add_line, "Ctrl+Return"
        )
        self.action_remove = self._action("Remove", "Remove the selected lines", self.remove_selected)
        self.action_up = self._action(
            "Move up", "Move the selected lines up (Alt+Up)", lambda: self.move_selected(-1), "Alt+Up"
        )
        self.action_down = self._action(
            "Move down", "Move the selected lines down (Alt+Down)", lambda: self.move_selected(1), "Alt+Down"
        )
        for action in (self.action_add, self.action_remove, self.action_up, self.action_down):
            self.toolbar.addAction(action)
        self.toolbar.addSeparator()
        from studio.ui.qt_script_languages import QtScriptLanguageBar

        self.language_bar = QtScriptLanguageBar(doc, self.model, self.view, self)  # a row of its own

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        from studio.ui.qt_script_find import QtScriptFindBar, QtScriptSorter

        self.find_bar = QtScriptFindBar(doc, self.model, self.view, self.language_bar.apply_filter, self)
        self.language_bar.row_filters.append(self.find_bar.matches)
        self.sorter = QtScriptSorter(self.model, self.view)
        self.model.modelReset.connect(self.fit_id_column)
        self.view.viewport().installEventFilter(self)
        header.sectionResized.connect(self._section_resized)
        self.model.rowsInserted.connect(lambda *_: self.fit_id_column())
        self.fit_id_column()
        layout.addWidget(self.language_bar)
        layout.addWidget(self.find_bar)
        layout.addWidget(self.view)

        self._syncing = False
        self.view.selectionModel().selectionChanged.connect(self._table_selection_changed)
        doc.selectionChanged.connect(self._doc_selection_changed)
        if import_files is not None:
            self.model.filesDropped.connect(import_files)

    def _action(self, text: str, tip: str, slot: Callable[[], Any], shortcut: str = "") -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)
        return action

    # ---- choices for the editors ---------------------------------------------------------
    def _speaker_choices(
        self, index: QModelIndex | QPersistentModelIndex
    ) -> list[tuple[str, str, str | None]]:
        return [(s.name, s.id, s.colour) for s in self.doc.project.speakers.values()]

    def _scene_choices(self, index: QModelIndex | QPersistentModelIndex) -> list[tuple[str, str, str | None]]:
        choices: list[tuple[str, str, str | None]] = [("(no scene)", "", None)]
        return choices + [(s.title, s.id, None) for s in self.doc.project.scenes.values()]

    def _take_choices(self, index: QModelIndex | QPersistentModelIndex) -> list[tuple[str, str, str | None]]:
        project = self.doc.project
        line = project.lines.get(self.model.line_id(index.row()))
        if line is None:
            return []
        out: list[tuple[str, str, str | None]] = []
        takes = self.model.takes_shown(line)  # the shown language's
        for i, key in enumerate(takes):
            take = project.takes.get(key)
            detail = f" · {take.duration:.1f} s · seed {take.seed}" if take else " · missing"
            out.append((f"take {take_label(i, len(takes))}{detail}", key, None))
        return out

    # ---- actions -------------------------------------------------------------------------
    def eventFilter(self, watched: Any, event: Any) -> bool:
        if event.type() == QEvent.Type.Resize and watched is self.view.viewport():
            self._fit_text_column()
        return False

    def _section_resized(self, section: int, *_: Any) -> None:
        if section != COL_TEXT:
            self._fit_text_column()

    def _fit_text_column(self) -> None:
        header = self.view.horizontalHeader()
        others = sum(header.sectionSize(c) for c in range(len(COLUMNS)) if c != COL_TEXT and not header.isSectionHidden(c))
        width = max(TEXT_COLUMN_MIN, self.view.viewport().width() - others)
        if header.sectionSize(COL_TEXT) != width:
            header.resizeSection(COL_TEXT, width)

    def fit_id_column(self) -> None:
        """The ID column as wide as the longest id (within bounds): "TAVERN_0…" is no id at all."""
        ids = [self.model.line_id(r) for r in range(self.model.rowCount())]
        if not ids:
            return
        metrics = self.view.fontMetrics()
        longest = max(metrics.horizontalAdvance(i) for i in ids[:5000])
        width = max(ID_COLUMN_MIN, min(ID_COLUMN_MAX, longest + 24))
        if width > self.view.columnWidth(COL_ID):
            self.view.setColumnWidth(COL_ID, width)

    def selected_line_ids(self) -> list[str]:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        return [self.model.line_id(r) for r in rows]

    def current_line_id(self) -> str | None:
        index = self.view.currentIndex()
        return self.model.line_id(index.row()) if index.isValid() else None

    def add_line(self) -> str:
        selected = self.selected_line_ids()
        after = selected[-1] if selected else self.current_line_id()
        line_id = add_line_after(self.doc, after)
        row = self.model.row_of(line_id)
        if row >= 0:
            index = self.model.index(row, COL_TEXT)
            self.view.setCurrentIndex(index)
            self.view.edit(index)
        return line_id

    def remove_selected(self) -> bool:
        return remove_lines(self.doc, self.selected_line_ids())

    def move_selected(self, step: int) -> bool:
        ids = self.selected_line_ids()
        if not ids:
            return False
        rows = [self.model.row_of(i) for i in ids]
        target = min(rows) - 1 if step < 0 else max(rows) + 2
        if target < 0 or target > self.model.rowCount():
            return False
        moved = move_lines(self.doc, ids, target)
        if moved:
            self._select_rows([self.model.row_of(i) for i in ids])
        return moved

    # ---- selection sync ------------------------------------------------------------------
    def _table_selection_changed(self, *_: Any) -> None:
        if self._syncing:
            return
        with self._guard():
            self.doc.select(lines=self.selected_line_ids())

    def _doc_selection_changed(self) -> None:
        if self._syncing:
            return
        wanted = list(self.doc.selected_lines)
        if wanted == self.selected_line_ids():
            return
        with self._guard():
            self._select_rows([self.model.row_of(i) for i in wanted])

    def _select_rows(self, rows: list[int]) -> None:
        selection = QItemSelection()
        last = self.model.columnCount() - 1
        for row in rows:
            if row >= 0:
                selection.select(self.model.index(row, 0), self.model.index(row, last))
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.view.selectionModel().select(selection, flags)
        valid = [r for r in rows if r >= 0]
        if valid:
            index = self.model.index(valid[0], COL_TEXT)
            self.view.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
            self.view.scrollTo(index)

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        self._syncing = True
        try:
            yield
        finally:
            self._syncing = False
