"""The Takes view lists a line's takes with their scores; play (A/B), pick, favourite and delete
unused go through the undo stack, and the view follows the project the other way round."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_fakes import FakeStream, fake_stream_factory, write_take

from studio.qa.check import store
from studio.qa.scores import TakeScores, judge, thresholds
from studio.render.session import RenderSession
from studio.ui.qt_document import QtDocument
from studio.ui.qt_takes_view import COL_VERDICT, QtTakesView

LINE = "EP12_020"


def add_take(doc: QtDocument, line_id: str, seconds: float = 1.5) -> str:
    session = RenderSession(doc.project_file)
    job = session.prepare([line_id], new_take=True)[0]
    write_take(Path(job.out_path), seconds, seed=7)
    session.handle({"type": "started", "job_id": job.job_id})
    session.handle(
        {
            "type": "finished",
            "job_id": job.job_id,
            "path": job.out_path,
            "duration": seconds,
            "sample_rate": 24000,
        }
    )
    return session.jobs[job.job_id].planned.key


def score(doc: QtDocument, key: str, heard: str, trailing: float = 0.2) -> None:
    line = doc.project.lines[doc.project.takes[key].line_id]
    from studio.qa.words import char_error_rate, compare

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
        duration=1.5,
        trailing_silence=trailing,
        level_dbfs=-20.0,
    )
    doc.project.apply(store(doc.project, key, judge(scores, thresholds())))


@pytest.fixture
def takes(qtbot, rendered_podcast):
    doc = QtDocument.open(rendered_podcast)
    first = doc.project.lines[LINE].selected_take
    second = add_take(doc, LINE)
    score(doc, first, doc.project.lines[LINE].text)
    score(doc, second, "and I am somebody else entirely", trailing=3.0)
    view = QtTakesView(doc, output_factory=fake_stream_factory)
    qtbot.addWidget(view)
    view.resize(760, 340)
    view.show()
    doc.select(lines=[LINE])
    yield doc, view, first, second
    view.player.stop()
    doc.close()


def test_lists_every_take_with_scores(takes):
    doc, view, first, second = takes
    assert view.keys() == list(doc.project.lines[LINE].takes)
    rows = {key: r for r, key in enumerate(view.keys())}
    assert set(rows) == {first, second}
    assert view.table.item(rows[first], COL_VERDICT).text() == "ok"
    assert view.table.item(rows[second], COL_VERDICT).text() == "suspect"
    assert "silence at the end" in view.table.item(rows[second], COL_VERDICT).toolTip()
    view.select_key(second)
    assert "line-through" in view.diff.text()  # the script words the take does not say
    view.grab().save("/tmp/takes_view.png")


def test_pick_favourite_delete_and_undo(takes):
    doc, view, first, second = takes
    selected = doc.project.lines[LINE].selected_take
    other = first if selected == second else second
    view.select_key(other)
    assert "Heard:" in view.diff.text() or "Script:" in view.diff.text()
    assert view.pick()
    assert doc.project.lines[LINE].selected_take == other
    assert "● selected" in view.table.item(view.table.currentRow(), 1).text()
    doc.undo_stack.undo()
    assert doc.project.lines[LINE].selected_take == selected

    view.select_key(other)
    assert view.toggle_favourite() and doc.project.takes[other].favourite
    assert view.table.item(view.table.currentRow(), 0).text() == "★"
    assert not view.delete_button.isEnabled()  # the only other take is starred now
    doc.undo_stack.undo()
    assert not doc.project.takes[other].favourite and view.delete_button.isEnabled()
    assert view.delete_unused()
    assert other not in doc.project.takes and view.keys() == [selected]
    doc.undo_stack.undo()
    assert other in doc.project.takes and len(view.keys()) == 2


def test_ab_plays_the_other_take_from_the_same_position(takes):
    doc, view, first, second = takes
    view.select_key(first)
    assert view.play()
    for _ in range(30):  # ~1.3 s at 24 kHz; the position reaches the GUI through the player's timer tick
        FakeStream.last.pull(1)
        view.player._tick()
    at = view.position
    assert at > 0.5
    view.select_key(second)
    assert view.play()
    assert view.player.key == second and view.position == pytest.approx(at)
    assert view.player._pos == int(at * 24000)


def test_model_to_view_follows_scores_and_selection(takes):
    doc, view, first, second = takes
    score(doc, second, doc.project.lines[LINE].text)  # re-checked: ok now
    row = view.keys().index(second)
    assert view.table.item(row, COL_VERDICT).text() == "ok"
    doc.select(lines=["EP12_021"] if "EP12_021" in doc.project.lines else [doc.project.line_order[0]])
    assert view.line_id != LINE


def test_main_window_has_a_takes_dock_following_the_script(make_window, rendered_podcast):
    window = make_window(rendered_podcast)
    view = window.docks["takes"].widget()
    assert isinstance(view, QtTakesView)
    window.view.doc.select(lines=[LINE])
    assert view.line_id == LINE and len(view.keys()) == 1
    action = window.view.script.toolbar.findChild(type(window.view.script.toolbar.actions()[0]), "showTakes")
    assert action is not None
