"""Zoomed in past the finest peak level, the timeline draws the samples themselves (a line through
them, a dot on each); the samples are read on a worker, only the blocks on screen."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtGui import QColor

from studio.ui.qt_document import QtDocument
from studio.ui.qt_peak_store import QtPeakStore
from studio.ui.qt_timeline import QtTimelinePanel
from studio.ui.qt_timeline_painter import LABEL_H


@pytest.fixture
def timeline(qtbot, rendered_podcast):
    doc = QtDocument.open(rendered_podcast)
    peaks = QtPeakStore(doc.media_path)
    panel = QtTimelinePanel(doc, peaks)
    qtbot.addWidget(panel)
    panel.resize(1000, 360)
    panel.show()
    qtbot.waitExposed(panel)
    yield doc, panel
    panel.canvas.samples.shutdown()
    peaks.shutdown()
    doc.close()


def settle(panel) -> None:
    panel.canvas.grab()
    panel.peaks.wait_idle()
    panel.canvas.grab()
    panel.canvas.samples.wait_idle()


def test_at_full_zoom_every_sample_is_a_dot_where_its_value_says(timeline):
    doc, panel = timeline
    canvas = panel.canvas
    clip = next(c for c in doc.project.clips.values() if c.line_id == "EP12_010")
    pps = 96000.0  # the closest zoom: 4 px per sample of a 24 kHz take
    panel.scale.set(px_per_s=pps, origin=clip.start + 2.0)
    settle(panel)
    image = canvas.grab().toImage()
    assert image.devicePixelRatio() == 1.0
    data, rate = sf.read(doc.media_path(clip.media), dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    row = panel.model.row_of(clip.track_id)
    wave_top = canvas.row_top(row) + 3 + LABEL_H
    rows = int(canvas.track_height - 7 - LABEL_H)
    mid, amp = rows / 2.0, rows / 2.0 - 0.5
    hits = total = 0
    for x in range(20, canvas.width() - 20, 1):
        t = canvas.scale.t(x)
        frame = (t - clip.start + clip.source_in) * rate
        if abs(frame - round(frame)) * pps / rate > 0.5:  # no sample under this pixel column
            continue
        value = mono[int(round(frame))]
        y = wave_top + round(mid - value * amp)
        total += 1
        hits += QColor(image.pixel(x, y)).lightness() > 240  # the white dot on that sample
    assert total > 150 and hits / total > 0.9, f"{hits} of {total} samples drawn where they are"
    assert canvas.samples.reads <= 2  # only the blocks on screen were read


def test_zoomed_out_the_peaks_are_drawn_and_no_samples_are_read(timeline):
    doc, panel = timeline
    panel.scale.set(
        px_per_s=40.0, origin=0.0
    )  # 600 frames per pixel at 24 kHz: coarser than a 256-frame bucket
    settle(panel)
    assert panel.canvas.samples.reads == 0
    assert not panel.canvas.painter.past_peaks(
        panel.peaks.get(next(iter(doc.project.clips.values())).media), 1.0
    )


def test_before_the_samples_arrive_the_peaks_stand_in(timeline, monkeypatch):
    import threading

    from studio.audio import sample_view

    doc, panel = timeline
    gate = threading.Event()
    real_read = sample_view.BlockReader.read
    monkeypatch.setattr(sample_view.BlockReader, "read", lambda *a: (gate.wait(10), real_read(*a))[1])
    clip = next(c for c in doc.project.clips.values() if c.line_id == "EP12_010")
    panel.scale.set(px_per_s=4000.0, origin=clip.start + 1.0)
    panel.canvas.grab()
    panel.peaks.wait_idle()
    first = panel.canvas.grab().toImage()  # the samples are still being read: peaks are drawn
    assert panel.canvas.samples.reads == 0
    gate.set()
    panel.canvas.samples.wait_idle()
    later = panel.canvas.grab().toImage()
    row = panel.model.row_of(clip.track_id)
    y0 = panel.canvas.row_top(row) + 3 + LABEL_H

    def lit(image) -> float:
        xs = range(20, image.width() - 20)
        pixels = [[QColor(image.pixel(x, y)).lightness() > 150 for x in xs] for y in range(y0, y0 + 60)]
        return float(np.mean(pixels))

    assert lit(first) > 1.5 * lit(later) > 0.02  # solid peak blocks, then the thin trace of the samples
