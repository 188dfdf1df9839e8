"""Speech recognition in the engine: the bundled model, transcripts of real Piper speech, the text
rules that make script and transcript comparable, and transcribe jobs through the host."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from engine.asr.models import bundled_model_dir, english_only, resolve_model
from engine.asr.recognizer import Recognizer
from engine.asr.text import expected_speech, heard_speech
from engine.backends.base import BackendError
from engine.protocol import TranscribeJob, job_from_dict
from tests.conftest import QA_SENTENCES
from tests.engine.test_host import HostHarness, ScriptedBackend, final


@pytest.fixture
def asr_host(whisper: Recognizer) -> Iterator[HostHarness]:
    """An in-process host with a scripted render backend and the session's recogniser."""
    h = HostHarness(ScriptedBackend(), recognizer=whisper)
    yield h
    h.close()


def words(text: str) -> list[str]:
    return [w.strip(".,!?;:'\"").lower() for w in text.replace("-", " ").split() if w.strip(".,!?;:'\"")]


def test_bundled_model_is_whisper_tiny_en_in_ctranslate2_format() -> None:
    folder = bundled_model_dir()
    assert (folder / "model.bin").stat().st_size > 70_000_000  # ~39 M float16 parameters
    with open(folder / "vocabulary.txt", "rb") as handle:
        assert sum(1 for _ in handle) == 51864  # the English-only vocabulary (multilingual: 51865)
    assert english_only("", folder)
    assert resolve_model("") == folder == resolve_model("bundled")


def test_model_sources_fail_with_clear_reasons(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="no model.bin"):
        resolve_model(str(tmp_path))
    with pytest.raises(BackendError, match="folder does not exist"):
        resolve_model(str(tmp_path / "nowhere"))
    with pytest.raises(BackendError, match="not downloaded and downloads are off"):
        resolve_model("small.en", local_files_only=True)
    with pytest.raises(BackendError, match="unknown Whisper model"):
        resolve_model("gigantic")


def test_expected_and_heard_text_spell_numbers_alike() -> None:
    assert expected_speech("I have 42 cats [laugh]") == "I have forty-two cats"
    assert words(heard_speech("I have 42 cats.")) == words(expected_speech("I have 42 cats [laugh]"))
    assert expected_speech("[humming start] la la [humming end]") == "la la"


def test_transcribes_piper_speech_with_word_timings(whisper: Recognizer, piper_takes: dict[str, Path]) -> None:
    transcript = whisper.transcribe(piper_takes["welcome"])
    assert words(transcript.text) == words(QA_SENTENCES["welcome"])
    assert [w.word.strip(".,").lower() for w in transcript.words][:3] == ["welcome", "back", "to"]
    starts = [w.start for w in transcript.words]
    assert starts == sorted(starts) and transcript.words[-1].end <= transcript.duration + 0.05
    assert transcript.duration == pytest.approx(soundfile.info(str(piper_takes["welcome"])).duration, abs=0.01)


def test_silence_and_unreadable_files(whisper: Recognizer, tmp_path: Path) -> None:
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(16000 * 2, np.float32), 16000)
    assert len(words(whisper.transcribe(silent).text)) <= 1  # Whisper may hallucinate a filler
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(BackendError, match="cannot read bad.wav as audio"):
        whisper.transcribe(bad)
    with pytest.raises(BackendError, match="no audio file"):
        whisper.transcribe(tmp_path / "missing.wav")
    with pytest.raises(BackendError, match="knows English only"):
        whisper.transcribe(silent, language="de")


def test_transcribe_job_round_trip() -> None:
    job = TranscribeJob("t1", "/tmp/a.wav", text="Hi 2 you", language="en", line_id="L1")
    data = job.to_dict()
    assert data["task"] == "transcribe" and job_from_dict(data) == job
    assert job_from_dict({"job_id": "r", "text": "x", "out_path": "/tmp/r.wav"}).job_id == "r"


def test_host_runs_transcribe_jobs_beside_rendering(
    asr_host: HostHarness, piper_takes: dict[str, Path]
) -> None:
    h = asr_host
    job = TranscribeJob("t1", str(piper_takes["bridge"]), text=QA_SENTENCES["bridge"])
    h.send("submit", jobs=[job.to_dict(), TranscribeJob("t2", "relative.wav").to_dict()])
    events = h.until(final("t1"))
    assert any(e["type"] == "failed" and e["job_id"] == "t2" and "absolute" in e["reason"] for e in events)
    done = events[-1]
    assert done["type"] == "finished" and done["task"] == "transcribe"
    assert "nineteen ninety-eight" in done["expected"] and "forty-two" in done["expected"]
    heard = words(done["heard"])
    assert heard[:4] == ["the", "old", "bridge", "closed"] and "ferry" in heard
    assert len(done["transcript"]["words"]) >= 10


def test_transcribe_jobs_cancel(asr_host: HostHarness, piper_takes: dict[str, Path]) -> None:
    h = asr_host
    jobs = [TranscribeJob(f"c{i}", str(piper_takes["welcome"])).to_dict() for i in range(3)]
    h.send("submit", jobs=jobs)
    h.send("cancel", job_ids=["c1", "c2"])
    ends: dict[str, str] = {}

    def all_ended(e: dict) -> bool:
        if e.get("type") in ("finished", "cancelled", "failed"):
            ends[e["job_id"]] = e["type"]
        return len(ends) == 3

    h.until(all_ended)
    # c0 is transcribed; c1 and c2 end cancelled, whether the cancel found them queued or already
    # packed into one Whisper window with c0 (their results are then dropped)
    assert ends == {"c0": "finished", "c1": "cancelled", "c2": "cancelled"}
