"""The Script panel's language switch and stage filter: which language's text and takes the table
shows (the source or a target language), which stage's lines it lists, and how many lines stand at
each stage (draft → ready → rendered → approved → locked, :mod:`studio.core.workflow`).

The language switch is also the timeline's: choosing a language is one undoable edit
(:func:`studio.core.layout.set_timeline_language`) that lays the timeline out in it, so playback and
the mix speak it too; undo (or ``chorus settings … timeline_language``) moves the switch back.

Filtering hides table rows (the model keeps every line, so selection and drag and drop still speak
of the project's order). Counts are recomputed once per burst of changes, not once per change.

Thread contract: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QModelIndex, QTimer
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QTableView, QWidget

from studio.core import workflow
from studio.core.layout import lines_without_take, set_timeline_language, timeline_language
from studio.core.line_filter import LineFilter, line_visible
from studio.core.project import Change
from studio.ui.qt_document import QtDocument

ALL_STAGES = ""  # the stage filter's "every stage" value


class QtScriptLanguageBar(QWidget):
    """Language combo + stage filter combo (each stage with its count) for a script table."""

    def __init__(self, doc: QtDocument, model: Any, view: QTableView, parent: Any = None) -> None:
        super().__init__(parent)
        # Other row rules of the table (the find bar's, …): a row shows only when every rule keeps it.
        self.row_filters: list[Callable[[int], bool]] = []
        self.setObjectName("scriptLanguageBar")
        self.doc = doc
        self.model = model
        self.view = view
        self.language = QComboBox(self)
        self.language.setObjectName("scriptLanguage")
        self.language.setToolTip(
            "The language whose text and takes the table shows and edits, and the timeline plays and mixes"
        )
        self.language.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.stage = QComboBox(self)
        self.stage.setObjectName("scriptStageFilter")
        self.stage.setToolTip("Show only the lines at this stage")
        self.stage.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.suspect = QCheckBox("Suspect only", self)
        self.suspect.setObjectName("scriptSuspectFilter")
        self.suspect.setToolTip("Show only the lines whose take the check (or the engine) flagged")
        self.rule = LineFilter()  # stage and suspect-only (studio.core.line_filter); see apply_filter
        self.counts = QLabel(self)
        self.counts.setObjectName("scriptStageCounts")
        self.timeline_note = QLabel(self)  # lines the timeline leaves out: no take in its language
        self.timeline_note.setObjectName("scriptTimelineNote")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 4)
        layout.setSpacing(6)
        layout.addWidget(QLabel("Language", self))
        layout.addWidget(self.language)
        layout.addWidget(self.timeline_note)
        layout.addWidget(QLabel("Stage", self))
        layout.addWidget(self.stage)
        layout.addWidget(self.suspect)
        layout.addWidget(self.counts, 1)
        self._fill_languages()
        self._fill_stages()
        self._recount = QTimer(self)
        self._recount.setSingleShot(True)
        self._recount.setInterval(0)
        self._recount.timeout.connect(self._refresh_counts)
        self.language.currentIndexChanged.connect(self._language_chosen)
        self.stage.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self.suspect.toggled.connect(lambda _on: self.apply_filter())
        doc.changed.connect(self._on_change)
        model.modelReset.connect(self.apply_filter)
        model.rowsInserted.connect(lambda _p, first, last: self.apply_filter(first, last))
        model.rowsMoved.connect(lambda *_: self.apply_filter())

    # ---- state -----------------------------------------------------------------------------
    def current_language(self) -> str:
        return str(self.language.currentData() or "")

    def set_language(self, code: str) -> None:
        at = self.language.findData(code)
        if at >= 0:
            self.language.setCurrentIndex(at)

    def stage_filter(self) -> str:
        return str(self.stage.currentData() or ALL_STAGES)

    def set_stage_filter(self, stage: str) -> None:
        at = self.stage.findData(stage)
        if at >= 0:
            self.stage.setCurrentIndex(at)

    # ---- filling ---------------------------------------------------------------------------
    def _fill_languages(self) -> None:
        """The project's languages, the timeline's chosen (filling never edits the project)."""
        project = self.doc.project
        current = timeline_language(project) or project.settings.source_language
        items = [
            (f"{code} (source)" if workflow.is_source(project, code) else code, code)
            for code in workflow.project_languages(project)
        ]
        self.language.blockSignals(True)
        if items != [(self.language.itemText(i), self.language.itemData(i)) for i in range(self.language.count())]:
            self.language.clear()
            for label, code in items:
                self.language.addItem(label, code)
        self.language.setCurrentIndex(max(0, self.language.findData(current)))
        self.language.blockSignals(False)
        self.language.setEnabled(self.language.count() > 1)
        self.model.set_language(self.current_language())
        self._refresh_timeline_note()

    def _refresh_timeline_note(self) -> None:
        project = self.doc.project
        code = timeline_language(project) or project.settings.source_language
        missing = len(lines_without_take(project)) if project.settings.target_languages else 0
        self.timeline_note.setText(f"⚠ {missing} without a {code} take" if missing else "")
        self.timeline_note.setToolTip(
            f"{missing} line(s) have no {code} take: the timeline, playback and the mix leave them out"
            if missing
            else ""
        )
        self.timeline_note.setVisible(bool(missing))

    def _fill_stages(self) -> None:
        counts = workflow.status_counts(self.doc.project.ordered_lines())
        wanted = self.stage_filter()
        self.stage.blockSignals(True)
        self.stage.clear()
        self.stage.addItem(f"All ({sum(counts.values())})", ALL_STAGES)
        for stage in workflow.STAGES:
            self.stage.addItem(f"{stage.value} ({counts[stage.value]})", stage.value)
        self.stage.setCurrentIndex(max(0, self.stage.findData(wanted)))
        self.stage.blockSignals(False)
        shown = [f"{n} {name}" for name, n in counts.items() if n]
        self.counts.setText(" · ".join(shown))
        self.counts.setToolTip("Lines per stage: " + ", ".join(f"{k} {v}" for k, v in counts.items()))

    def _refresh_counts(self) -> None:
        self._fill_stages()
        self.apply_filter()
        self._refresh_timeline_note()

    # ---- reacting --------------------------------------------------------------------------
    def _language_chosen(self, *_: Any) -> None:
        """The user chose a language: the table shows it and the timeline switches (one undo step)."""
        code = self.current_language()
        self.model.set_language(code)
        project = self.doc.project
        if ("" if workflow.is_source(project, code) else code) != timeline_language(project):
            self.doc.edit(set_timeline_language(project, code))

    def _on_change(self, change: Change) -> None:
        if change.kind == "settings":
            self._fill_languages()
        elif change.kind == "line":
            self._recount.start()

    def apply_filter(self, first: int = 0, last: int = -1, *_: Any) -> None:
        """The one place rows are hidden: a row shows when :func:`~studio.core.line_filter.line_visible`
        passes it (stage, suspect only) and every rule in ``row_filters`` (the find bar) keeps it
        (rows ``first``…``last``; default all)."""
        wanted = self.stage_filter()
        project = self.doc.project
        rows = self.model.rowCount(QModelIndex())
        last = rows - 1 if last < 0 else min(last, rows - 1)
        self.rule = rule = replace(self.rule, stage=wanted, suspect_only=self.suspect.isChecked())
        status_of = getattr(self.model, "_status", None)  # the shown language's status
        for row in range(first, last + 1):
            line = project.lines.get(self.model.line_id(row))
            status = status_of(line) if line is not None and status_of is not None else None
            hidden = not line_visible(rule, line, status=status) or not all(keep(row) for keep in self.row_filters)
            if self.view.isRowHidden(row) != hidden:
                self.view.setRowHidden(row, hidden)
