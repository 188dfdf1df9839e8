"""Speakers: name, colour and voice (Piper, reference clip copied into the project, text profile);
a voice change makes that speaker's lines stale in the same undo step."""

from __future__ import annotations

from studio.core.model import LineStatus, VoiceKind
from studio.ui.qt_document import QtDocument
from studio.ui.qt_speaker_dialog import (
    QtSpeakerDialog,
    QtSpeakersDialog,
    SpeakerInputError,
    remove_speaker,
    save_speaker,
)


def kind_index(dialog, kind):
    return dialog.kind.findData(kind)


def test_new_speaker_with_a_text_profile(qtbot, podcast):
    doc = QtDocument.open(podcast)
    dialog = QtSpeakerDialog(doc)
    qtbot.addWidget(dialog)
    dialog.name.setText("Nadia")
    dialog.kind.setCurrentIndex(kind_index(dialog, VoiceKind.PROFILE))
    dialog.profile.setPlainText("Female, 40s, warm, unhurried")
    dialog.set_colour("#F06292")
    speaker = dialog.result_speaker()
    assert save_speaker(doc, speaker)
    added = doc.project.speaker_by_name("nadia")
    assert added.voice.kind == VoiceKind.PROFILE and added.colour == "#F06292"
    doc.undo_stack.undo()
    assert doc.project.speaker_by_name("Nadia") is None
    doc.close()


def test_reference_clip_is_copied_into_the_project(qtbot, podcast, take_writer, tmp_path):
    doc = QtDocument.open(podcast)
    clip = tmp_path / "maya_ref.wav"
    take_writer(clip, 3.0, seed=1)
    dialog = QtSpeakerDialog(doc, doc.project.speakers["spk_maya"])
    qtbot.addWidget(dialog)
    dialog.kind.setCurrentIndex(kind_index(dialog, VoiceKind.CLIP))
    dialog.set_clip(clip)
    dialog.transcript.setPlainText("Hello, this is Maya speaking clearly.")
    speaker = dialog.result_speaker()
    assert speaker.voice.clip_media and doc.media_path(speaker.voice.clip_media).is_file()
    clip.unlink()  # the project no longer needs the original
    assert doc.media_path(speaker.voice.clip_media).is_file()
    doc.close()


def test_voice_change_makes_lines_stale_in_one_step(qtbot, rendered_podcast):
    doc = QtDocument.open(rendered_podcast)
    dialog = QtSpeakerDialog(doc, doc.project.speakers["spk_theo"])
    qtbot.addWidget(dialog)
    dialog.variant.setValue(5)
    before = doc.undo_stack.count()
    assert save_speaker(doc, dialog.result_speaker())
    theo = [line for line in doc.project.ordered_lines() if line.speaker_id == "spk_theo"]
    maya = [line for line in doc.project.ordered_lines() if line.speaker_id == "spk_maya"]
    assert {line.status for line in theo} == {LineStatus.STALE}
    assert {line.status for line in maya} == {LineStatus.DONE}
    assert doc.undo_stack.count() == before + 1
    doc.undo_stack.undo()
    assert {doc.project.lines[line.id].status for line in theo} == {LineStatus.DONE}
    doc.close()


def test_bad_input_is_explained(qtbot, podcast):
    doc = QtDocument.open(podcast)
    dialog = QtSpeakerDialog(doc)
    qtbot.addWidget(dialog)
    for name, kind, message in (
        ("", VoiceKind.PIPER, "name"),
        ("Maya", VoiceKind.PIPER, "already a speaker"),
        ("Zed", VoiceKind.CLIP, "reference clip"),
        ("Zed", VoiceKind.PROFILE, "profile"),
    ):
        dialog.name.setText(name)
        dialog.kind.setCurrentIndex(kind_index(dialog, kind))
        try:
            dialog.result_speaker()
            raise AssertionError("accepted bad input")
        except SpeakerInputError as exc:
            assert message in str(exc)
    dialog.name.setText("Zed")
    dialog.kind.setCurrentIndex(kind_index(dialog, VoiceKind.PIPER))
    dialog.piper_model.setText("/nowhere/voice.onnx")
    dialog.accept()
    assert "Piper voice" in dialog.error.text() and dialog.result() == 0
    doc.close()


def test_speakers_list_and_removal_rules(qtbot, podcast):
    doc = QtDocument.open(podcast)
    dialog = QtSpeakersDialog(doc)
    qtbot.addWidget(dialog)
    assert dialog.list.count() == 2 and "8 lines" in dialog.list.item(0).text()
    assert "speaks 8 line(s)" in remove_speaker(doc, "spk_maya")
    from studio.core import ops
    from studio.core.model import Speaker

    doc.edit(ops.Insert(Speaker("spk_x", "Extra")))
    assert dialog.list.count() == 3
    assert remove_speaker(doc, "spk_x") == ""
    assert dialog.list.count() == 2
    doc.close()
