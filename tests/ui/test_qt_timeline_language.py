"""The Script panel's language switch is the timeline's: one undoable edit, and either side follows."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from studio.audio.synthetic import ProjectBuilder, speechlike
from studio.core import ops
from studio.core.layout import layout_ops, set_timeline_language
from studio.core.model import Take
from studio.core.store import ProjectFile
from studio.ui.qt_document import QtDocument
from studio.ui.qt_peak_store import QtPeakStore
from studio.ui.qt_script_panel import QtScriptPanel
from studio.ui.qt_timeline import QtTimelinePanel

RATE = 22050


def make_project(root: Path) -> Path:
    """Three English lines; French takes (longer) for the first two only."""
    with ProjectFile.create(root) as pf:
        b = ProjectBuilder(pf.media_dir, sample_rate=RATE, channels=1)
        b.speaker("s1", "Bram")
        b.speaker("s2", "Ann")
        for i in (1, 2, 3):
            en = b.media(speechlike(1.0, RATE, seed=i), RATE, f"en_{i}.wav")
            line = b.line(f"VO_{i}", "s1" if i != 2 else "s2", f"Line {i}", en, RATE, 1.0)
            if i < 3:
                fr = b.media(speechlike(1.6, RATE, seed=10 + i), RATE, f"fr_{i}.wav")
                take = Take(f"fr_{i}", line.id, fr, 1.6, RATE, language="fr")
                b.project.takes[take.key] = take
                b.project.lines[line.id] = replace(
                    line,
                    takes=(*line.takes, take.key),
                    language_takes=(("fr", take.key),),
                    translations=(("fr", f"Ligne {i}"),),
                )
        p = b.project
        pf.project.apply(ops.set_settings(sample_rate=RATE, channels=1, target_languages=("fr",)))
        records = [*p.speakers.values(), *p.takes.values()]
        pf.project.apply(ops.Batch((*(ops.Insert(r) for r in records), *(ops.add_line(p.lines[i]) for i in p.line_order))))
        pf.project.apply(layout_ops(pf.project))
    return root


@pytest.fixture
def studio(qtbot, tmp_path):
    doc = QtDocument.open(make_project(tmp_path / "vo.chorus"))
    peaks = QtPeakStore(doc.media_path)
    script = QtScriptPanel(doc)
    timeline = QtTimelinePanel(doc, peaks)
    for widget in (script, timeline):
        qtbot.addWidget(widget)
    yield doc, script, timeline
    peaks.shutdown()
    doc.close()


def media(doc) -> dict[str, str]:
    return {c.line_id: c.media for c in doc.project.clips.values()}


def test_script_language_switch_moves_the_timeline_and_back(qtbot, studio, tmp_path):
    doc, script, timeline = studio
    bar = script.language_bar
    assert bar.current_language() == "en" and not bar.timeline_note.text()
    before = dict(doc.project.clips)

    bar.set_language("fr")  # the user picks French: table and timeline switch in one step
    assert doc.project.settings.timeline_language == "fr" and script.model.language == "fr"
    assert media(doc) == {"VO_1": "fr_1.wav", "VO_2": "fr_2.wav"}
    assert doc.undo_stack.count() == 1 and doc.undo_stack.undoText() == "Timeline in fr"
    assert bar.timeline_note.text() == "⚠ 1 without a fr take"
    timeline.resize(900, 300)
    timeline.show()
    qtbot.waitExposed(timeline)
    assert not timeline.grab().isNull()
    vo_1 = next(c for c in doc.project.clips.values() if c.line_id == "VO_1")
    assert timeline.canvas.painter._clip_label(vo_1, doc.project.lines["VO_1"]) == "fr: Ligne 1  ·  VO_1"

    doc.undo_stack.undo()  # the source layout comes back and the switch with it
    assert dict(doc.project.clips) == before
    assert bar.current_language() == "en" and script.model.language == "" and not bar.timeline_note.text()

    doc.edit(set_timeline_language(doc.project, "fr"))  # set elsewhere (a setting, the CLI): the switch follows
    assert bar.current_language() == "fr" and script.model.language == "fr"
    assert doc.undo_stack.count() == 1  # following the project is no edit of its own


def test_export_dialog_mixes_every_language(qtbot, tmp_path):
    import soundfile as sf

    from studio.ui.qt_export_dialog import QtExportDialog

    doc = QtDocument.open(make_project(tmp_path / "vo.chorus"))
    dialog = QtExportDialog(doc)
    qtbot.addWidget(dialog)
    assert dialog.mix_languages.isVisibleTo(dialog) and "fr" in dialog.mix_languages.text()
    dialog.format.setCurrentIndex(dialog.format.findData("wav"))
    dialog.output.setText(str(tmp_path / "vo.wav"))
    dialog.preset.setCurrentIndex(dialog.preset.findData("none"))
    dialog.mix_languages.setChecked(True)
    assert dialog.start()
    dialog.wait(120)
    assert dialog.error_text == ""
    en, fr = (sf.info(str(tmp_path / f"vo.{code}.wav")).duration for code in ("en", "fr"))
    assert en == pytest.approx(3 * 1.0 + 2 * 0.6, abs=0.05)  # three 1 s lines, two turns
    assert fr == pytest.approx(1.6 + 0.6 + 1.6, abs=0.05)  # VO_3 has no fr take
    assert doc.project.settings.timeline_language == ""  # the studio's timeline stays as it was
    doc.close()
