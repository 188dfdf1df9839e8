"""The Export dialog runs the shared export on a worker thread, shows progress, and applies the
result on the GUI thread; cancel leaves nothing behind."""

from __future__ import annotations

import soundfile as sf

from studio.ui.qt_document import QtDocument
from studio.ui.qt_export_dialog import QtExportDialog


def make_dialog(qtbot, path):
    doc = QtDocument.open(path)
    dialog = QtExportDialog(doc)
    qtbot.addWidget(dialog)
    return doc, dialog


def test_export_from_the_dialog_writes_the_file(qtbot, rendered_podcast, tmp_path):
    doc, dialog = make_dialog(qtbot, rendered_podcast)
    dialog.format.setCurrentIndex(dialog.format.findData("wav"))
    out = tmp_path / "episode.wav"
    dialog.output.setText(str(out))
    dialog.subs_box.setChecked(True)
    assert dialog.start()
    assert not dialog.export_button.isEnabled()
    dialog.wait(120)
    assert dialog.error_text == "" and dialog.result_value is not None
    info = sf.info(str(out))
    assert info.samplerate == 48000 and info.channels == 2
    assert abs(info.duration - doc.project.duration()) < 0.5
    srt = out.with_suffix(".srt").read_text(encoding="utf-8")
    assert srt.count("-->") >= 15 and "Maya: Welcome back" in srt  # long lines may span several cues
    assert dialog.progress.value() == 1000 and dialog.export_button.isEnabled()
    assert "finished" in dialog.status.text()
    doc.close()


def test_cancel_leaves_no_file(qtbot, rendered_podcast, tmp_path):
    doc, dialog = make_dialog(qtbot, rendered_podcast)
    dialog.format.setCurrentIndex(dialog.format.findData("flac"))
    out = tmp_path / "episode.flac"
    dialog.output.setText(str(out))
    assert dialog.start()
    dialog.cancel_or_close()
    dialog.wait(120)
    assert "cancelled" in dialog.status.text().lower()
    assert not out.exists() and not list(tmp_path.glob("*.part")) and not list(tmp_path.glob(".*"))
    doc.close()


def test_an_unwritable_destination_is_a_clear_message(qtbot, rendered_podcast, tmp_path):
    doc, dialog = make_dialog(qtbot, rendered_podcast)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    dialog.format.setCurrentIndex(dialog.format.findData("wav"))
    dialog.output.setText(str(blocker / "out.wav"))  # a folder that is a file
    assert dialog.start()
    dialog.wait(60)
    assert dialog.result_value is None and dialog.error_text
    assert "Traceback" not in dialog.status.text()
    doc.close()


def test_nothing_chosen_is_refused(qtbot, rendered_podcast):
    doc, dialog = make_dialog(qtbot, rendered_podcast)
    dialog.mix_box.setChecked(False)
    assert not dialog.start()
    assert dialog.status.text() == "Choose something to export."
    doc.close()


def test_engine_profile_export_from_the_dialog(qtbot, rendered_podcast, tmp_path, take_writer):
    """Per-line files with an engine profile: a folder per language, the manifests, the engine's table."""
    import json
    import xml.etree.ElementTree as ET
    from pathlib import Path

    from studio.audio.profiles import PROFILES
    from studio.core import workflow
    from studio.core.store import ProjectFile
    from studio.render.takes import finished_ops, plan_render
    from studio.ui.qt_export_dialog import ENGINE_PROFILES, PLAIN_TEMPLATE, PROFILE_TEMPLATE

    assert {key for key, _ in ENGINE_PROFILES} == {"", *PROFILES}
    with ProjectFile.open(rendered_podcast) as pf:
        project = pf.project
        project.apply(workflow.set_languages(project.settings.source_language, ["fr"]))
        first = project.line_order[0]
        project.apply(workflow.set_translation(project, first, "fr", "Bon retour !"))
        planned = plan_render(project, pf.media_dir, language="fr").jobs[0]
        take_writer(Path(planned.job.out_path), 1.0, seed=1)
        media = Path(planned.job.out_path).name
        project.apply(finished_ops(project, planned, media=media, duration=1.0, sample_rate=24000))
    doc, dialog = make_dialog(qtbot, rendered_podcast)
    source = doc.project.settings.source_language
    languages = [dialog.lines_language.itemData(i) for i in range(dialog.lines_language.count())]
    assert languages == ["", source, "fr"] and not dialog.lines_language.isEnabled()
    dialog.mix_box.setChecked(False)
    dialog.lines_box.setChecked(True)
    out = tmp_path / "wwise"
    dialog.lines_dir.setText(str(out))
    dialog.engine_profile.setCurrentIndex(dialog.engine_profile.findData("wwise"))
    assert dialog.lines_template.text() == PROFILE_TEMPLATE and dialog.lines_language.isEnabled()
    assert dialog.request()["profile"] == "wwise" and dialog.request()["language"] == ""
    assert dialog.start()
    dialog.wait(120)
    assert dialog.error_text == "", dialog.error_text
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["profile"] == "wwise" and manifest["languages"] == sorted([source, "fr"])
    assert len(manifest["lines"]) == len(doc.project.line_order) + 1
    assert (out / "fr" / f"{first}.wav").is_file() and "wwise" in dialog.status.text()
    sources = ET.parse(out / "ExternalSources.wsources").getroot().findall("Source")
    assert all((out / s.get("Path", "")).is_file() for s in sources)
    # back to plain files: the names template follows
    dialog.engine_profile.setCurrentIndex(0)
    assert dialog.lines_template.text() == PLAIN_TEMPLATE and not dialog.lines_language.isEnabled()
    doc.close()
