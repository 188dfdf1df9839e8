"""One mixed recording, two speakers: each recorded line goes to the voice that speaks it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from studio.core.store import ProjectFile
from studio.recordings.importer import import_recording
from studio.recordings.segment import Word


def test_a_mixed_file_is_split_between_the_speakers_named(piper_takes, whisper, tmp_path: Path) -> None:
    import pedalboard

    takes = {name: sf.read(path, dtype="float32") for name, path in piper_takes.items()}
    rate = takes["welcome"][1]
    deeper = pedalboard.Pedalboard([pedalboard.PitchShift(semitones=-6)])  # a second, lower voice
    other = deeper(takes["tavern"][0][None, :], rate)[0].astype(np.float32)
    rng = np.random.default_rng(3)
    gap = (rng.standard_normal(int(1.2 * rate)) * 1e-4).astype(np.float32)
    mixed = np.concatenate([gap, takes["welcome"][0], gap, other, gap, takes["bridge"][0], gap])
    sf.write(tmp_path / "mixed.wav", mixed, rate, subtype="PCM_16")

    def transcribe(path: str) -> list[Word]:
        t = whisper.transcribe(path, "en")
        return [Word(w.word, w.start, w.end, w.probability) for w in t.words]

    with ProjectFile.create(tmp_path / "show") as pf:
        result = import_recording(pf, tmp_path / "mixed.wav", ["Host", "Guest"], transcribe)
        project = pf.project
        lines = [project.lines[i] for i in result.line_ids]
        names = [project.speakers[line.speaker_id].name for line in lines]
        said = [(n, line.text) for n, line in zip(names, lines, strict=True)]
        # Whisper's pauses may split a sentence into two lines; every line must still go to its voice
        assert names[0] == "Host" and all(
            (n == "Guest") == ("tavern" in text.lower() or "keep" in text.lower()) for n, text in said
        ), said
        guest_line = next(line for n, line in zip(names, lines, strict=True) if n == "Guest")
        assert len(result.recording_ids) == 2
        recordings = [project.recordings[r] for r in result.recording_ids]
        assert {r.media for r in recordings} == {recordings[0].media}  # one file, never copied twice
        tracks = {project.clips[c].track_id for c in project.clips if project.clips[c].line_id == guest_line.id}
        assert tracks == {project.recordings[guest_line.recording_id].track_id}
        guest = project.recordings[guest_line.recording_id]
        span = guest_line.words[0]
        assert span[2] - 0.7 <= guest.ref_in and guest.ref_out <= span[3] + 0.7  # the guest's own voice
