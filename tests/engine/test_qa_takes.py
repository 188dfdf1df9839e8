"""Take checks on real speech: takes broken on purpose are caught, clean Piper takes pass, and the
re-roll loop stops at the first good take or after N and keeps the best (engine in-process)."""

from __future__ import annotations

import shutil
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from engine.asr.recognizer import Recognizer
from engine.asr.text import expected_speech, heard_speech
from engine.protocol import RenderJob, TranscribeJob
from studio.core import ops
from studio.core.model import ScriptLine, Speaker, Take
from studio.core.store import ProjectFile
from studio.core.take_ops import pick_take
from studio.qa.check import score_take, store
from studio.qa.reroll import retries_for
from studio.qa.scores import TakeScores
from studio.render.checking import TakeChecker
from studio.render.session import RenderSession
from tests.conftest import QA_SENTENCES


def transcribed(whisper: Recognizer, path: Path | str, text: str, job_id: str = "") -> dict[str, Any]:
    """The engine's ``finished`` event for a transcribe job, made in-process."""
    transcript = whisper.transcribe(path, "en")
    return {
        "type": "finished",
        "job_id": job_id,
        "task": "transcribe",
        "transcript": transcript.to_dict(),
        "expected": expected_speech(text, "en"),
        "heard": heard_speech(transcript.text),
    }


@pytest.fixture
def pf(tmp_path: Path) -> ProjectFile:
    pf = ProjectFile.create(tmp_path / "qa")
    pf.project.apply(ops.Insert(Speaker("s", "Sam")))
    return pf


def check(pf: ProjectFile, whisper: Recognizer, text: str, audio: np.ndarray, rate: int) -> TakeScores:
    """Score ``audio`` as a take of a new line saying ``text``."""
    project = pf.project
    line_id = f"L{len(project.lines)}"
    project.apply(ops.add_line(ScriptLine(line_id, "s", text)))
    path = pf.media_dir / f"{line_id}.wav"
    soundfile.write(path, audio, rate, subtype="FLOAT")
    key = f"k{line_id}"
    take = Take(key, line_id, path.name, len(audio) / rate, rate)
    project.apply(ops.Batch((ops.Insert(take), ops.Update("line", line_id, (("takes", (key,)), ("selected_take", key))))))
    scores = score_take(project, pf.media_dir, key, transcribed(whisper, path, text))
    project.apply(store(project, key, scores))
    return scores


def read(path: Path) -> tuple[np.ndarray, int]:
    audio, rate = soundfile.read(path, dtype="float32")
    return audio, rate


def test_clean_piper_takes_pass(pf: ProjectFile, whisper: Recognizer, piper_takes: dict[str, Path]) -> None:
    for name, text in QA_SENTENCES.items():
        scores = check(pf, whisper, text, *read(piper_takes[name]))
        assert scores.verdict == "ok", (name, scores.reasons, scores.transcript)
        assert scores.words_checked and scores.cer <= 0.1 and 2.0 < scores.rate < 5.5, scores


def test_takes_broken_on_purpose_are_caught(
    pf: ProjectFile, whisper: Recognizer, piper_takes: dict[str, Path]
) -> None:
    welcome, rate = read(piper_takes["welcome"])
    text = QA_SENTENCES["welcome"]
    silence = np.zeros(rate * 3, np.float32)

    other = check(pf, whisper, text, *read(piper_takes["tavern"]))  # another line's words
    assert other.suspect and any(r.startswith("words differ") for r in other.reasons), other.reasons

    padded = check(pf, whisper, text, np.concatenate([welcome, silence]), rate)
    assert padded.suspect and any("silence at the end" in r for r in padded.reasons), padded.reasons
    lead = check(pf, whisper, text, np.concatenate([silence, welcome]), rate)
    assert lead.suspect and any("silence at the start" in r for r in lead.reasons), lead.reasons

    cut = check(pf, whisper, text, welcome[: int(len(welcome) * 0.4)], rate)  # truncated
    assert cut.suspect and cut.missing and any("words differ" in r or "too short" in r for r in cut.reasons)

    noise = (np.random.default_rng(1).standard_normal(rate * 4) * 0.1).astype(np.float32)
    noisy = check(pf, whisper, text, noise, rate)
    assert noisy.suspect and noisy.wer > 0.8, (noisy.reasons, noisy.transcript)

    assert TakeScores.from_json(pf.project.takes["kL4"].qa) == noisy


# --------------------------------------------------------------------------------------------------
# Re-roll
# --------------------------------------------------------------------------------------------------


class FakeEngine:
    """Renders the good Piper take for seeds in ``good_seeds`` and a broken one otherwise; transcribes
    with the real recogniser. Jobs run in submission order."""

    def __init__(self, whisper: Recognizer, good: Path, good_seeds: set[int], bad: dict[int, str]) -> None:
        self.whisper = whisper
        self.good = good
        self.good_seeds = good_seeds
        self.bad = bad
        self.queue: deque[Any] = deque()
        self.seeds: list[int] = []

    def submit(self, jobs: Any) -> None:
        self.queue.extend(jobs)

    def run(self, session: RenderSession, checker: TakeChecker) -> None:
        while self.queue:
            job = self.queue.popleft()
            if isinstance(job, TranscribeJob):
                event = transcribed(self.whisper, job.audio_path, job.text, job.job_id)
            else:
                event = self.render(job)
            checker.handle(event, session.handle(event))

    def render(self, job: RenderJob) -> dict[str, Any]:
        seed = job.params.seed
        self.seeds.append(seed)
        audio, rate = read(self.good)
        if seed not in self.good_seeds:
            kind = self.bad.get(seed, "noise")
            if kind == "noise":
                audio = (np.random.default_rng(seed).standard_normal(rate * 3) * 0.1).astype(np.float32)
            else:  # padded
                audio = np.concatenate([audio, np.zeros(rate * 3, np.float32)])
        soundfile.write(job.out_path, audio, rate, subtype="FLOAT")
        return {"type": "finished", "job_id": job.job_id, "path": job.out_path, "duration": len(audio) / rate, "sample_rate": rate}


def reroll_project(pf: ProjectFile, backend: str = "higgs") -> str:
    pf.project.apply(ops.set_settings(backend=backend))
    pf.project.apply(ops.add_line(ScriptLine("W", "s", QA_SENTENCES["welcome"])))
    return "W"


def test_reroll_stops_at_the_first_good_take(pf: ProjectFile, whisper: Recognizer, piper_takes: dict[str, Path]) -> None:
    line_id = reroll_project(pf)
    engine = FakeEngine(whisper, piper_takes["welcome"], good_seeds={1, 2, 3}, bad={0: "noise"})
    session = RenderSession(pf, layout=False)
    checker = TakeChecker(session, engine.submit, retries_for(pf.project))
    assert checker.retries == 2  # the Higgs default
    engine.submit(session.prepare())
    engine.run(session, checker)
    assert engine.seeds == [0, 1] and checker.done
    selected = pf.project.selected_take(line_id)
    assert selected is not None and selected.seed == 1
    assert not TakeScores.from_json(selected.qa).suspect  # type: ignore[union-attr]
    assert len(pf.project.lines[line_id].takes) == 2
    [note] = checker.summary()
    assert note.startswith("W: re-rolled 1x (words differ") and "kept seed 1 (ok)" in note


def test_reroll_gives_up_after_n_and_keeps_the_best(
    pf: ProjectFile, whisper: Recognizer, piper_takes: dict[str, Path]
) -> None:
    line_id = reroll_project(pf)
    engine = FakeEngine(whisper, piper_takes["welcome"], good_seeds=set(), bad={0: "noise", 1: "padded", 2: "noise"})
    session = RenderSession(pf, layout=False)
    checker = TakeChecker(session, engine.submit, 2)
    engine.submit(session.prepare())
    engine.run(session, checker)
    assert engine.seeds == [0, 1, 2]
    line = pf.project.lines[line_id]
    best = pf.project.takes[line.selected_take]
    assert best.seed == 1  # padded silence beats noise: the right words, one problem
    assert line.status == "suspect" and "silence at the end" in line.status_detail
    assert checker.suspect_lines() == [line_id] and "still suspect" in checker.summary()[0]


def test_piper_gets_no_reroll_and_a_user_pick_is_kept(
    pf: ProjectFile, whisper: Recognizer, piper_takes: dict[str, Path]
) -> None:
    line_id = reroll_project(pf, backend="piper")
    assert retries_for(pf.project) == 0 and retries_for(pf.project, 3) == 3
    engine = FakeEngine(whisper, piper_takes["welcome"], good_seeds={5}, bad={0: "noise"})
    session = RenderSession(pf, layout=False)
    checker = TakeChecker(session, engine.submit, 0)
    engine.submit(session.prepare())
    engine.run(session, checker)
    assert engine.seeds == [0] and pf.project.lines[line_id].status == "suspect"
    # the user renders another take and picks the first (bad) one: a later re-roll chain keeps the pick
    first = pf.project.lines[line_id].selected_take
    shutil.copy(piper_takes["welcome"], pf.media_dir / "spare.wav")
    session = RenderSession(pf, layout=False)
    checker = TakeChecker(session, engine.submit, 2)
    engine.submit(session.prepare([line_id], new_take=True))
    pf.project.apply(pick_take(pf.project, line_id, first))
    engine.run(session, checker)
    assert pf.project.lines[line_id].selected_take == first
