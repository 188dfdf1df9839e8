"""Project settings: metadata, gaps (re-layout) and the render backend with its parameters."""

from __future__ import annotations

from studio.core.model import LineStatus
from studio.ui.qt_document import QtDocument
from studio.ui.qt_project_settings import QtProjectSettingsDialog


def test_backend_chooser_stores_parameters_and_stales_lines(qtbot, rendered_podcast):
    doc = QtDocument.open(rendered_podcast)
    dialog = QtProjectSettingsDialog(doc, tab="rendering")
    qtbot.addWidget(dialog)
    dialog.backend.setCurrentIndex(dialog.backend.findData("higgs"))
    form = dialog.forms.currentWidget()
    form.widgets["model"].setText("/models/higgs-v2")
    form.widgets["temperature"].setValue(0.7)
    changes = dialog.changes()
    assert changes["backend"] == "higgs"
    options = dict(changes["backend_options"])
    assert (
        options["model"] == "/models/higgs-v2"
        and options["temperature"] == 0.7
        and options["continuity"] is True
    )
    dialog.accept()
    assert doc.project.settings.backend == "higgs"
    assert {line.status for line in doc.project.ordered_lines()} == {LineStatus.STALE}
    doc.undo_stack.undo()
    assert doc.project.settings.backend == "piper"
    assert {line.status for line in doc.project.ordered_lines()} == {LineStatus.DONE}
    doc.close()


def test_remote_servers_parse_one_per_line(qtbot, podcast):
    doc = QtDocument.open(podcast)
    dialog = QtProjectSettingsDialog(doc)
    qtbot.addWidget(dialog)
    dialog.backend.setCurrentIndex(dialog.backend.findData("openai"))
    dialog.forms.currentWidget().widgets["endpoints"].setPlainText(
        "http://gpu1:8000/v1 8\nhttp://gpu2:8000/v1\n"
    )
    options = dict(dialog.changes()["backend_options"])
    assert options["endpoints"] == [
        {"url": "http://gpu1:8000/v1", "concurrency": 8},
        {"url": "http://gpu2:8000/v1"},
    ]
    doc.close()


def test_gaps_relayout_the_timeline(qtbot, rendered_podcast):
    doc = QtDocument.open(rendered_podcast)
    dialog = QtProjectSettingsDialog(doc)
    qtbot.addWidget(dialog)
    second = next(c for c in doc.project.clips.values() if c.line_id == "EP12_020")
    dialog.gap_new.setValue(1.6)
    dialog.title.setText("Episode 12")
    dialog.accept()
    moved = next(c for c in doc.project.clips.values() if c.line_id == "EP12_020")
    assert moved.start == second.start + 1.0 and doc.project.settings.title == "Episode 12"
    doc.undo_stack.undo()
    assert next(c for c in doc.project.clips.values() if c.line_id == "EP12_020").start == second.start
    doc.close()


def test_checks_tab_sets_qa_settings_and_reverse(qtbot, podcast):
    from studio.core import ops

    doc = QtDocument.open(podcast)
    doc.project.apply(ops.set_settings(qa_retries=3, qa_thresholds=(("max_wer", 0.4),)))
    dialog = QtProjectSettingsDialog(doc, tab="checks")
    qtbot.addWidget(dialog)
    assert dialog.qa_check.isChecked() and dialog.qa_retries.value() == 3
    assert dialog.qa_thresholds.text() == '{"max_wer": 0.4}'
    dialog.qa_check.setChecked(False)
    dialog.qa_retries.setValue(-1)
    dialog.qa_thresholds.setText('{"max_pause": 3}')
    dialog.accept()
    s = doc.project.settings
    assert (s.qa_check, s.qa_retries, s.qa_thresholds) == (False, -1, (("max_pause", 3.0),))
    doc.undo_stack.undo()
    assert doc.project.settings.qa_retries == 3
    doc.close()
