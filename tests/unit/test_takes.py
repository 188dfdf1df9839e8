"""Take keys and planning: same inputs → no work; one changed line → one job; new takes never replace a selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.core import ops
from studio.core.model import LineStatus, Scene, ScriptLine, Speaker, Voice, VoiceKind
from studio.core.store import ProjectFile
from studio.render.session import RenderSession
from studio.render.takes import line_recipe, plan_render


@pytest.fixture
def pf(tmp_path: Path) -> ProjectFile:
    pf = ProjectFile.create(tmp_path / "p")
    p = pf.project
    p.apply(ops.Insert(Speaker("a", "Alice", voice=Voice(VoiceKind.PIPER, variant=1))))
    p.apply(ops.Insert(Speaker("b", "Bob", voice=Voice(VoiceKind.PIPER, variant=2))))
    p.apply(ops.Insert(Scene("s", "Scene", "a quiet room")))
    for i in range(4):
        p.apply(ops.add_line(ScriptLine(f"L{i}", "ab"[i % 2], f"Line number {i}.", scene_id="s")))
    return pf


def fake_render(session: RenderSession, jobs, *, fail: set[str] = frozenset()) -> None:
    """Stand in for the engine's file writing: the take appears at out_path, then 'finished'."""
    for job in jobs:
        session.handle({"type": "started", "job_id": job.job_id})
        if job.line_id in fail:
            session.handle({"type": "failed", "job_id": job.job_id, "reason": "the voice file is unreadable"})
            continue
        Path(job.out_path).write_bytes(b"RIFF" + job.text.encode())
        session.handle(
            {
                "type": "finished",
                "job_id": job.job_id,
                "path": job.out_path,
                "duration": 1.0,
                "sample_rate": 22050,
            }
        )


def test_render_all_then_nothing_then_one(pf: ProjectFile) -> None:
    session = RenderSession(pf)
    jobs = session.prepare()
    assert [j.line_id for j in jobs] == ["L0", "L1", "L2", "L3"]
    assert all(pf.project.lines[j.line_id].status == LineStatus.QUEUED for j in jobs)
    fake_render(session, jobs)
    assert session.done and session.count("done") == 4
    assert all(line.status == LineStatus.DONE for line in pf.project.ordered_lines())
    assert len(pf.project.clips) == 4  # placed on the timeline
    assert RenderSession(pf).prepare() == []
    pf.project.apply(ops.change_text("L2", "Different words."))
    again = RenderSession(pf).prepare()
    assert [j.line_id for j in again] == ["L2"]


def test_voice_change_reaches_only_that_speakers_lines(pf: ProjectFile) -> None:
    session = RenderSession(pf)
    fake_render(session, session.prepare())
    pf.project.apply(ops.Update("speaker", "b", (("voice", Voice(VoiceKind.PIPER, variant=5)),)))
    assert [j.line_id for j in RenderSession(pf).prepare()] == ["L1", "L3"]


def test_key_covers_what_determines_audio(pf: ProjectFile) -> None:
    p = pf.project
    line = p.lines["L0"]
    base = line_recipe(p, line)
    assert line_recipe(p, line) == base
    p.apply(ops.Update("line", "L0", (("text", "Line   number 0."),)))  # whitespace only
    assert line_recipe(p, p.lines["L0"]) == base
    p.apply(ops.Update("scene", "s", (("description", "a cathedral"),)))
    assert line_recipe(p, p.lines["L0"]) != base
    p.apply(ops.Update("scene", "s", (("description", "a quiet room"),)))
    p.apply(ops.set_settings(backend_options=(("temperature", 0.3),)))
    assert line_recipe(p, p.lines["L0"]) != base


def test_new_take_joins_history_without_replacing_selection(pf: ProjectFile) -> None:
    session = RenderSession(pf)
    fake_render(session, session.prepare(["L0"]))
    first = pf.project.lines["L0"].selected_take
    session = RenderSession(pf)
    jobs = session.prepare(["L0"], new_take=True)
    assert len(jobs) == 1 and jobs[0].params.seed == 1
    fake_render(session, jobs)
    line = pf.project.lines["L0"]
    assert line.selected_take == first and len(line.takes) == 2


def test_reverting_text_reuses_the_old_take(pf: ProjectFile) -> None:
    session = RenderSession(pf)
    fake_render(session, session.prepare(["L0"]))
    original = pf.project.lines["L0"].selected_take
    pf.project.apply(ops.change_text("L0", "Other."))
    session = RenderSession(pf)
    fake_render(session, session.prepare(["L0"]))
    pf.project.apply(ops.change_text("L0", "Line number 0."))
    assert RenderSession(pf).prepare(["L0"]) == []
    assert pf.project.lines["L0"].selected_take == original


def test_failure_marks_only_that_line_and_survives_reopen(pf: ProjectFile) -> None:
    session = RenderSession(pf)
    fake_render(session, session.prepare(), fail={"L1"})
    assert session.failures() == [("L1", "the voice file is unreadable")]
    root = pf.root
    pf.close()
    again = ProjectFile.open(root)
    assert again.project.lines["L1"].status == LineStatus.FAILED
    assert [j.line_id for j in RenderSession(again).prepare()] == ["L1"]


def test_interrupted_render_is_stale_after_reopen(pf: ProjectFile) -> None:
    RenderSession(pf).prepare()  # queued, then the process "dies"
    root = pf.root
    pf.close()
    again = ProjectFile.open(root)
    assert again.project.lines["L0"].status == LineStatus.QUEUED
    jobs = RenderSession(again).prepare()
    assert len(jobs) == 4
    assert plan_render(again.project, again.media_dir, ["L0"]).jobs


def test_continuity_context_holds_previous_lines(pf: ProjectFile) -> None:
    jobs = RenderSession(pf).prepare(continuity=True)
    assert [len(j.context) for j in jobs] == [0, 1, 2, 2]
    assert jobs[3].context[-1].audio == jobs[2].out_path
    assert [c.text for c in jobs[3].context] == ["Line number 1.", "Line number 2."]


def test_a_job_carries_only_its_own_speaker(pf: ProjectFile) -> None:
    p = pf.project
    p.apply(ops.Insert(Speaker("c", "Cleo", voice=Voice(VoiceKind.CLIP, clip_media="c.wav", transcript="Hi."))))
    p.apply(ops.Insert(Speaker("d", "Dora", voice=Voice(VoiceKind.PROFILE, profile="Warm, low."))))
    p.apply(ops.add_line(ScriptLine("L9", "c", "Only Cleo speaks here.", scene_id="s")))
    jobs = {j.line_id: j for j in RenderSession(pf).prepare()}
    cleo = jobs["L9"]
    assert [v.kind for v in cleo.speakers] == ["clip"] and cleo.speaker == 0
    assert cleo.speakers[0].transcript == "Hi."
    assert all(len(j.speakers) == 1 and j.speaker == 0 for j in jobs.values())


def test_continuity_cast_is_the_line_speaker_then_its_context_speakers(pf: ProjectFile) -> None:
    jobs = RenderSession(pf).prepare(continuity=True)
    # L3 (Bob) has context L1 (Bob), L2 (Alice): cast = Bob, Alice; turns re-indexed into it.
    last = jobs[3]
    assert [v.variant for v in last.speakers] == [2, 1]
    assert [c.speaker for c in last.context] == [0, 1]
    # L1 (Bob) after L0 (Alice): cast = Bob, Alice; its one context turn is Alice's = index 1.
    assert [v.variant for v in jobs[1].speakers] == [2, 1] and jobs[1].context[0].speaker == 1
    assert len(jobs[0].speakers) == 1


def test_the_studio_and_the_engine_name_the_same_default_higgs_model() -> None:
    from engine.higgs.loading import DEFAULT_MODEL
    from studio.core.settings_schema import HIGGS_DEFAULT_MODEL

    assert HIGGS_DEFAULT_MODEL == DEFAULT_MODEL


def test_higgs_performs_the_direction_through_the_scene_description(pf: ProjectFile) -> None:
    p = pf.project
    p.apply(ops.change_direction("L0", "whispering"))
    piper_job = next(j for j in RenderSession(pf).prepare(["L0"]))
    assert piper_job.scene_description == "a quiet room"
    p.apply(ops.set_settings(backend="higgs"))
    p.apply(ops.Update("speaker", "a", (("voice", Voice(VoiceKind.SMART)),)))
    job = next(j for j in RenderSession(pf).prepare(["L0"], new_take=True))
    assert job.scene_description == "a quiet room Alice is whispering."
