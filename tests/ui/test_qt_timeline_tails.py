"""The timeline draws a clip's effect tail (its voice's or track's reverb/delay) after its end."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QColor

from studio.core import effects as fxc
from studio.ui.qt_document import QtDocument
from studio.ui.qt_peak_store import QtPeakStore
from studio.ui.qt_timeline import QtTimelinePanel

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
    yield doc, panel
    peaks.shutdown()
    doc.close()


def test_a_reverb_tail_is_drawn_after_the_clip(qtbot, timeline):
    doc, panel = timeline
    canvas = panel.canvas
    maya = sorted(panel.model.clips_in("trk_maya", 0, 1e9), key=lambda c: c.start)
    # a Maya clip with room after it on her track
    clip = next(a for a, b in zip(maya, maya[1:], strict=False) if b.start - a.end > 1.0)
    y = canvas.row_top(panel.model.row_of("trk_maya")) + canvas.track_height // 2
    x = round(canvas.scale.x(clip.end + 0.3))

    def pixel() -> QColor:
        return canvas.grab().toImage().pixelColor(x, y)

    dry = pixel()
    speaker_id = doc.project.tracks["trk_maya"].speaker_id
    doc.edit(fxc.use_preset(doc.project, "speaker", speaker_id, "cave"), "Cave")
    qtbot.wait(60)  # the canvas batches repaints
    wet = pixel()
    assert wet != dry  # the fading wedge after the clip
    span = fxc.ClipTails.of(doc.project).span(doc.project, clip)
    assert span is not None and span[1] - span[0] > 2.0
    if os.environ.get("CHORUS_SCREENSHOTS"):
        panel.grab().save(os.environ["CHORUS_SCREENSHOTS"])
    doc.undo_stack.undo()
    qtbot.wait(60)
    assert pixel() == dry


def test_moving_a_clip_repaints_its_old_tail(qtbot, timeline):
    doc, panel = timeline
    canvas = panel.canvas
    speaker_id = doc.project.tracks["trk_maya"].speaker_id
    doc.edit(fxc.use_preset(doc.project, "speaker", speaker_id, "cave"), "Cave")
    qtbot.wait(60)
    canvas.grab()
    longest = fxc.ClipTails.of(doc.project).longest
    assert canvas._longest_tail == pytest.approx(longest)
    canvas._dirty = QRect()
    canvas.update_range(1.0, 2.0)  # a clip there changed: its tail's strip is repainted too
    assert canvas._dirty.right() >= canvas.scale.x(2.0 + longest)
