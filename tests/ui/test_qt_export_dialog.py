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
