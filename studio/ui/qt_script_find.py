"""The Script panel's find/filter bar (Ctrl+F: text or id, speaker, status, scene) and its sortable
columns. Sorting only changes the order the table shows (the view's row order, never the script's);
a third click on a header returns to script order. Filtering is one more row rule combined with the
stage filter (see ``QtScriptLanguageBar.row_filters``): one rule decides whether a row is shown.

Thread contract: GUI thread only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QTableView, QToolButton, QWidget

from studio.core.model import LineStatus
from studio.ui.qt_document import QtDocument

ANY = ""


class QtScriptFindBar(QWidget):
    """Hidden until Ctrl+F; Esc clears and hides it. ``matches(row)`` is its row rule."""

    def __init__(self, doc: QtDocument, model: Any, view: QTableView, refilter: Any, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("scriptFindBar")
        self.doc = doc
        self.model = model
        self.view = view
        self._refilter = refilter
        self.text = QLineEdit(self)
        self.text.setObjectName("scriptFindText")
        self.text.setPlaceholderText("Find text or line id…")
        self.text.setClearButtonEnabled(True)
        self.speaker = QComboBox(self)
        self.status = QComboBox(self)
        self.scene = QComboBox(self)
        for combo, tip in (
            (self.speaker, "Only this speaker's lines"),
            (self.status, "Only lines with this status"),
            (self.scene, "Only this scene's lines"),
        ):
            combo.setToolTip(tip)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        close = QToolButton(self)
        close.setText("✕")
        close.setToolTip("Close the find bar and show every line (Esc)")
        close.clicked.connect(self.close_bar)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.setSpacing(6)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.speaker)
        layout.addWidget(self.status)
        layout.addWidget(self.scene)
        layout.addWidget(close)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(120)
        self._timer.timeout.connect(self._refilter)
        self.text.textChanged.connect(lambda _t: self._timer.start())
        for combo in (self.speaker, self.status, self.scene):
            combo.activated.connect(lambda _i: self._refilter())
        self.find_action = QAction("Find", parent)
        self.find_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Find))
        self.find_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.find_action.triggered.connect(self.open_bar)
        parent.addAction(self.find_action)
        escape = QAction(self)
        escape.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        escape.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        escape.triggered.connect(self.close_bar)
        self.addAction(escape)
        self.hide()

    def _fill(self) -> None:
        project = self.doc.project
        choices = (
            (self.speaker, "Any speaker", [(s.name, s.id) for s in project.speakers.values()]),
            (self.status, "Any status", [(s.value, s.value) for s in LineStatus]),
            (self.scene, "Any scene", [(s.title or s.id, s.id) for s in project.scenes.values()]),
        )
        for combo, any_label, items in choices:
            wanted = combo.currentData() or ANY
            combo.clear()
            combo.addItem(any_label, ANY)
            for label, value in items:
                combo.addItem(label, value)
            combo.setCurrentIndex(max(0, combo.findData(wanted)))

    def open_bar(self) -> None:
        self._fill()
        self.show()
        self.text.setFocus()
        self.text.selectAll()

    def close_bar(self) -> None:
        self.text.clear()
        for combo in (self.speaker, self.status, self.scene):
            combo.setCurrentIndex(0)
        self.hide()
        self._refilter()
        self.view.setFocus()

    def active(self) -> bool:
        return not self.isHidden() and bool(
            self.text.text().strip() or any(c.currentData() for c in (self.speaker, self.status, self.scene))
        )

    def matches(self, row: int) -> bool:
        """Whether the row passes the find bar (every row does while the bar is closed or empty)."""
        if not self.active():
            return True
        from studio.ui.qt_script_panel import COL_ID, COL_SCENE, COL_SPEAKER, COL_STATUS, COL_TEXT, ValueRole

        def value(col: int, role: int = ValueRole) -> str:
            return str(self.model.data(self.model.index(row, col), role) or "")

        needle = self.text.text().strip().casefold()
        if needle and needle not in value(COL_TEXT).casefold() and needle not in value(COL_ID).casefold():
            return False
        for combo, col in ((self.speaker, COL_SPEAKER), (self.status, COL_STATUS), (self.scene, COL_SCENE)):
            wanted = combo.currentData()
            if wanted and value(col) != str(wanted):
                return False
        return True


class QtScriptSorter:
    """Header clicks sort the table's rows for viewing: ascending, descending, then script order."""

    def __init__(self, model: Any, view: QTableView) -> None:
        self.model = model
        self.view = view
        self.column = -1
        self.order = Qt.SortOrder.AscendingOrder
        header = view.horizontalHeader()
        header.setSectionsClickable(True)
        header.sectionClicked.connect(self.clicked)
        self._timer = QTimer(view)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.apply)
        model.modelReset.connect(self._timer.start)
        model.rowsInserted.connect(lambda *_: self._timer.start())
        model.rowsRemoved.connect(lambda *_: self._timer.start())
        model.rowsMoved.connect(lambda *_: self._timer.start())
        model.dataChanged.connect(self._data_changed)

    def clicked(self, column: int) -> None:
        if column != self.column:
            self.sort(column, Qt.SortOrder.AscendingOrder)
        elif self.order == Qt.SortOrder.AscendingOrder:
            self.sort(column, Qt.SortOrder.DescendingOrder)
        else:
            self.sort(-1)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.column, self.order = column, order
        header = self.view.horizontalHeader()
        header.setSortIndicatorShown(column >= 0)
        if column >= 0:
            header.setSortIndicator(column, order)
        self.apply()

    def _data_changed(self, top: QModelIndex, bottom: QModelIndex, *_: Any) -> None:
        if self.column >= 0 and top.column() <= self.column <= bottom.column():
            self._timer.start()

    def apply(self) -> None:
        """Lay the view's rows out in the chosen order (the model's rows, the script, stay as they are)."""
        rows = self.model.rowCount()
        vheader = self.view.verticalHeader()
        if self.column < 0:
            order = list(range(rows))
        else:
            def key(row: int) -> tuple[int, Any]:
                text = self.model.data(self.model.index(row, self.column), Qt.ItemDataRole.DisplayRole)
                return (0, str(text or "").casefold())

            order = sorted(range(rows), key=key, reverse=self.order == Qt.SortOrder.DescendingOrder)
        for visual, logical in enumerate(order):
            at = vheader.visualIndex(logical)
            if at != visual:
                vheader.moveSection(at, visual)

    def shown_order(self) -> list[int]:
        """The model rows in the order the table shows them."""
        vheader = self.view.verticalHeader()
        return [vheader.logicalIndex(v) for v in range(self.model.rowCount())]
