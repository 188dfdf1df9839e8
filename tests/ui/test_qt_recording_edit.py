"""Editing a recorded line's text in the script table cuts and patches its audio (undoable)."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.core import ops
from studio.core.store import ProjectFile
from studio.recordings.importer import import_recording
from studio.recordings.segment import Word
from studio.recordings.text_edit import WordChange, plan_text_edit
from studio.ui.qt_document import QtDocument
from studio.ui.qt_script_panel import COL_TEXT, QtScriptModel


@pytest.fixture
def recorded_doc(piper_takes, whisper, tmp_path: Path):
    def transcribe(path: str) -> list[Word]:
        t = whisper.transcribe(path, "en")
        return [Word(w.word, w.start, w.end, w.probability) for w in t.words]

    pf = ProjectFile.create(tmp_path / "rec")
    result = import_recording(pf, piper_takes["welcome"], "Alice", transcribe)
    pf.close()
    doc = QtDocument.open(tmp_path / "rec.chorus")
    yield doc, result.line_ids[0]
    doc.close()


def _two_words(text: str) -> tuple[str, str]:
    """Two distinct words of the transcript (Whisper's hearing varies a little run to run), far apart."""
    words = text.split()
    first = words[len(words) // 3]
    second = next(w for w in reversed(words) if w != first and len(w.strip(",.")) > 2)
    return first, second


def test_the_plan_cuts_deleted_words_and_patches_replaced_and_inserted_ones(recorded_doc) -> None:
    doc, line_id = recorded_doc
    line = doc.project.lines[line_id]
    words = line.text.split()
    cut, swap = _two_words(line.text)
    typed = " ".join("town" if w == swap else w for w in words if w != cut)
    plan = plan_text_edit(line, typed)
    assert WordChange(cut, "") in plan and any(c.new.startswith("town") for c in plan)
    assert plan_text_edit(line, line.text.upper()) == []  # only case/punctuation changed: nothing to do
    third = words[2]
    inserted = plan_text_edit(line, " ".join([*words[:3], "tonight", *words[3:]]))
    assert inserted == [WordChange(third, f"{third} tonight")]


def test_typing_in_the_table_cuts_words_and_says_patching_needs_cloning(qtbot, recorded_doc) -> None:
    doc, line_id = recorded_doc
    model = QtScriptModel(doc)
    row = doc.project.line_order.index(line_id)
    before = doc.project.lines[line_id]
    failures: list[str] = []
    doc.editFailed.connect(failures.append)
    cut, swap = _two_words(before.text)
    typed = " ".join("town" if w == swap else w for w in before.text.split() if w != cut)
    assert model.setData(model.index(row, COL_TEXT), typed)
    after = doc.project.lines[line_id]
    assert cut not in after.text.split() and swap in after.text.split()  # cut done, patch refused
    assert any("needs a cloning backend" in f for f in failures)
    doc.undo_stack.undo()
    assert doc.project.lines[line_id] == before


def test_a_patch_renders_off_the_gui_thread_and_lands_as_one_undo_step(qtbot, recorded_doc, monkeypatch) -> None:
    from engine.backends.base import render_one
    from engine.takefile import write_take
    from studio.ui import qt_recording_edit
    from tests.engine.higgs_tiny import backend

    doc, line_id = recorded_doc
    doc.edit(ops.set_settings(backend="higgs"))
    higgs = backend()

    def fake_render_one(_backend: str, _options: dict, job, timeout_s: float = 600.0) -> str:
        outcome = render_one(higgs, job, lambda *a: None, lambda j: False)
        assert outcome.result is not None, outcome.error
        return str(write_take(Path(job.out_path), outcome.result.audio, outcome.result.sample_rate))

    monkeypatch.setattr(qt_recording_edit, "render_one", fake_render_one)
    model = QtScriptModel(doc)
    row = doc.project.line_order.index(line_id)
    before = doc.project.lines[line_id]
    words = before.text.split()
    old = " ".join(words[len(words) // 3 : len(words) // 3 + 2])
    assert model.setData(model.index(row, COL_TEXT), before.text.replace(old, "small details"))
    model.patcher.wait()
    qtbot.waitUntil(lambda: "small details" in doc.project.lines[line_id].text, timeout=10000)
    assert old not in doc.project.lines[line_id].text
    doc.undo_stack.undo()
    assert doc.project.lines[line_id] == before


def test_create_voice_from_a_recorded_speaker(make_window, piper_takes, whisper, tmp_path: Path) -> None:
    def transcribe(path: str) -> list[Word]:
        t = whisper.transcribe(path, "en")
        return [Word(w.word, w.start, w.end, w.probability) for w in t.words]

    with ProjectFile.create(tmp_path / "voice") as pf:
        result = import_recording(pf, piper_takes["tavern"], "Bram", transcribe)
    window = make_window(tmp_path / "voice.chorus")
    assert window.voice_from_recording() == ""  # nothing selected: told to select a recorded line
    window.view.doc.select(lines=[result.line_ids[0]])
    name = window.voice_from_recording()
    assert name == "Bram (recorded)"
    bank = window.voice_bank.bank
    voice = next(v for v in bank.list_voices() if v.name == name)
    assert "from recording" in voice.provenance.source and voice.primary_clip is not None
    assert voice.primary_clip.transcript  # the words of the reference stretch
