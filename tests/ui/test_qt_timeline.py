"""The timeline: clips drawn from the project, edited with the mouse and keyboard as one undo step
each (move, trim, split, fades, nudges), snapping, placeholders for rendering lines, markers, drops."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDropEvent

from studio.core import ops
from studio.core.model import LineStatus, ScriptLine, Speaker
from studio.ui.qt_document import QtDocument
from studio.ui.qt_peak_store import QtPeakStore
from studio.ui.qt_timeline import QtTimelinePanel
from studio.ui.qt_timeline_canvas import LABEL_H

PPS = 20.0


@pytest.fixture
def timeline(qtbot, rendered_podcast):
    doc = QtDocument.open(rendered_podcast)
    peaks = QtPeakStore(doc.media_path)
    panel = QtTimelinePanel(doc, peaks)
    qtbot.addWidget(panel)
    panel.resize(1400, 420)
    panel.show()
    qtbot.waitExposed(panel)
    panel.scale.set(px_per_s=PPS, origin=0.0)
    panel.canvas.snapping = False
    yield doc, panel
    peaks.shutdown()
    doc.close()


def clip_of(doc, line_id):
    return next(c for c in doc.project.clips.values() if c.line_id == line_id)


def point(panel, clip, dx=0.0, where="middle"):
    canvas = panel.canvas
    row = panel.model.row_of(clip.track_id)
    top = canvas.row_top(row)
    x = (
        canvas.scale.x(clip.start + clip.duration / 2)
        if where == "middle"
        else canvas.scale.x(getattr(clip, where))
    )
    y = top + canvas.track_height * 0.7
    return QPoint(int(round(x + dx)), int(y))


def drag(qtbot, widget, start: QPoint, end: QPoint) -> None:
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=start)
    mid = QPoint((start.x() + end.x()) // 2, (start.y() + end.y()) // 2)
    qtbot.mouseMove(widget, mid)
    qtbot.mouseMove(widget, end)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=end)


def test_rows_and_clips_come_from_the_project(timeline):
    doc, panel = timeline
    rows = panel.model.rows
    assert [r.name for r in rows] == ["Maya", "Theo", "Music bed"]
    maya = panel.model.clips_in("trk_maya", 0, 1e9)
    assert len(maya) == 8 and all(c.line_id for c in maya)
    assert [c.start for c in maya] == sorted(c.start for c in maya)


def test_move_a_clip_is_one_undo_step(qtbot, timeline):
    doc, panel = timeline
    clip = clip_of(doc, "EP12_010")
    before = doc.undo_stack.count()
    drag(qtbot, panel.canvas, point(panel, clip), point(panel, clip, dx=100))
    moved = doc.project.clips[clip.id]
    assert moved.start == pytest.approx(clip.start + 100 / PPS, abs=0.06)
    assert moved.pinned and doc.undo_stack.count() == before + 1
    assert doc.undo_stack.undoText() == "Move clip"
    doc.undo_stack.undo()
    assert doc.project.clips[clip.id].start == clip.start and not doc.project.clips[clip.id].pinned
    doc.undo_stack.redo()
    assert doc.project.clips[clip.id].start == moved.start


def test_move_between_tracks_only_to_the_same_kind(qtbot, timeline):
    doc, panel = timeline
    clip = clip_of(doc, "EP12_010")
    theo_y = panel.canvas.row_top(panel.model.row_of("trk_theo")) + 40
    start = point(panel, clip)
    drag(qtbot, panel.canvas, start, QPoint(start.x(), theo_y))
    assert doc.project.clips[clip.id].track_id == "trk_theo"
    doc.undo_stack.undo()
    music_y = panel.canvas.row_top(panel.model.row_of("trk_music")) + 40
    drag(qtbot, panel.canvas, start, QPoint(start.x() + 40, music_y))
    moved = doc.project.clips[clip.id]
    assert moved.start == pytest.approx(clip.start + 40 / PPS, abs=0.06)  # the drag moved it in time …
    assert moved.track_id == "trk_maya"  # … but dialogue never lands on the music track


def test_trim_the_end_and_undo_redo(qtbot, timeline):
    doc, panel = timeline
    clip = clip_of(doc, "EP12_050")
    start = point(panel, clip, dx=-2, where="end")
    drag(qtbot, panel.canvas, start, QPoint(start.x() - 30, start.y()))
    trimmed = doc.project.clips[clip.id]
    assert trimmed.start == clip.start
    assert trimmed.duration == pytest.approx(clip.duration - 30 / PPS, abs=0.06)
    assert doc.undo_stack.undoText() == "Trim clip end"
    doc.undo_stack.undo()
    assert doc.project.clips[clip.id].duration == clip.duration
    doc.undo_stack.redo()
    assert doc.project.clips[clip.id].duration == trimmed.duration


def test_trim_the_start_moves_the_source_in(qtbot, timeline):
    doc, panel = timeline
    clip = clip_of(doc, "EP12_050")
    start = point(panel, clip, dx=2, where="start")
    drag(qtbot, panel.canvas, start, QPoint(start.x() + 20, start.y()))
    trimmed = doc.project.clips[clip.id]
    assert trimmed.source_in == pytest.approx(20 / PPS, abs=0.06)
    assert trimmed.end == pytest.approx(clip.end)


def test_cannot_trim_past_the_end_of_the_audio(qtbot, timeline):
    """The drag must happen and stop at the audio's end (a drag that did nothing used to pass here)."""
    doc, panel = timeline
    panel.peaks.get(clip_of(doc, "EP12_050").media)
    panel.peaks.wait_idle()
    clip = clip_of(doc, "EP12_050")
    audio = panel.peaks.get(clip.media).duration
    assert clip.duration == pytest.approx(audio, abs=1e-3)  # a whole take: its end is the audio's
    start = point(panel, clip, dx=-2, where="end")
    drag(qtbot, panel.canvas, start, QPoint(start.x() - 40, start.y()))  # shorten by 2 s first
    short = doc.project.clips[clip.id]
    assert short.duration == pytest.approx(clip.duration - 40 / PPS, abs=0.06)
    before = doc.undo_stack.count()
    start = point(panel, short, dx=-2, where="end")
    drag(qtbot, panel.canvas, start, QPoint(start.x() + 200, start.y()))  # then 10 s past the end
    grown = doc.project.clips[clip.id]
    assert grown.duration > short.duration + 1.5  # the drag lengthened it …
    assert grown.duration == pytest.approx(audio, abs=1e-3)  # … to the end of the audio, no further
    assert grown.source_out == pytest.approx(audio, abs=1e-3)
    assert doc.undo_stack.count() == before + 1 and doc.undo_stack.undoText() == "Trim clip end"


def test_split_at_the_playhead_and_undo_redo(qtbot, timeline):
    doc, panel = timeline
    clip = clip_of(doc, "EP12_060")
    doc.select(clips=[clip.id])
    panel.set_playhead(clip.start + 1.0)
    n = len(doc.project.clips)
    assert panel.canvas.split_selected()
    assert len(doc.project.clips) == n + 1
    left = doc.project.clips[clip.id]
    right = next(
        c
        for c in doc.project.clips.values()
        if c.start == pytest.approx(clip.start + 1.0) and c.id != clip.id
    )
    assert left.end == pytest.approx(right.start) and right.end == pytest.approx(clip.end)
    assert right.source_in == pytest.approx(clip.source_in + 1.0)
    doc.undo_stack.undo()
    assert len(doc.project.clips) == n and doc.project.clips[clip.id] == clip
    doc.undo_stack.redo()
    assert len(doc.project.clips) == n + 1


def test_fade_in_by_dragging_its_handle(qtbot, timeline):
    doc, panel = timeline
    clip = clip_of(doc, "EP12_050")
    canvas = panel.canvas
    row = panel.model.row_of(clip.track_id)
    handle = QPoint(int(canvas.scale.x(clip.start)) + 1, canvas.row_top(row) + 3 + LABEL_H)
    assert canvas.clip_at(QPointF(handle))[1] == "fade-in"
    drag(qtbot, canvas, handle, QPoint(handle.x() + 16, handle.y()))
    faded = doc.project.clips[clip.id]
    assert faded.fade_in == pytest.approx(16 / PPS, abs=0.06) and faded.start == clip.start
    assert doc.undo_stack.undoText() == "Fade in"


def test_nudges_merge_into_one_undo_step(qtbot, timeline):
    doc, panel = timeline
    clip = clip_of(doc, "EP12_020")
    doc.select(clips=[clip.id])
    panel.canvas.setFocus()
    before = doc.undo_stack.count()
    for _ in range(3):
        qtbot.keyClick(panel.canvas, Qt.Key.Key_Right)
    assert doc.project.clips[clip.id].start == pytest.approx(clip.start + 0.03)
    assert doc.undo_stack.count() == before + 1
    doc.undo_stack.undo()
    assert doc.project.clips[clip.id].start == pytest.approx(clip.start)


def test_moving_snaps_to_another_clips_edge(qtbot, timeline):
    doc, panel = timeline
    panel.canvas.snapping = True
    maya = clip_of(doc, "EP12_010")
    theo = clip_of(doc, "EP12_020")
    # drag Theo's clip so its start lands 4 px after Maya's end: it snaps onto it
    dx = (maya.end - theo.start) * PPS + 4
    start = point(panel, theo)
    canvas = panel.canvas
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(canvas, QPoint(start.x() + 60, start.y()))  # past the drag threshold first
    end = QPoint(int(round(start.x() + dx)), start.y())
    qtbot.mouseMove(canvas, end)
    assert canvas._drag is not None and canvas._drag.guide == pytest.approx(maya.end)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=end)
    assert doc.project.clips[theo.id].start == pytest.approx(maya.end, abs=1e-9)


def test_click_on_empty_space_seeks_and_clears_the_selection(qtbot, timeline):
    doc, panel = timeline
    seeks = []
    panel.seekRequested.connect(seeks.append)
    doc.select(clips=[clip_of(doc, "EP12_010").id])
    y = panel.canvas.row_top(0) + 40
    qtbot.mouseClick(panel.canvas, Qt.MouseButton.LeftButton, pos=QPoint(int(PPS * 0.5), y))
    assert seeks and seeks[-1] == pytest.approx(0.5, abs=0.06)
    assert doc.selected_clips == ()


def test_clicking_a_clip_selects_its_line(qtbot, timeline):
    doc, panel = timeline
    clip = clip_of(doc, "EP12_030")
    qtbot.mouseClick(panel.canvas, Qt.MouseButton.LeftButton, pos=point(panel, clip))
    assert doc.selected_clips == (clip.id,) and doc.selected_lines == ("EP12_030",)


def test_waveforms_are_painted_in_the_speaker_colour(qtbot, timeline):
    doc, panel = timeline
    for clip in doc.project.clips.values():
        panel.peaks.get(clip.media)
    panel.peaks.wait_idle()
    clip = clip_of(doc, "EP12_010")
    image = panel.canvas.grab().toImage()
    row_top = panel.canvas.row_top(0)
    x = int(panel.canvas.scale.x(clip.start + clip.duration / 2))
    mid = row_top + 3 + LABEL_H + (panel.canvas.track_height - 7 - LABEL_H) // 2
    colour = QColor(image.pixel(int(x * image.devicePixelRatio()), int(mid * image.devicePixelRatio())))
    speaker = QColor(doc.project.speakers["spk_maya"].colour)
    assert abs(colour.hue() - speaker.hue()) < 20 and colour.saturation() > 80
    gap = QColor(
        image.pixel(
            int((x + clip.duration * PPS) * image.devicePixelRatio() + 8), int(mid * image.devicePixelRatio())
        )
    )
    assert gap.value() < 60  # between clips: the dark background


def test_rendering_lines_show_placeholders_until_their_take_arrives(qtbot, podcast):
    doc = QtDocument.open(podcast)
    peaks = QtPeakStore(doc.media_path)
    panel = QtTimelinePanel(doc, peaks)
    qtbot.addWidget(panel)
    doc.apply_untracked(ops.Insert(Speaker("spk_new", "Nadia", "#F06292")))
    doc.apply_untracked(
        ops.add_line(ScriptLine("N_1", "spk_new", "A new voice arrives.", status=LineStatus.QUEUED))
    )
    doc.apply_untracked(ops.set_line_status("EP12_010", LineStatus.RENDERING))
    panel.model.flush()
    ph = panel.model.placeholder("EP12_010")
    assert ph is not None and ph.row_key == "trk_maya" and ph.start == pytest.approx(3.0)
    assert panel.model.placeholder("N_1").row_key == "pending:spk_new"
    assert [r.name for r in panel.model.rows] == ["Maya", "Theo", "Nadia", "Music bed"]
    panel.model.set_progress("EP12_010", 0.5)
    panel.canvas.grab()
    doc.apply_untracked(ops.set_line_status("EP12_010", LineStatus.STALE))
    panel.model.flush()
    assert panel.model.placeholder("EP12_010") is None
    peaks.shutdown()
    doc.close()


def test_dropping_audio_on_the_music_track_imports_it(qtbot, timeline, take_writer, tmp_path):
    doc, panel = timeline
    wav = tmp_path / "sting.wav"
    take_writer(wav, 1.5, seed=3)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(wav))])
    y = panel.canvas.row_top(panel.model.row_of("trk_music")) + 30
    pos = QPointF(PPS * 10, y)
    event = QDropEvent(
        pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    panel.canvas.dropEvent(event)
    (job,) = panel.canvas.importer.jobs  # the copy runs on a worker; the clip lands when it is done
    job.wait()
    new = [c for c in doc.project.clips.values() if c.track_id == "trk_music" and c.id != "clip_bed"]
    assert (
        len(new) == 1
        and new[0].start == pytest.approx(10.0, abs=0.3)
        and new[0].duration == pytest.approx(1.5)
    )
    assert doc.project_file.media_path(new[0].media).is_file()
    doc.undo_stack.undo()
    assert not [c for c in doc.project.clips.values() if c.track_id == "trk_music" and c.id != "clip_bed"]


def test_audio_dropped_elsewhere_gets_a_new_track(qtbot, timeline, take_writer, tmp_path):
    doc, panel = timeline
    wav = tmp_path / "door.wav"
    take_writer(wav, 0.5, seed=4)
    ids = panel.canvas.import_audio([wav], 5.0, None).wait()
    track = doc.project.tracks[doc.project.clips[ids[0]].track_id]
    assert track.kind.value == "sfx"
    panel.model.flush()
    assert panel.model.rows[-1].name == "SFX"


def test_markers_add_move_and_rename(qtbot, timeline):
    doc, panel = timeline
    marker_id = panel.ruler.add_marker(30.0, "Outro")
    assert doc.project.markers[marker_id].time == 30.0
    x = int(panel.scale.x(30.0)) + 2
    drag(qtbot, panel.ruler, QPoint(x, 6), QPoint(x + 40, 6))
    assert doc.project.markers[marker_id].time == pytest.approx(32.0, abs=0.1)
    assert doc.undo_stack.undoText() == "Move marker"
    assert panel.ruler.rename_marker(marker_id, "The end")
    assert doc.project.markers[marker_id].title == "The end"


def test_zoom_keeps_the_playhead_in_place(timeline):
    doc, panel = timeline
    panel.set_playhead(20.0)
    x = panel.scale.x(20.0)
    panel.zoom_in()
    assert panel.scale.px_per_s == pytest.approx(PPS * 1.5)
    assert panel.scale.x(20.0) == pytest.approx(x)
    panel.zoom_out()
    panel.zoom_fit()
    assert panel.scale.x(doc.project.duration()) <= panel.canvas.width()


def test_peaks_are_stored_beside_the_media(timeline):
    doc, panel = timeline
    clip = clip_of(doc, "EP12_010")
    panel.peaks.get(clip.media)
    panel.peaks.wait_idle()
    assert (doc.media_dir / f"{clip.media}.peaks.npz").is_file()
    assert np.isfinite(panel.peaks.get(clip.media).levels[0].max).all()


def test_fades_are_drawn_with_the_mixers_equal_power_curve():
    import math

    from studio.ui.qt_timeline_canvas import FADE_POINTS, fade_outlines

    fade_in, fade_out = fade_outlines(0.0, 200.0, 40.0, 80.0, 10.0, 110.0)
    mid_in, mid_out = fade_in[FADE_POINTS // 2], fade_out[FADE_POINTS // 2]
    # halfway through a fade the mixer plays sin(π/4) ≈ 0.707 of the level (a straight line would be 0.5)
    assert mid_in == pytest.approx((20.0, 110.0 - 100.0 * math.sin(math.pi / 4)))
    assert mid_out == pytest.approx((160.0, 110.0 - 100.0 * math.cos(math.pi / 4)))
    assert fade_in[0] == (0.0, 110.0) and fade_in[-1] == pytest.approx((40.0, 10.0))
    assert fade_out[0] == pytest.approx((120.0, 10.0)) and fade_out[-1] == pytest.approx((200.0, 110.0))
