"""File ▸ Import recording: transcribed off the GUI thread, added as recorded lines in one undo step."""

from __future__ import annotations

from pathlib import Path

from studio.recordings.segment import Word


def test_import_recording_adds_recorded_lines_and_undo_removes_them(qtbot, make_window, podcast: Path, piper_takes, whisper):
    def factory(_options):
        def transcribe(path: str) -> list[Word]:
            t = whisper.transcribe(path, "en")
            return [Word(w.word, w.start, w.end, w.probability) for w in t.words]

        return transcribe, lambda: None

    window = make_window(podcast)
    doc = window.view.doc
    before = len(doc.project.lines)
    progress: list[float] = []
    importer = window.import_recording(Path(piper_takes["welcome"]), "Guest", factory)
    importer.progress.connect(progress.append)
    qtbot.waitUntil(lambda: len(doc.project.lines) > before, timeout=60000)
    added = [doc.project.lines[i] for i in doc.project.line_order if doc.project.lines[i].recording_id]
    assert added and "welcome" in added[0].text.lower()
    assert doc.project.speaker_by_name("Guest") is not None
    assert any(c.line_id == added[0].id for c in doc.project.clips.values())  # placed on the timeline
    doc.undo_stack.undo()
    assert len(doc.project.lines) == before and doc.project.speaker_by_name("Guest") is None


def test_a_bad_recording_is_reported_and_adds_nothing(qtbot, make_window, podcast: Path, tmp_path: Path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really audio")
    window = make_window(podcast)
    doc = window.view.doc
    before = len(doc.project.lines)
    errors: list[str] = []
    importer = window.import_recording(bad, "Guest", lambda _o: ((lambda p: []), lambda: None))
    importer.failed.connect(errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=20000)
    assert "broken.wav" in errors[0] and len(doc.project.lines) == before
