"""The Script panel's language switch, stage column, stage filter and counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.core import ops, workflow
from studio.core import script_formats as sf
from studio.core.model import LineStage, Take
from studio.core.store import ProjectFile
from studio.render.takes import line_recipe
from studio.ui.qt_document import QtDocument
from studio.ui.qt_script_panel import (
    COL_STAGE,
    COL_STATUS,
    COL_TAKE,
    COL_TEXT,
    NOT_TRANSLATED,
    QtScriptPanel,
    ValueRole,
)

SCRIPT = (
    "id,character,text,scene,text:fr\r\n"
    'VO_1,Bram,"Welcome, stranger!",Inn,"Bienvenue, étranger !"\r\n'
    'VO_2,Ann,"A pint, please.",Inn,"Une bière, s\'il vous plaît."\r\n'
    "VO_3,Bram,Coming right up.,Inn,\r\n"
)


@pytest.fixture
def two_languages(tmp_path: Path) -> Path:
    path = tmp_path / "vo.chorus"
    with ProjectFile.create(path) as pf:
        batch, _ = sf.merge_script(pf.project, sf.parse(SCRIPT, "csv"))
        pf.project.apply(batch)
        project = pf.project
        line = project.lines["VO_1"]
        recipe = line_recipe(project, line, "fr")
        takes = [
            Take(f"fr{i}", "VO_1", f"fr{i}.wav", 1.0, 22050, recipe=recipe, language="fr") for i in (1, 2)
        ]
        for take in takes:
            project.apply(ops.Insert(take))
        project.apply(
            ops.Update(
                "line",
                "VO_1",
                (
                    ("takes", ("fr1", "fr2")),
                    ("language_takes", workflow.with_language_take(line, "fr", "fr2")),
                ),
            )
        )
        project.apply(workflow.set_stage(project, ["VO_2"], LineStage.APPROVED, who="ann"))
    return path


def make_panel(qtbot, path):
    doc = QtDocument.open(path)
    panel = QtScriptPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(1100, 300)
    panel.show()
    return doc, panel


def test_language_switch_shows_and_edits_that_language(qtbot, two_languages):
    doc, panel = make_panel(qtbot, two_languages)
    m, bar = panel.model, panel.language_bar
    assert [bar.language.itemData(i) for i in range(bar.language.count())] == ["en", "fr"]
    assert m.data(m.index(0, COL_TEXT)) == "Welcome, stranger!" and m.data(m.index(0, COL_TAKE)) == "—"
    bar.set_language("fr")
    assert m.language == "fr"
    assert m.data(m.index(0, COL_TEXT)) == "Bienvenue, étranger !"
    assert m.data(m.index(2, COL_TEXT)) == NOT_TRANSLATED and m.data(m.index(2, COL_TEXT), ValueRole) == ""
    assert m.data(m.index(0, COL_TAKE)) == "2 of 2" and m.data(m.index(0, COL_STATUS)) == "done"
    assert m.data(m.index(1, COL_STATUS)) == "stale"
    # edit the French text: a translation edit, undoable; the source text stays
    assert m.setData(m.index(2, COL_TEXT), "Tout de suite.")
    assert workflow.line_text(doc.project, doc.project.lines["VO_3"], "fr") == "Tout de suite."
    assert doc.project.lines["VO_3"].text == "Coming right up."
    # pick the other French take
    assert m.setData(m.index(0, COL_TAKE), "fr1")
    assert workflow.selected_take_key(doc.project, doc.project.lines["VO_1"], "fr") == "fr1"
    assert m.data(m.index(0, COL_TAKE)) == "1 of 2"
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert m.data(m.index(2, COL_TEXT)) == NOT_TRANSLATED and m.data(m.index(0, COL_TAKE)) == "2 of 2"
    # a new target language set on the project appears in the switch
    doc.edit(workflow.set_languages("en", ["fr", "de"]))
    assert bar.language.findData("de") >= 0 and bar.current_language() == "fr"
    bar.set_language("en")
    assert m.data(m.index(0, COL_TEXT)) == "Welcome, stranger!"
    doc.close()


def test_stage_column_filter_and_counts(qtbot, two_languages):
    doc, panel = make_panel(qtbot, two_languages)
    m, bar, view = panel.model, panel.language_bar, panel.view
    assert [m.data(m.index(r, COL_STAGE)) for r in range(3)] == ["draft", "approved", "draft"]
    assert bar.stage.itemText(bar.stage.findData("draft")) == "draft (2)"
    assert bar.counts.text() == "2 draft · 1 approved"
    bar.set_stage_filter("approved")
    assert [view.isRowHidden(r) for r in range(3)] == [True, False, True]
    # the table edits the stage; the filter and counts follow
    assert m.setData(m.index(0, COL_STAGE), "approved")
    qtbot.waitUntil(lambda: bar.counts.text() == "1 draft · 2 approved")
    assert doc.project.lines["VO_1"].stage == LineStage.APPROVED
    assert [view.isRowHidden(r) for r in range(3)] == [False, False, True]
    # the project changes the stage: the table shows it (model → widget)
    doc.edit(workflow.set_stage(doc.project, ["VO_2"], LineStage.LOCKED, who="me"))
    qtbot.waitUntil(lambda: view.isRowHidden(1))
    assert m.data(m.index(1, COL_STAGE)) == "locked" and "locked by me" in doc.project.lines["VO_2"].notes
    assert not m.setData(m.index(1, COL_STAGE), "nonsense")
    bar.set_stage_filter("")
    assert not any(view.isRowHidden(r) for r in range(3))
    doc.close()
