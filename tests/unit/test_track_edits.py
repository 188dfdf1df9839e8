"""Track edits with a meaning (issue 19 item 1): add, rename, change kind, delete, place imported audio."""

from __future__ import annotations

import pytest

from studio.core import ops
from studio.core.model import Clip, ScriptLine, Speaker, Track, TrackKind
from studio.core.project import Project


@pytest.fixture
def project() -> Project:
    p = Project()
    p.apply(ops.Insert(Speaker("a", "Ada")))
    p.apply(ops.add_line(ScriptLine("L1", "a", "Hello.")))
    p.apply(ops.Insert(Track("d", "Ada", TrackKind.DIALOGUE, speaker_id="a")))
    p.apply(ops.Insert(Clip("lc", "d", "take.wav", duration=1.0, line_id="L1")))
    p.apply(ops.Insert(Track("s", "SFX", TrackKind.SFX)))
    p.apply(ops.Insert(Clip("sc", "s", "bed.wav", start=4.0, duration=40.0)))
    return p


def _state(p: Project) -> tuple[dict, dict]:
    return dict(p.tracks), dict(p.clips)


def test_short_music_can_go_on_a_music_track_at_the_start(project: Project) -> None:
    assert ops.kind_for_audio("bed.wav", 40.0) == TrackKind.MUSIC
    assert ops.kind_for_audio("door.wav", 1.5) == TrackKind.SFX
    assert ops.kind_for_audio("theme_short.wav", 8.0) == TrackKind.MUSIC
    before = _state(project)
    edit, clip_ids = ops.place_audio(project, [("bed.wav", 40.0)], 0.0, kind=TrackKind.MUSIC)
    inverse = project.apply(edit)
    clip = project.clips[clip_ids[0]]
    track = project.tracks[clip.track_id]
    assert (track.kind, track.name, clip.start, clip.duration) == (TrackKind.MUSIC, "Music", 0.0, 40.0)
    assert track.ducking.enabled
    project.apply(inverse)
    assert _state(project) == before


def test_add_rename_change_kind_delete_each_undo(project: Project) -> None:
    before = _state(project)
    add = ops.add_track(project, TrackKind.SFX)
    assert add.record.name == "SFX 2"  # unique among the project's tracks
    undo_add = project.apply(add)
    undo_rename = project.apply(ops.rename_track(project, "s", "Bed"))
    undo_kind = project.apply(ops.change_track_kind(project, "s", TrackKind.MUSIC))
    assert (project.tracks["s"].name, project.tracks["s"].kind) == ("Bed", TrackKind.MUSIC)
    assert project.tracks["s"].ducking.enabled
    undo_delete = project.apply(ops.delete_track(project, "s"))
    assert "s" not in project.tracks and "sc" not in project.clips
    for inverse in (undo_delete, undo_kind, undo_rename, undo_add):
        project.apply(inverse)
    assert _state(project) == before


def test_dialogue_tracks_keep_their_kind_and_lines(project: Project) -> None:
    with pytest.raises(ops.EditError, match="dialogue"):
        ops.change_track_kind(project, "d", TrackKind.MUSIC)
    with pytest.raises(ops.EditError, match="script lines"):
        ops.delete_track(project, "d")
    with pytest.raises(ops.EditError, match="per speaker"):
        ops.add_track(project, TrackKind.DIALOGUE)
    with pytest.raises(ops.EditError, match="name"):
        ops.rename_track(project, "s", "  ")
