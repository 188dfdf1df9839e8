"""The script table and take checks: the status badge says suspect with the reasons and the
transcript-vs-script marks in its tooltip; "Suspect only" is part of the one row rule with the
stage filter and the find bar."""

from __future__ import annotations

from PySide6.QtCore import Qt

from studio.core.model import LineStatus
from studio.qa.check import store
from studio.qa.scores import TakeScores, judge, thresholds
from studio.qa.words import char_error_rate, compare
from studio.ui.qt_document import QtDocument
from studio.ui.qt_script_panel import COL_STATUS, QtScriptPanel

SUSPECT_LINE = "EP12_020"


def check(doc: QtDocument, line_id: str, heard: str) -> None:
    project = doc.project
    line = project.lines[line_id]
    diff = compare(line.text, heard)
    scores = TakeScores(
        expected=line.text,
        transcript=heard,
        wer=diff.wer,
        cer=char_error_rate(line.text, heard),
        word_errors=diff.errors,
        expected_words=diff.expected_count,
        missing=diff.missing,
        extra=diff.extra,
        level_dbfs=-20.0,
    )
    project.apply(store(project, line.selected_take, judge(scores, thresholds())))


def test_suspect_badge_tooltip_and_filter(qtbot, rendered_podcast):
    doc = QtDocument.open(rendered_podcast)
    panel = QtScriptPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(1000, 420)
    panel.show()
    try:
        for line_id in doc.project.line_order:
            if line_id != SUSPECT_LINE:
                check(doc, line_id, doc.project.lines[line_id].text)
        check(
            doc,
            SUSPECT_LINE,
            "And I'm Leo. Today we sell cheap boats, and nobody can hear the seams.",
        )
        model, bar = panel.model, panel.language_bar
        row = model.row_of(SUSPECT_LINE)
        index = model.index(row, COL_STATUS)
        assert doc.project.lines[SUSPECT_LINE].status == LineStatus.SUSPECT
        assert model.data(index).startswith("suspect")
        tip = model.data(index, Qt.ItemDataRole.ToolTipRole)
        assert "words differ" in tip and "line-through" in tip and "Leo" in tip
        ok_tip = model.data(
            model.index(model.row_of(doc.project.line_order[0]), COL_STATUS), Qt.ItemDataRole.ToolTipRole
        )
        assert ok_tip in (None, "ok")
        panel.view.selectRow(row)
        panel.grab().save("/tmp/script_suspect.png")

        # widget → rule: suspect only
        bar.suspect.setChecked(True)
        shown = [r for r in range(model.rowCount()) if not panel.view.isRowHidden(r)]
        assert shown == [row]
        # combined with the stage filter: the suspect line is a draft, so "ready" hides it too
        stage = doc.project.lines[SUSPECT_LINE].stage.value
        other = next(s for s in ("draft", "ready", "rendered") if s != stage)
        bar.set_stage_filter(other)
        assert all(panel.view.isRowHidden(r) for r in range(model.rowCount()))
        bar.set_stage_filter(stage)
        assert not panel.view.isRowHidden(row)
        # … and with the find bar
        panel.find_bar.open_bar()
        panel.find_bar.text.setText("no such words anywhere")
        bar.apply_filter()
        assert panel.view.isRowHidden(row)
        panel.find_bar.close_bar()
        assert not panel.view.isRowHidden(row)

        # model → widget: the line checks ok again, it leaves the suspect-only view
        check(doc, SUSPECT_LINE, doc.project.lines[SUSPECT_LINE].text)
        qtbot.waitUntil(lambda: panel.view.isRowHidden(row), timeout=2000)
        bar.suspect.setChecked(False)
        assert not any(
            panel.view.isRowHidden(r)
            for r in range(model.rowCount())
            if doc.project.lines[model.line_id(r)].stage.value == stage
        )
    finally:
        doc.close()
