"""The main window: opens a project with every panel, restores its layout and recent projects,
routes the frequent shortcuts, and closes without asking to save (edits are already stored)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from studio.core.model import LineStatus
from studio.core.store import ProjectFile


def test_opens_the_demo_with_every_panel(make_window, podcast):
    window = make_window(podcast)
    view = window.view
    assert view is not None
    assert "The Signal Chain" in window.windowTitle()
    assert window.centralWidget() is view.timeline
    titles = {d.windowTitle() for d in window.findChildren(QDockWidget)}
    assert {"Script", "Mixer", "Render queue", "Inspector", "Voice bank"} <= titles
    assert view.script.model.rowCount() == 15
    assert [r.name for r in view.timeline.model.rows] == ["Maya", "Theo", "Music bed"]
    assert window.settings.recent_projects() == [str(podcast.resolve())]


def test_layout_and_recent_projects_persist(make_window, podcast, tmp_path):
    window = make_window(podcast)
    window.docks["mixer"].hide()
    window.resize(1234, 777)
    window.close()
    again = make_window()
    assert again.docks["mixer"].isHidden()
    assert again.settings.recent_projects()[0] == str(podcast.resolve())
    again.recent_menu.aboutToShow.emit()
    assert [a.text() for a in again.recent_menu.actions()][0] == "podcast.chorus"


def test_no_arguments_opens_the_last_project(make_window, podcast, tmp_path):
    from studio.ui.qt_app import project_to_open

    window = make_window(podcast)
    assert project_to_open(None, window.settings) == podcast.resolve()
    assert project_to_open("/some/where.chorus", window.settings) == Path("/some/where.chorus")


def test_closing_never_asks_and_keeps_the_edit(make_window, podcast, qtbot):
    window = make_window(podcast)
    window.view.script.model.setData(window.view.script.model.index(0, 2), "Hello there, everyone.")
    window.close()  # no "save?" dialog: a modal box here would block the test
    with ProjectFile.open(podcast) as pf:
        first = pf.project.lines[pf.project.line_order[0]]
        assert first.text == "Hello there, everyone."


def test_undo_redo_shortcuts_and_menu_text(make_window, podcast, qtbot):
    window = make_window(podcast)
    model = window.view.script.model
    model.setData(model.index(1, 2), "Changed text.")
    assert window.a_undo.text() == "&Undo Edit text"
    window.view.timeline.canvas.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert model.data(model.index(1, 2)) != "Changed text."
    qtbot.keyClick(
        window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert model.data(model.index(1, 2)) == "Changed text."


def test_space_without_sound_card_says_why(make_window, podcast, qtbot):
    window = make_window(podcast)
    window.view.timeline.canvas.setFocus()
    qtbot.keyClick(window.view.timeline.canvas, Qt.Key.Key_Space)
    assert not window.view.playback.playing
    assert "PortAudio" in window.view.transport.warning.text()


def test_import_script_file_adds_lines_in_one_undo_step(make_window, podcast, tmp_path):
    script = tmp_path / "extra.csv"
    script.write_text("id,character,text\nX_1,Maya,One more thing.\nX_2,Nadia,And me!\n", encoding="utf-8")
    window = make_window(podcast)
    assert window.import_scripts([str(script)]) == 2
    doc = window.view.doc
    assert doc.project.lines["X_2"].status == LineStatus.STALE
    assert doc.project.speaker_by_name("Nadia") is not None
    assert window.view.script.model.rowCount() == 17
    doc.undo_stack.undo()
    assert window.view.script.model.rowCount() == 15 and doc.project.speaker_by_name("Nadia") is None


def test_bad_script_gives_a_message_not_a_traceback(make_window, podcast, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,character,text\nA,,\n", encoding="utf-8")
    window = make_window(podcast)
    assert window.import_scripts([str(bad)]) == 0
    assert "bad.csv" in window.statusBar().currentMessage()


def test_opening_a_damaged_project_reports_it(make_window, tmp_path):
    broken = tmp_path / "broken.chorus"
    broken.mkdir()
    (broken / "project.db").write_bytes(b"not a database")
    window = make_window()
    assert not window.open_project(broken)
    assert "damaged" in window.statusBar().currentMessage()
    assert window.view is None
