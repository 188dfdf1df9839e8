"""The timeline's drag maths without Qt (studio.core.timeline_drag): snapping, previews, the one edit."""

from __future__ import annotations

import pytest

from studio.core import ops
from studio.core import timeline_drag as td
from studio.core.model import Clip, Speaker, Track, TrackKind
from studio.core.project import Project


@pytest.fixture
def project() -> Project:
    p = Project()
    p.apply(ops.Insert(Speaker("a", "Ada")))
    p.apply(ops.Insert(Track("d", "Ada", TrackKind.DIALOGUE, speaker_id="a")))
    p.apply(ops.Insert(Track("d2", "Bo", TrackKind.DIALOGUE)))
    p.apply(ops.Insert(Track("m", "Music", TrackKind.MUSIC)))
    p.apply(ops.Insert(Clip("c1", "d", "one.wav", start=1.0, duration=2.0, source_out=2.0)))
    p.apply(ops.Insert(Clip("c2", "d", "two.wav", start=5.0, duration=1.0, source_out=1.0)))
    p.apply(ops.Insert(Clip("bed", "m", "bed.wav", start=0.0, duration=30.0, source_out=30.0)))
    return p


def snapper(project: Project, pps: float = 100.0, playhead: float = 20.0, grid: float = 0.5) -> td.Snapper:
    def points(t0: float, t1: float, exclude: set[str]) -> list[float]:
        edges = [e for c in project.clips.values() if c.id not in exclude for e in (c.start, c.end)]
        return [e for e in edges if t0 <= e <= t1]

    return td.Snapper(pps, playhead, grid, points)


def grab(project: Project, mode: str, *ids: str, at: float) -> td.ClipDrag:
    return td.ClipDrag(mode, at, ids, {i: project.clips[i] for i in ids}, started=True)


def test_snapping_prefers_material_to_the_grid_and_free_snaps_nothing(project):
    s = snapper(project)  # 8 px at 100 px/s = 0.08 s
    assert s.snap(3.05, set()) == (3.0, 3.0, 2)  # c1's end
    assert s.snap(19.97, set()) == (20.0, 20.0, 2)  # the playhead
    assert s.snap(7.46, set()) == (7.5, 7.5, 1)  # the grid
    assert s.snap(7.3, set()) == (7.3, None, 0)
    assert s.snap(3.05, set(), free=True) == (3.05, None, 0)
    assert s.snap(3.05, {"c1"})[2] == 1  # its own edge does not pull a clip (3.0 is also a grid line)


def test_move_snaps_by_the_end_too_and_keeps_the_others_offsets(project):
    drag = grab(project, td.MOVE, "c1", "c2", at=2.0)
    td.preview_move(drag, 2.0 + 1.96, snapper(project, grid=100.0), False, None)  # c1 would end at 4.96
    assert drag.guide is None  # c2 moves along: clips being moved never pull each other
    drag = grab(project, td.MOVE, "c1", at=2.0)
    td.preview_move(drag, 2.0 + 1.96, snapper(project, grid=100.0), False, None)
    assert drag.preview["c1"].end == pytest.approx(5.0) and drag.guide == 5.0  # end onto c2's start
    drag = grab(project, td.MOVE, "c2", "c1", at=5.5)
    td.preview_move(drag, 5.5 - 10.0, snapper(project), True, None)  # far left: c1 stops at 0
    assert drag.preview["c1"].start == 0.0 and drag.preview["c2"].start == pytest.approx(4.0)


def test_a_move_changes_track_only_to_a_compatible_one(project):
    assert td.compatible_track(project, project.clips["c1"], "d2")
    assert not td.compatible_track(project, project.clips["c1"], "m")
    drag = grab(project, td.MOVE, "c1", at=2.0)
    td.preview_move(drag, 3.0, snapper(project), True, "d2")
    op, label = td.drag_edit(drag, project)
    assert label == "Move clip"
    project.apply(op)
    assert project.clips["c1"].track_id == "d2" and project.clips["c1"].start == pytest.approx(2.0)


def test_trim_right_stops_at_the_end_of_the_audio(project):
    drag = grab(project, td.TRIM_RIGHT, "c1", at=3.0)
    td.preview_trim(drag, 3.0 - 0.5, snapper(project), True, project, source_length=2.0)
    assert drag.preview["c1"].duration == pytest.approx(1.5)
    td.preview_trim(drag, 3.0 + 4.0, snapper(project), True, project, source_length=2.0)
    assert drag.preview["c1"].duration == pytest.approx(2.0) and drag.preview["c1"].source_out == 2.0
    assert td.drag_edit(drag, project) is None  # back where it was: no edit, no undo step
    td.preview_trim(drag, 3.0 + 4.0, snapper(project), True, project, source_length=None)
    assert drag.preview["c1"].duration == pytest.approx(6.0)  # unknown length: not held


def test_fades_never_overlap_and_the_edit_is_named(project):
    project.apply(ops.set_fades("c1", fade_in=0.0, fade_out=0.5))
    drag = grab(project, td.FADE_IN, "c1", at=1.0)
    td.preview_fade(drag, 1.0 + 9.0)
    assert drag.preview["c1"].fade_in == pytest.approx(1.5)  # 2 s clip − 0.5 s fade-out
    op, label = td.drag_edit(drag, project)
    assert label == "Fade in"
    project.apply(op)
    assert project.clips["c1"].fade_in == pytest.approx(1.5)


def test_a_multi_clip_move_is_one_batch(project):
    drag = grab(project, td.MOVE, "c1", "c2", at=2.0)
    td.preview_move(drag, 4.0, snapper(project), True, None)
    op, label = td.drag_edit(drag, project)
    assert label == "Move 2 clips" and isinstance(op, ops.Batch)
