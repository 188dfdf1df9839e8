"""Issue 19: what tripped a producer and a game author in an hour of real use — one test per item."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.core.model import TrackKind
from studio.ui.qt_import_audio import AudioPlacement, QtImportAudioDialog


@pytest.fixture
def bed(tmp_path: Path, take_writer) -> Path:
    path = tmp_path / "bed.wav"
    take_writer(path, 40.0, 3)
    return path


# ---- 1. short music can be ducked: choose the track on import; add / rename / kind / delete tracks


def test_import_dialog_defaults_music_like_files_to_a_new_music_track_at_the_start(qtbot, rendered_podcast, bed):
    from studio.core.store import ProjectFile

    with ProjectFile.open(rendered_podcast) as pf:
        from studio.ui.qt_import_audio import default_kind

        assert default_kind([bed]) == TrackKind.MUSIC
        dialog = QtImportAudioDialog(pf.project, TrackKind.MUSIC, 12.5)
        qtbot.addWidget(dialog)
        assert dialog.placement() == AudioPlacement("", TrackKind.MUSIC, 0.0)
        dialog.at_playhead.setChecked(True)
        assert dialog.placement().at == 12.5


def test_import_audio_onto_a_chosen_track_then_edit_tracks_with_undo(make_window, rendered_podcast, bed):
    window = make_window(rendered_podcast)
    doc = window.view.doc
    window.choose_audio_place = lambda files: AudioPlacement("", TrackKind.MUSIC, 0.0)
    before = set(doc.project.tracks)
    (clip_id,) = window.import_audio([bed])
    clip = doc.project.clips[clip_id]
    track = doc.project.tracks[clip.track_id]
    assert (track.kind, clip.start) == (TrackKind.MUSIC, 0.0)  # a 40 s bed is music, ducked under dialogue
    editor = window.view.timeline.headers.editor
    sfx = editor.add_track(TrackKind.SFX)
    assert doc.project.tracks[sfx].kind == TrackKind.SFX and doc.selected_track == sfx
    assert editor.rename(sfx, "Doors") and doc.project.tracks[sfx].name == "Doors"
    assert editor.change_kind(sfx, TrackKind.HUMMING) and doc.project.tracks[sfx].kind == TrackKind.HUMMING
    assert editor.delete(sfx) and sfx not in doc.project.tracks
    dialogue = next(t for t in doc.project.tracks.values() if t.kind == TrackKind.DIALOGUE)
    assert not editor.delete(dialogue.id)  # refused with a reason, not a traceback
    for _ in range(5):
        doc.undo_stack.undo()
    assert set(doc.project.tracks) == before


# ---- 2. the Inspector describes one selection


def test_inspector_never_shows_a_line_beside_another_things_clip(make_window, rendered_podcast, bed):
    window = make_window(rendered_podcast)
    doc, inspector = window.view.doc, window.view.inspector
    doc.select(lines=["EP12_020"])
    assert inspector.line_box.isVisibleTo(inspector)
    window.choose_audio_place = lambda files: AudioPlacement("", TrackKind.MUSIC, 0.0)
    (clip_id,) = window.import_audio([bed])
    assert doc.selected_clips == (clip_id,) and doc.selected_lines == ()
    assert not inspector.line_box.isVisibleTo(inspector) and inspector.clip_box.isVisibleTo(inspector)
    doc.select(lines=["EP12_030"])  # back in the script: the music clip is no longer the selection
    assert inspector.line_id.text() == "EP12_030"
    assert doc.project.clips[inspector.current()[1]].line_id == "EP12_030"


def test_clicking_a_track_header_selects_the_track(make_window, rendered_podcast, qtbot):
    from PySide6.QtCore import Qt

    window = make_window(rendered_podcast)
    headers = window.view.timeline.headers
    track_id, header = next(iter(headers.headers.items()))
    qtbot.mouseClick(header, Qt.MouseButton.LeftButton)
    assert window.view.doc.selected_track == track_id
    assert window.view.inspector.track_box.isVisibleTo(window.view.inspector)
