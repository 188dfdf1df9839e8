"""Issue 19: what tripped a producer and a game author in an hour of real use — one test per item."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.core.model import TrackKind
from studio.ui.qt_import_audio import AudioPlacement, QtImportAudioDialog


@pytest.fixture
def bed(tmp_path: Path, take_writer) -> Path:
    path = tmp_path / "bed.wav"
    take_writer(path, 40.0, 3)
    return path


# ---- 1. short music can be ducked: choose the track on import; add / rename / kind / delete tracks


def test_import_dialog_defaults_music_like_files_to_a_new_music_track_at_the_start(qtbot, rendered_podcast, bed):
    from studio.core.store import ProjectFile

    with ProjectFile.open(rendered_podcast) as pf:
        from studio.ui.qt_import_audio import default_kind

        assert default_kind([bed]) == TrackKind.MUSIC
        dialog = QtImportAudioDialog(pf.project, TrackKind.MUSIC, 12.5)
        qtbot.addWidget(dialog)
        assert dialog.placement() == AudioPlacement("", TrackKind.MUSIC, 0.0)
        dialog.at_playhead.setChecked(True)
        assert dialog.placement().at == 12.5


def test_import_audio_onto_a_chosen_track_then_edit_tracks_with_undo(make_window, rendered_podcast, bed):
    window = make_window(rendered_podcast)
    doc = window.view.doc
    window.choose_audio_place = lambda files: AudioPlacement("", TrackKind.MUSIC, 0.0)
    before = set(doc.project.tracks)
    (clip_id,) = window.import_audio([bed]).wait()  # the copy runs on a worker
    clip = doc.project.clips[clip_id]
    track = doc.project.tracks[clip.track_id]
    assert (track.kind, clip.start) == (TrackKind.MUSIC, 0.0)  # a 40 s bed is music, ducked under dialogue
    editor = window.view.timeline.headers.editor
    sfx = editor.add_track(TrackKind.SFX)
    assert doc.project.tracks[sfx].kind == TrackKind.SFX and doc.selected_track == sfx
    assert editor.rename(sfx, "Doors") and doc.project.tracks[sfx].name == "Doors"
    assert editor.change_kind(sfx, TrackKind.HUMMING) and doc.project.tracks[sfx].kind == TrackKind.HUMMING
    assert editor.delete(sfx) and sfx not in doc.project.tracks
    dialogue = next(t for t in doc.project.tracks.values() if t.kind == TrackKind.DIALOGUE)
    assert not editor.delete(dialogue.id)  # refused with a reason, not a traceback
    for _ in range(5):
        doc.undo_stack.undo()
    assert set(doc.project.tracks) == before


# ---- 2. the Inspector describes one selection


def test_inspector_never_shows_a_line_beside_another_things_clip(make_window, rendered_podcast, bed):
    window = make_window(rendered_podcast)
    doc, inspector = window.view.doc, window.view.inspector
    doc.select(lines=["EP12_020"])
    assert inspector.line_box.isVisibleTo(inspector)
    window.choose_audio_place = lambda files: AudioPlacement("", TrackKind.MUSIC, 0.0)
    (clip_id,) = window.import_audio([bed]).wait()  # the copy runs on a worker
    assert doc.selected_clips == (clip_id,) and doc.selected_lines == ()
    assert not inspector.line_box.isVisibleTo(inspector) and inspector.clip_box.isVisibleTo(inspector)
    doc.select(lines=["EP12_030"])  # back in the script: the music clip is no longer the selection
    assert inspector.line_id.text() == "EP12_030"
    assert doc.project.clips[inspector.current()[1]].line_id == "EP12_030"


def test_clicking_a_track_header_selects_the_track(make_window, rendered_podcast, qtbot):
    from PySide6.QtCore import Qt

    window = make_window(rendered_podcast)
    headers = window.view.timeline.headers
    track_id, header = next(iter(headers.headers.items()))
    qtbot.mouseClick(header, Qt.MouseButton.LeftButton)
    assert window.view.doc.selected_track == track_id
    assert window.view.inspector.track_box.isVisibleTo(window.view.inspector)


# ---- 3. find / filter bar, sortable columns that never reorder the script, no type-to-overwrite


def test_find_filter_sort_and_typing_never_overwrites(make_window, rendered_podcast, qtbot):
    from PySide6.QtCore import Qt

    from studio.ui.qt_script_panel import COL_ID, COL_TEXT

    window = make_window(rendered_podcast)
    panel, doc = window.view.script, window.view.doc
    script_order = list(doc.project.line_order)
    row = panel.model.row_of("EP12_020")
    panel.view.setFocus()
    panel.view.setCurrentIndex(panel.model.index(row, COL_TEXT))
    before = doc.project.lines["EP12_020"].text
    qtbot.keyClicks(panel.view, "trout")
    qtbot.keyClick(panel.view, Qt.Key.Key_Return)
    assert doc.project.lines["EP12_020"].text == before  # typing on a row does not replace its text

    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert panel.find_bar.isVisibleTo(panel) and panel.find_bar.text.hasFocus()
    panel.find_bar.text.setText("theo")
    def shown_ids() -> set[str]:
        return {panel.model.line_id(r) for r in range(panel.model.rowCount()) if not panel.view.isRowHidden(r)}

    qtbot.waitUntil(lambda: shown_ids() != set(script_order))
    shown = shown_ids()
    assert "EP12_020" in shown and all("theo" in (doc.project.lines[i].text + i).casefold() for i in shown)
    panel.find_bar.text.clear()
    theo = next(s.id for s in doc.project.speakers.values() if s.name == "Theo")
    panel.find_bar.speaker.setCurrentIndex(panel.find_bar.speaker.findData(theo))
    panel.find_bar.speaker.activated.emit(0)
    shown = [panel.model.line_id(r) for r in range(panel.model.rowCount()) if not panel.view.isRowHidden(r)]
    assert shown and all(doc.project.lines[i].speaker_id == theo for i in shown)
    panel.language_bar.set_stage_filter("locked")  # the stage filter combines with the find bar
    assert all(panel.view.isRowHidden(r) for r in range(panel.model.rowCount()))
    panel.language_bar.set_stage_filter("")
    qtbot.keyClick(panel.find_bar.text, Qt.Key.Key_Escape)
    assert not panel.find_bar.isVisibleTo(panel)
    assert not any(panel.view.isRowHidden(r) for r in range(panel.model.rowCount()))

    panel.sorter.clicked(COL_TEXT)
    texts = [doc.project.lines[panel.model.line_id(r)].text.casefold() for r in panel.sorter.shown_order()]
    assert texts == sorted(texts) and doc.project.line_order == script_order  # the script keeps its order
    panel.sorter.clicked(COL_TEXT)
    panel.sorter.clicked(COL_TEXT)  # third click: script order again
    assert [panel.model.line_id(r) for r in panel.sorter.shown_order()] == script_order
    assert panel.sorter.column == -1 and COL_ID == 0


# ---- 4. no traceback after the Speakers dialog is gone


def test_changes_after_the_speakers_dialog_closed_raise_nothing(make_window, rendered_podcast, qtbot):
    from PySide6.QtCore import QCoreApplication, QEvent

    from studio.core import ops
    from studio.ui.qt_speaker_dialog import QtSpeakersDialog

    window = make_window(rendered_podcast)
    doc = window.view.doc
    dialog = QtSpeakersDialog(doc, window)
    dialog.show()
    dialog.reject()
    dialog.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    line = doc.project.lines["EP12_020"]
    other = next(s for s in doc.project.speakers if s != line.speaker_id)
    assert doc.edit(ops.assign_speaker("EP12_020", other))  # raised "QListWidget already deleted" in a slot
    speaker = doc.project.speakers[other]
    assert doc.edit(ops.Insert(ops.dataclasses.replace(speaker, id="new_spk", name="Zed")))


def test_no_widget_connects_a_lambda_to_the_document():
    import re

    ui = Path(__file__).resolve().parents[2] / "studio" / "ui"
    offenders = [
        f"{path.name}:{n}"
        for path in sorted(ui.glob("qt_*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bdoc\.\w+\.connect\(\s*lambda", line)
    ]
    assert not offenders, f"connect a bound method (Qt drops it with the widget), not a lambda: {offenders}"


# ---- 5. a restored layout keeps the timeline usable


def test_timeline_keeps_its_share_after_reopen_and_restart(make_window, rendered_podcast, qtbot):
    def usable(window) -> bool:
        return window.centralWidget().height() >= 0.3 * window.height()

    window = make_window(rendered_podcast)
    qtbot.waitUntil(lambda: usable(window))
    window.close()  # saves the layout
    again = make_window(rendered_podcast)  # a restart: the saved dock state is restored
    qtbot.waitUntil(lambda: usable(again), timeout=2000)
    again.close_project()
    assert again.open_project(rendered_podcast)  # closing and reopening the project
    qtbot.waitUntil(lambda: usable(again), timeout=2000)


# ---- 6. the wheel scrolls; it edits a value only in a focused field


def test_wheel_over_an_unfocused_spin_box_changes_nothing(make_window, rendered_podcast, qtbot):
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    window = make_window(rendered_podcast)
    doc, inspector = window.view.doc, window.view.inspector
    clip = next(c for c in doc.project.clips.values() if c.line_id == "EP12_030")
    doc.select(clips=[clip.id])
    window.docks["inspector"].raise_()
    box = inspector.clip_gain
    box.clearFocus()

    def wheel() -> None:
        centre = QPointF(box.rect().center())
        event = QWheelEvent(
            centre, QPointF(box.mapToGlobal(centre.toPoint())), QPoint(), QPoint(0, 120),
            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
        )
        QApplication.sendEvent(box, event)

    wheel()
    assert doc.project.clips[clip.id].gain_db == clip.gain_db and not box.hasFocus()
    box.setFocus()
    qtbot.waitUntil(box.hasFocus)
    wheel()
    assert doc.project.clips[clip.id].gain_db != clip.gain_db  # focused: the wheel edits


# ---- 8. status derives from the take key, one rule everywhere


def test_speaker_away_and_back_is_current_again(make_window, rendered_podcast):
    from studio.core import ops
    from studio.core.model import LineStatus
    from studio.render.takes import plan_render

    window = make_window(rendered_podcast)
    doc = window.view.doc
    line = doc.project.lines["EP12_020"]
    other = next(s for s in doc.project.speakers if s != line.speaker_id)
    assert doc.edit(ops.assign_speaker(line.id, other))
    assert doc.project.lines[line.id].status == LineStatus.STALE
    assert doc.edit(ops.assign_speaker(line.id, line.speaker_id))
    assert doc.project.lines[line.id].status == LineStatus.DONE  # its take is current again
    assert line.id not in {j.line_id for j in plan_render(doc.project, doc.media_dir).jobs}
    doc.undo_stack.undo()
    assert doc.project.lines[line.id].status == LineStatus.STALE
    assert line.id in {j.line_id for j in plan_render(doc.project, doc.media_dir).jobs}


# ---- 7. voices the backend can't speak are flagged at assignment, not at render


def test_speaker_dialog_warns_about_the_backend_and_forgets_the_old_kinds_error(qtbot, rendered_podcast):
    from studio.core.model import VoiceKind
    from studio.ui.qt_document import QtDocument
    from studio.ui.qt_speaker_dialog import QtSpeakerDialog

    doc = QtDocument.open(rendered_podcast)
    assert doc.project.settings.backend == "piper"
    dialog = QtSpeakerDialog(doc, None)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.name.setText("Zed")
    dialog.kind.setCurrentIndex(dialog.kind.findData(VoiceKind.CLIP))
    dialog.accept()  # no clip chosen: refused with a reason
    assert dialog.error.text() and dialog.isVisible()
    assert "piper cannot speak" in dialog.backend_note.text() and dialog.backend_note.isVisibleTo(dialog)
    dialog.kind.setCurrentIndex(dialog.kind.findData(VoiceKind.SMART))
    assert dialog.error.text() == ""  # the clip error was about the other kind (item 11)
    assert "higgs" in dialog.backend_note.text()
    dialog.kind.setCurrentIndex(dialog.kind.findData(VoiceKind.PIPER))
    assert not dialog.backend_note.isVisibleTo(dialog)
    dialog.close()
    doc.close()


def test_a_failed_line_never_plays_the_old_speakers_take(rendered_podcast):
    from studio.core import ops
    from studio.core.model import LineStatus
    from studio.core.store import ProjectFile
    from studio.render.takes import failed_ops

    with ProjectFile.open(rendered_podcast) as pf:
        project = pf.project
        line = project.lines["EP12_020"]
        assert project.clip_for_line(line.id) is not None
        other = next(s for s in project.speakers if s != line.speaker_id)
        project.apply(ops.assign_speaker(line.id, other))
        project.apply(failed_ops(project, pf.media_dir, line.id, "piper cannot clone"))
        failed = project.lines[line.id]
        assert failed.status == LineStatus.FAILED and failed.selected_take == ""
        assert project.clip_for_line(line.id) is None  # nothing of the old voice on the timeline / in the mix
        assert line.selected_take in failed.takes  # kept in its history
        # a line whose take is still current keeps it when a re-render fails
        keep = project.lines["EP12_030"]
        project.apply(failed_ops(project, pf.media_dir, keep.id, "engine died"))
        assert project.lines[keep.id].selected_take == keep.selected_take
        assert project.clip_for_line(keep.id) is not None


# ---- 9. empty text is refused with a reason; widget and data agree


def test_empty_text_is_refused_with_a_reason(make_window, rendered_podcast, qtbot):
    from studio.core import ops
    from studio.ui.qt_script_panel import COL_TEXT

    window = make_window(rendered_podcast)
    doc, panel, inspector = window.view.doc, window.view.script, window.view.inspector
    before = doc.project.lines["EP12_020"].text
    with pytest.raises(ops.EditError, match="needs text"):
        ops.change_text("EP12_020", "  ")
    with qtbot.waitSignal(doc.editFailed) as failed:
        assert not panel.model.setData(panel.model.index(panel.model.row_of("EP12_020"), COL_TEXT), "   ")
    assert "needs text" in failed.args[0] and "needs text" in window.statusBar().currentMessage()
    doc.select(lines=["EP12_020"])
    inspector.line_text.setPlainText("")
    with qtbot.waitSignal(doc.editFailed):
        inspector._commit_text(inspector.line_text.toPlainText())
    assert inspector.line_text.toPlainText() == before == doc.project.lines["EP12_020"].text


# ---- 10. closing mid-render asks; 11. messages that tell the truth


def test_closing_mid_render_asks_and_the_render_message_ends(make_window, podcast, qtbot):
    from ui_fakes import FakeEngineClient

    window = make_window(podcast, client_factory=lambda b, o: FakeEngineClient(b, o, delay=0.3))
    controller = window.view.controller
    asked: list[str] = []
    window.ask = lambda title, text: asked.append(text) is not None  # "no, keep it open"
    assert controller.render(None) > 0
    assert window.statusBar().currentMessage().startswith("Rendering")
    window.close()
    assert asked and "still rendering" in asked[0] and window.isVisible() and window.view is not None
    controller.cancel()
    qtbot.waitUntil(lambda: not controller.busy, timeout=10000)
    qtbot.waitUntil(lambda: not window.statusBar().currentMessage().startswith("Rendering"), timeout=3000)
    assert "Rendered" in window.statusBar().currentMessage()
    asked.clear()
    window.close()  # idle: closes without a question
    assert not asked and not window.isVisible()


def test_the_queue_counts_each_line_of_the_run_once(make_window, rendered_podcast, qtbot):
    from studio.core import ops

    window = make_window(rendered_podcast)
    doc, controller, queue = window.view.doc, window.view.controller, window.view.queue
    doc.edit(ops.change_text("EP12_020", "A new line of text."))
    assert controller.render(["EP12_020"]) == 1
    qtbot.waitUntil(lambda: not controller.busy, timeout=10000)
    assert controller.render(["EP12_020"], new_take=True) == 1  # a second run: only its own line
    qtbot.waitUntil(lambda: not controller.busy, timeout=10000)
    queue._update_overall()
    assert queue.overall.format() == "1 done, 0 failed" and controller.run_summary()[:3] == (1, 0, 0)
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Rendered 1 line"), timeout=3000)


# ---- 12. layout: every label has its field; ids readable; two hosts look different


def test_layout_details(make_window, rendered_podcast, tmp_path):
    from studio.core.model import TrackKind as Kind
    from studio.core.script_formats import new_line_id
    from studio.ui.qt_script_panel import COL_ID

    window = make_window(rendered_podcast)
    doc, inspector, panel = window.view.doc, window.view.inspector, window.view.script
    sfx = window.view.timeline.headers.editor.add_track(Kind.SFX)
    doc.select(track=sfx, clips=(), lines=())
    depth_label = inspector.track_form.labelForField(inspector.track_duck_depth)
    assert not depth_label.isVisibleTo(inspector) and not inspector.track_duck_depth.isVisibleTo(inspector)
    longest = max(panel.view.fontMetrics().horizontalAdvance(i) for i in doc.project.lines)
    assert panel.view.columnWidth(COL_ID) >= longest + 8  # "EP12_020", not "EP12_0…"
    assert new_line_id({"L010", "L020", "line_x"}) == "L030" and new_line_id(set()) == "L010"
    from studio.render.casting import voice_summary

    a, b = (s.voice for s in list(doc.project.speakers.values())[:2])
    assert voice_summary(a) != voice_summary(b)


def test_the_main_window_fits_1280x800(make_window, rendered_podcast):
    window = make_window(rendered_podcast)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 800, hint  # every panel's minimum together
