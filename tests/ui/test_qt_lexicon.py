"""The Lexicon panel and the script table's pronunciation features, through the undo stack."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from studio.core.model import LineStatus
from studio.ui.qt_document import QtDocument
from studio.ui.qt_lexicon import QtLexiconPanel, QtPronunciationDialog, install_script_lexicon, word_at
from studio.ui.qt_script_panel import COL_TEXT, QtScriptPanel

DATA = Path(__file__).parents[1] / "data" / "lexicon"


@pytest.fixture
def studio(qtbot, rendered_podcast):
    doc = QtDocument.open(rendered_podcast)
    heard: list[tuple[str, str]] = []
    panel = QtLexiconPanel(doc, audition=lambda speaker, text: heard.append((speaker, text)))
    script = QtScriptPanel(doc)
    install_script_lexicon(script, doc, panel.audition)
    for widget in (panel, script):
        qtbot.addWidget(widget)
        widget.resize(900, 420)
        widget.show()
    yield doc, panel, script, heard
    doc.close()


def _stale(doc: QtDocument) -> list[str]:
    return [line.id for line in doc.project.ordered_lines() if line.status == LineStatus.STALE]


def test_adding_in_the_dialog_stales_two_lines_underlines_them_and_undoes(studio, qtbot):
    doc, panel, script, heard = studio
    assert _stale(doc) == []
    dialog = QtPronunciationDialog(doc, "Signal Chain", audition=panel.audition, parent=panel)
    dialog.replacement.setText("Signal Chayne")
    dialog.listen.click()
    assert heard == [("", "Signal Chayne")]
    dialog.accept()
    assert dialog.result() == QtPronunciationDialog.DialogCode.Accepted
    assert _stale(doc) == ["EP12_010", "EP12_150"]
    assert panel.table.rowCount() == 1 and panel.table.item(0, 5).text() == "2"
    row = script.model.row_of("EP12_010")
    delegate = script.view.itemDelegateForColumn(COL_TEXT)
    text = script.model.index(row, COL_TEXT).data()
    spans = delegate.matches(script.model.index(row, COL_TEXT))
    assert [text[a:b] for a, b in spans] == ["Signal Chain"]
    assert doc.project.lines["EP12_010"].text == text  # the script is unchanged
    if os.environ.get("CHORUS_SCREENSHOTS"):
        out = Path(os.environ["CHORUS_SCREENSHOTS"])
        out.mkdir(parents=True, exist_ok=True)
        script.grab().save(str(out / "script-underlined.png"))
        panel.grab().save(str(out / "lexicon-panel.png"))
    doc.undo_stack.undo()
    assert _stale(doc) == [] and not doc.project.lexicon
    assert panel.table.rowCount() == 0 and delegate.matches(script.model.index(row, COL_TEXT)) == []


def test_a_bad_entry_says_why_and_stays_open(studio):
    doc, panel, _script, _heard = studio
    dialog = QtPronunciationDialog(doc, "Maya", parent=panel)
    dialog.accept()
    assert "needs a replacement" in dialog.error.text() and not doc.project.lexicon


def test_speaker_scope_edit_search_remove(studio):
    doc, panel, _script, _heard = studio
    theo = doc.project.speaker_by_name("Theo")
    dialog = QtPronunciationDialog(doc, "musical", theo.id, parent=panel)
    dialog.phonemes.setText("mjˈuːzɪkəl")
    dialog.scope.setCurrentIndex(dialog.scope.findData(f"speaker:{theo.id}"))
    dialog.accept()
    assert _stale(doc) == ["EP12_140"]  # Theo's line only; Maya's "musical" is hers
    assert panel.table.item(0, 4).text() == "Only Theo"
    panel.search.setText("zzz")
    assert panel.table.rowCount() == 0
    panel.search.setText("music")
    panel.table.setCurrentCell(0, 0)
    assert panel.remove_selected()
    assert not doc.project.lexicon


def test_import_and_export(studio, tmp_path):
    doc, panel, _script, _heard = studio
    assert panel.import_file(str(DATA / "names.pls"))
    assert len(doc.project.lexicon) == 6  # "AFK" and "afk" are one case-insensitive entry
    assert not panel.import_file(str(DATA / "broken.pls"))  # a clear message, nothing changed
    assert len(doc.project.lexicon) == 6
    assert panel.export_file(str(tmp_path / "out.csv"))
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").count("\n") == 7


def test_word_under_the_mouse(studio):
    _doc, _panel, script, _heard = studio
    font = script.view.font()
    from PySide6.QtGui import QFontMetrics

    x = QFontMetrics(font).horizontalAdvance("Welcome back to The Sig")
    assert word_at("Welcome back to The Signal Chain", font, x) == "Signal"
    assert word_at("I'm Maya.", font, 1) == "I'm"
