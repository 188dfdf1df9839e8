"""Edit operations: every op's inverse restores the project; changes are announced only on real change."""

from __future__ import annotations

import copy

import pytest

from studio.core import ops
from studio.core.layout import layout_ops
from studio.core.model import Clip, LineStatus, Scene, ScriptLine, Speaker, Take, Track, TrackKind
from studio.core.project import Project


def snapshot(p: Project) -> tuple:
    return (
        p.settings,
        dict(p.speakers),
        dict(p.scenes),
        dict(p.lines),
        list(p.line_order),
        dict(p.tracks),
        dict(p.clips),
        dict(p.markers),
        dict(p.takes),
    )


@pytest.fixture
def project() -> Project:
    p = Project()
    p.apply(ops.Insert(Speaker("a", "Alice")))
    p.apply(ops.Insert(Speaker("b", "Bob")))
    p.apply(ops.Insert(Scene("s1", "One")))
    for i in range(5):
        p.apply(ops.add_line(ScriptLine(f"L{i}", "a" if i % 2 == 0 else "b", f"line {i}", scene_id="s1")))
    p.apply(ops.Insert(Track("t1", "Alice", TrackKind.DIALOGUE, speaker_id="a")))
    p.apply(ops.Insert(Clip("c1", "t1", "m.wav", start=1.0, source_out=2.0, duration=2.0)))
    return p


def edits(p: Project) -> list:
    return [
        ops.change_text("L1", "changed"),
        ops.change_direction("L2", "(whispering)"),
        ops.assign_speaker("L3", "a"),
        ops.move_line("L4", 0),
        ops.move_line("L0", 3),
        ops.remove_line(p, "L2"),
        ops.add_line(ScriptLine("Lx", "a", "new"), 2),
        ops.move_clip("c1", 5.5),
        ops.retime_clip(p, "c1", start=1.5, end=2.5),
        ops.split_clip(p, "c1", 2.0),
        ops.set_fades("c1", 0.1, 0.2),
        ops.set_track("t1", gain_db=-3.0, pan=0.5, mute=True, solo=True),
        ops.set_settings(title="Renamed", gap_new_speaker=1.0),
        ops.Delete("speaker", "b"),
    ]


@pytest.mark.parametrize("index", range(14))
def test_each_op_undoes_exactly(project: Project, index: int) -> None:
    op = edits(project)[index]
    before = copy.deepcopy(snapshot(project))
    inverse = project.apply(op)
    assert snapshot(project) != before, "the edit changed nothing"
    redo = project.apply(inverse)
    assert snapshot(project) == before
    project.apply(redo)
    assert snapshot(project) != before


def test_change_text_makes_line_stale(project: Project) -> None:
    project.apply(ops.set_line_status("L1", LineStatus.DONE))
    project.apply(ops.change_text("L1", "new words"))
    assert project.lines["L1"].status == LineStatus.STALE


def test_changes_announced_only_on_real_change(project: Project) -> None:
    seen = []
    project.subscribe(lambda c: seen.append(c) if c.kind != "edit" else None)
    project.apply(ops.change_text("L1", "line 1"))  # same text, status stale already
    assert seen == []
    project.apply(ops.move_clip("c1", 3.0))
    assert [(c.kind, c.action, c.id) for c in seen] == [("clip", "update", "c1")]
    assert (seen[0].t0, seen[0].t1) == (1.0, 5.0)


def test_failed_batch_rolls_back(project: Project) -> None:
    before = copy.deepcopy(snapshot(project))
    with pytest.raises(ops.EditError):
        project.apply(ops.Batch((ops.change_text("L1", "x"), ops.Delete("line", "nope"))))
    assert snapshot(project) == before


def test_split_keeps_playback(project: Project) -> None:
    project.apply(ops.split_clip(project, "c1", 2.25))
    left, right = sorted(project.clips.values(), key=lambda c: c.start)
    assert left.end == pytest.approx(2.25) and right.start == pytest.approx(2.25)
    assert right.source_in == pytest.approx(1.25) and right.end == pytest.approx(3.0)
    with pytest.raises(ops.EditError):
        project.apply(ops.split_clip(project, left.id, 9.0))


def _with_takes(p: Project, durations: dict[str, float]) -> None:
    for line_id, dur in durations.items():
        p.apply(ops.Insert(Take(f"k{line_id}", line_id, f"{line_id}.wav", dur, 22050)))
        p.apply(ops.Update("line", line_id, (("selected_take", f"k{line_id}"),)))


def test_layout_gaps_and_pinned_clips_stick() -> None:
    p = Project()
    p.apply(ops.Insert(Speaker("a", "Alice")))
    p.apply(ops.Insert(Speaker("b", "Bob")))
    for i, spk in enumerate("aab"):
        p.apply(ops.add_line(ScriptLine(f"L{i}", spk, "x")))
    p.apply(ops.set_settings(gap_same_speaker=0.25, gap_new_speaker=0.5))
    _with_takes(p, {"L0": 1.0, "L1": 2.0, "L2": 1.5})
    p.apply(layout_ops(p))
    starts = {c.line_id: c.start for c in p.clips.values()}
    assert starts == {"L0": 0.0, "L1": 1.25, "L2": 3.75}
    assert len(p.tracks) == 2  # one dialogue track per speaker
    tracks = {p.tracks[c.track_id].speaker_id for c in p.clips.values() if c.line_id == "L2"}
    assert tracks == {"b"}
    # Move L1 by hand: it sticks, L2 follows from its new end, a re-layout changes nothing.
    clip = p.clip_for_line("L1")
    assert clip is not None
    p.apply(ops.move_clip(clip.id, 10.0))
    p.apply(layout_ops(p))
    starts = {c.line_id: c.start for c in p.clips.values()}
    assert starts == {"L0": 0.0, "L1": 10.0, "L2": 12.5}
    assert layout_ops(p).ops == ()


def test_music_and_humming_lines_become_their_own_layers() -> None:
    from studio.core.model import LineKind

    p = Project()
    p.apply(ops.Insert(Speaker("a", "Alice")))
    p.apply(ops.add_line(ScriptLine("L", "a", "plain words")))
    p.apply(ops.change_text("L", "[humming start] la la la [humming end]"))
    assert p.lines["L"].kind == LineKind.HUMMING
    p.apply(ops.change_text("L", "[music start] a soft piano bed [music end]"))
    assert p.lines["L"].kind == LineKind.MUSIC
    p.apply(ops.change_text("L", "She laughed [laugh] and went on."))
    assert p.lines["L"].kind == LineKind.DIALOGUE
    # Takes of a humming line land on a humming track, music at its scene start on a music track.
    p.apply(ops.add_line(ScriptLine("H", "a", "x")))
    p.apply(ops.change_text("H", "[humming start] mm mm [humming end]"))
    p.apply(ops.change_text("L", "[music start] bed [music end]"))
    _with_takes(p, {"L": 10.0, "H": 2.0})
    p.apply(layout_ops(p))
    kinds = {c.line_id: p.tracks[c.track_id].kind for c in p.clips.values()}
    assert kinds == {"L": TrackKind.MUSIC, "H": TrackKind.HUMMING}
