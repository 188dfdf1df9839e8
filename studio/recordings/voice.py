""""Create voice from this speaker": a bank voice from a recording's reference stretch.

Thread contract: the project's thread (reads the recording file, writes the bank).
"""

from __future__ import annotations

from typing import Any

from studio.bank.clips import prepare_samples
from studio.bank.records import Provenance
from studio.recordings.audio import RecordingError, read_span


def reference_transcript(project: Any, recording_id: str) -> str:
    rec = project.recordings[recording_id]
    return " ".join(
        str(w[0]) for line in project.ordered_lines() if line.recording_id == rec.id
        for w in line.words if w[4] >= 0 and rec.ref_in <= w[2] and w[3] <= rec.ref_out
    )


def voice_from_recording(pf: Any, recording_id: str, bank: Any, name: str = "") -> Any:
    """Add a bank voice cloned from the recording's reference stretch, with provenance; returns it."""
    project = pf.project
    rec = project.recordings.get(recording_id)
    if rec is None:
        raise RecordingError(f"no recording with id {recording_id}")
    speaker = project.speakers.get(rec.speaker_id)
    speaker_name = speaker.name if speaker else "speaker"
    audio, rate = read_span(pf.media_path(rec.media), rec.ref_in, rec.ref_out)
    transcript = reference_transcript(project, recording_id)
    clip = prepare_samples(audio, rate, transcript=transcript, name=rec.name, trim=True)
    provenance = Provenance(
        source=f"from recording {rec.name}, speaker {speaker_name} ({rec.ref_in:.1f}–{rec.ref_out:.1f} s)",
        consent="recorded for this project; confirm the speaker's consent before other use",
    )
    return bank.create_voice(name or f"{speaker_name} (recorded)", provenance=provenance, clips=[clip])
