"""The Inspector shows the selected line, clip and track and edits them through the undo stack."""

from __future__ import annotations

import pytest

from studio.core import ops
from studio.core.model import LineStatus
from studio.ui.qt_document import QtDocument
from studio.ui.qt_inspector import QtInspector


@pytest.fixture
def inspector(qtbot, rendered_podcast):
    doc = QtDocument.open(rendered_podcast)
    widget = QtInspector(doc)
    qtbot.addWidget(widget)
    widget.show()
    yield doc, widget
    doc.close()


def test_nothing_selected(inspector):
    doc, widget = inspector
    assert widget.empty.isVisibleTo(widget) and not widget.line_box.isVisibleTo(widget)


def test_selecting_a_line_shows_it_and_its_clip(inspector):
    doc, widget = inspector
    doc.select(lines=["EP12_020"])
    assert widget.line_id.text() == "EP12_020"
    assert widget.line_speaker.currentText() == "Theo"
    assert widget.line_text.toPlainText().startswith("And I'm Theo.")
    assert widget.clip_box.isVisibleTo(widget) and widget.track_box.isVisibleTo(widget)
    assert widget.track_name.text() == "Theo"
    assert "done" in widget.line_status.text()


def test_editing_text_and_direction(inspector):
    doc, widget = inspector
    doc.select(lines=["EP12_020"])
    widget._commit_text("And I'm Theo, hello!")
    assert doc.project.lines["EP12_020"].text == "And I'm Theo, hello!"
    assert doc.project.lines["EP12_020"].status == LineStatus.STALE
    widget.line_direction.setText("cheerful")
    widget.line_direction.editingFinished.emit()
    assert doc.project.lines["EP12_020"].direction == "cheerful"
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.project.lines["EP12_020"].text.startswith("And I'm Theo. Today")
    assert widget.line_text.toPlainText().startswith("And I'm Theo. Today")


def test_clip_fields_edit_the_clip(inspector):
    doc, widget = inspector
    clip = next(c for c in doc.project.clips.values() if c.line_id == "EP12_030")
    doc.select(clips=[clip.id])
    widget.clip_fade_in.setValue(0.25)
    widget.clip_gain.setValue(-3.0)
    widget.clip_start.setValue(clip.start + 1.0)
    new = doc.project.clips[clip.id]
    assert (new.fade_in, new.gain_db, new.start) == (0.25, -3.0, pytest.approx(clip.start + 1.0))
    assert new.pinned


def test_track_fields_and_ducking(inspector):
    doc, widget = inspector
    doc.select(track="trk_music")
    assert widget.track_duck.isVisibleTo(widget)
    widget.track_duck_depth.setValue(-18.0)
    assert doc.project.tracks["trk_music"].ducking.depth_db == -18.0
    widget.track_name.setText("Bed")
    widget.track_name.editingFinished.emit()
    assert doc.project.tracks["trk_music"].name == "Bed"
    doc.edit(ops.set_track("trk_music", gain_db=-9.0))
    assert widget.track_gain.value() == -9.0  # the model's changes show
