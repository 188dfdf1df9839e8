"""The Render queue panel: engine status, the jobs with progress bars, and the render actions
(render stale lines, render selection, new take, retry failed, stop, cancel), plus the project's
backend settings.

Thread contract: GUI thread only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QRect, Qt, QTimer
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from studio.core.model import LineStatus
from studio.core.project import Change
from studio.ui import qt_theme
from studio.ui.qt_document import QtDocument
from studio.ui.qt_render_controller import QtRenderController

OVERALL_MS = 150
JOB_COLUMNS = ("Line", "Who", "State", "Progress", "Detail")
COL_LINE, COL_SPEAKER, COL_STATE, COL_PROGRESS, COL_DETAIL = range(len(JOB_COLUMNS))
STATE_COLOURS = {
    "queued": qt_theme.STATUS_COLOURS[LineStatus.QUEUED][1],
    "rendering": "#ffffff",
    "done": "#8fe3a8",
    "failed": "#ff8a80",
    "cancelled": qt_theme.TEXT_DIM,
}


class QtRenderJobsModel(QAbstractTableModel):
    def __init__(self, controller: QtRenderController, parent: Any = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._rows: list[str] = []
        self._row_of: dict[str, int] = {}
        controller.jobsChanged.connect(self._jobs_added)
        controller.jobChanged.connect(self._job_changed)

    def job_id(self, row: int) -> str:
        return self._rows[row]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(JOB_COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return JOB_COLUMNS[section]
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        job = self.controller.job(self._rows[index.row()])
        if job is None:
            return None
        col = index.column()
        project = self.controller.doc.project
        line = project.lines.get(job.planned.line_id)
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_LINE:
                return job.planned.line_id
            if col == COL_SPEAKER:
                speaker = project.speakers.get(line.speaker_id) if line else None
                return speaker.name if speaker else ""
            if col == COL_STATE:
                return job.state
            if col == COL_PROGRESS:
                return job.fraction
            if col == COL_DETAIL:
                if job.state == "failed":
                    return job.reason
                if job.state == "done":
                    return f"{job.duration:.1f} s"
                return line.text if line else ""
        if role == Qt.ItemDataRole.ForegroundRole and col == COL_STATE:
            return QColor(STATE_COLOURS.get(job.state, qt_theme.TEXT))
        if role == Qt.ItemDataRole.ToolTipRole and col == COL_DETAIL:
            return job.reason or (line.text if line else None)
        return None

    def _jobs_added(self) -> None:
        new = [j for j in self.controller.job_order if j not in self._row_of]
        if not new:
            return
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(new) - 1)
        for job_id in new:
            self._row_of[job_id] = len(self._rows)
            self._rows.append(job_id)
        self.endInsertRows()

    def _job_changed(self, job_id: str) -> None:
        row = self._row_of.get(job_id, -1)
        if row >= 0:
            self.dataChanged.emit(self.index(row, COL_STATE), self.index(row, COL_DETAIL))

    def clear_finished(self) -> None:
        keep = [
            j
            for j in self._rows
            if (job := self.controller.job(j)) is not None and job.state in ("queued", "rendering")
        ]
        self.beginResetModel()
        self._rows = keep
        self._row_of = {j: i for i, j in enumerate(keep)}
        self.endResetModel()


class QtProgressDelegate(QStyledItemDelegate):
    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        value = index.data(Qt.ItemDataRole.DisplayRole)
        if not isinstance(value, float):
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        rect = QRect(option.rect)
        bar.rect = rect.adjusted(3, 4, -3, -4)
        bar.minimum = 0
        bar.maximum = 100
        bar.progress = int(value * 100)
        bar.text = f"{int(value * 100)} %"
        bar.textVisible = True
        bar.state = QStyle.StateFlag.State_Enabled
        style = option.widget.style() if option.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)


class QtRenderQueuePanel(QWidget):
    def __init__(
        self, doc: QtDocument, controller: QtRenderController, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("renderQueue")
        self.doc = doc
        self.controller = controller
        self.engine = QLabel(controller.engine_text)
        self.engine.setObjectName("engineStatus")
        self.engine.setWordWrap(True)
        self.backend = QLabel()
        self.settings_button = QPushButton("Backend…")
        self.settings_button.setToolTip("Choose the render backend for this project and its parameters")
        self.overall = QProgressBar()
        self.overall.setRange(0, 1000)
        self.overall.setFormat("idle")
        self.model = QtRenderJobsModel(controller, self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(24)
        self.view.setShowGrid(False)
        self.view.setItemDelegateForColumn(COL_PROGRESS, QtProgressDelegate(self.view))
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(COL_DETAIL, QHeaderView.ResizeMode.Stretch)
        for col, width in ((COL_LINE, 84), (COL_SPEAKER, 56), (COL_STATE, 70), (COL_PROGRESS, 76)):
            self.view.setColumnWidth(col, width)

        self.render_stale = QPushButton("Render stale lines")
        self.render_stale.setToolTip("Render every line without a current take (Ctrl+Shift+R)")
        self.render_selection = QPushButton("Render selection")
        self.render_selection.setToolTip("Render the selected lines (Ctrl+R)")
        self.new_take = QPushButton("New take")
        self.new_take.setToolTip(
            "Render another take of the selected lines (a new seed); the current one stays selected"
        )
        self.retry = QPushButton("Retry failed")
        self.stop = QPushButton("Stop")
        self.stop.setToolTip("Finish the line rendering now and drop the rest of the queue")
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Cancel the selected jobs (all if none is selected)")
        self.clear = QPushButton("Clear finished")

        row1 = QHBoxLayout()
        row1.addWidget(self.backend, 1)
        row1.addWidget(self.settings_button)
        row2 = QHBoxLayout()
        for b in (self.render_stale, self.render_selection, self.new_take):
            row2.addWidget(b)
        row2.addStretch(1)
        row3 = QHBoxLayout()
        for b in (self.retry, self.stop, self.cancel, self.clear):
            row3.addWidget(b)
        row3.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(row1)
        layout.addWidget(self.engine)
        layout.addLayout(row2)
        layout.addWidget(self.overall)
        layout.addWidget(self.view, 1)
        layout.addLayout(row3)

        self.render_stale.clicked.connect(controller.render_stale)
        self.render_selection.clicked.connect(controller.render_selection)
        self.new_take.clicked.connect(controller.new_take)
        self.retry.clicked.connect(controller.retry_failed)
        self.stop.clicked.connect(controller.stop)
        self.cancel.clicked.connect(self._cancel)
        self.clear.clicked.connect(self.model.clear_finished)
        controller.engineChanged.connect(self.engine.setText)
        self._overall_timer = QTimer(self)  # the summary repaints at most every OVERALL_MS
        self._overall_timer.setSingleShot(True)
        self._overall_timer.setInterval(OVERALL_MS)
        self._overall_timer.timeout.connect(self._update_overall)
        controller.jobChanged.connect(self._schedule_overall)
        controller.jobsChanged.connect(self._schedule_overall)
        doc.changed.connect(self._on_doc_change)  # bound: disconnected when the panel is destroyed
        self._show_backend()
        self._update_overall()

    def _on_doc_change(self, change: Change) -> None:
        if change.kind == "settings":
            self._show_backend()

    def _show_backend(self) -> None:
        settings = self.doc.project.settings
        names = {
            "piper": "Piper (CPU)",
            "higgs": "Higgs Audio v2 (local GPU)",
            "openai": "Remote speech servers",
        }
        self.backend.setText(f"Backend: <b>{names.get(settings.backend, settings.backend)}</b>")

    def _cancel(self) -> None:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        ids = [self.model.job_id(r) for r in rows]
        self.controller.cancel(ids or None)

    def _schedule_overall(self, *_: Any) -> None:
        if not self._overall_timer.isActive():
            self._overall_timer.start()

    def _update_overall(self, *_: Any) -> None:
        # The current run, one per line (a retried line counts once), as its rows show it.
        done, failed, left, fraction = self.controller.run_summary()
        if not left:
            any_jobs = bool(self.controller.run_jobs)
            self.overall.setValue(1000 if any_jobs else 0)
            self.overall.setFormat(f"{done} done, {failed} failed" if any_jobs else "idle")
            return
        self.overall.setValue(int(fraction * 1000))
        self.overall.setFormat(f"{left} line(s) left · {fraction * 100:.0f} %")
