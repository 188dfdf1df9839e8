"""Issue 11 item 5: a clip added without a transcript is transcribed (in-process Whisper here, the
engine in the studio); the heard words fill its transcript, and a transcript that disagrees is flagged."""

from __future__ import annotations

import shutil
from pathlib import Path

from ui_fakes import fake_stream_factory

from studio.bank.store import VoiceBank
from studio.ui.qt_voice_bank import make_voice_bank_panel
from studio.ui.qt_voice_recorder import RecorderUnavailable


def _no_microphone():
    raise RecorderUnavailable("No microphone (test)")


def test_a_clip_without_transcript_is_heard_and_a_wrong_transcript_is_flagged(
    qtbot, tmp_path: Path, whisper, piper_takes, fake_client_factory
) -> None:
    calls: list[str] = []

    def transcriber():
        def hear(path: str) -> str:
            calls.append(path)
            return whisper.transcribe(path, "en").text

        return hear, lambda: None

    bank = VoiceBank.open(tmp_path / "bank")
    voice = bank.create_voice("Innkeeper")
    panel = make_voice_bank_panel(
        bank,
        output_factory=fake_stream_factory,
        client_factory=fake_client_factory,
        input_factory=_no_microphone,
        transcriber=transcriber,
    )
    qtbot.addWidget(panel)
    panel.resize(460, 900)
    panel.show()
    try:
        panel.select_voice(voice.id)
        clip = tmp_path / "tavern.wav"
        shutil.copy(piper_takes["tavern"], clip)
        panel.details.add_clip_files([clip])
        assert panel.jobs.wait_idle(60)
        assert len(calls) == 1
        [editor] = panel.details.clip_editors
        words = editor.transcript.text().lower()
        assert "everything in this tavern" in words, words
        stored = bank.get(voice.id).clips[0]
        assert stored.transcript == editor.transcript.text() and stored.heard == stored.transcript
        assert "Transcribed tavern.wav" in panel.status.text()
        assert not editor.flag.isVisibleTo(editor) and not editor.use_heard_button.isVisibleTo(editor)

        editor.transcript.setText("Welcome back to the show, where we talk about the city.")
        editor.transcript.editingFinished.emit()
        editor = panel.details.clip_editors[0]
        assert editor.flag.isVisibleTo(editor) and editor.use_heard_button.isVisibleTo(editor)
        assert "The clip says: “" in editor.flag.text() and "tavern" in editor.flag.text().lower()
        panel.details.setCurrentIndex(1)
        qtbot.wait(50)
        panel.details.grab().save(str(Path("/tmp/voice-reference-flag.png")))

        editor.use_heard_button.click()
        editor = panel.details.clip_editors[0]
        assert bank.get(voice.id).clips[0].transcript == stored.heard
        assert not editor.flag.isVisibleTo(editor)
    finally:
        panel.shutdown()
        bank.close()
