"""The Mixer panel: strips follow the tracks both ways, a fader drag is one undo step, ducking and
the export preset edit the project, and meter readings are shown."""

from __future__ import annotations

import math

import pytest

from studio.core import ops
from studio.ui.qt_document import QtDocument
from studio.ui.qt_mixer import QtMixerPanel
from studio.ui.qt_playback import MeterReading


@pytest.fixture
def mixer(qtbot, podcast):
    doc = QtDocument.open(podcast)
    panel = QtMixerPanel(doc)
    qtbot.addWidget(panel)
    panel.show()
    yield doc, panel
    doc.close()


def test_one_strip_per_track_showing_the_model(mixer):
    doc, panel = mixer
    assert list(panel.strips) == ["trk_maya", "trk_theo", "trk_music"]
    music = panel.strips["trk_music"]
    assert music.fader.value() == -60 and music.db.text() == "-6.0 dB"
    assert music.duck.isVisibleTo(panel) and not panel.strips["trk_maya"].duck.isVisibleTo(panel)
    assert panel.strips["trk_maya"].pan_label.text() == "L15"


def test_model_changes_reach_the_strip(mixer):
    doc, panel = mixer
    doc.edit(ops.set_track("trk_theo", gain_db=-3.5, mute=True))
    strip = panel.strips["trk_theo"]
    assert strip.fader.value() == -35 and strip.mute.isChecked()
    doc.undo_stack.undo()
    assert strip.fader.value() == 0 and not strip.mute.isChecked()


def test_a_fader_drag_is_one_undo_step(mixer):
    doc, panel = mixer
    strip = panel.strips["trk_maya"]
    before = doc.undo_stack.count()
    strip.fader.sliderPressed.emit()
    for value in (-10, -25, -40, -55):
        strip.fader.setValue(value)
    strip.fader.sliderReleased.emit()
    assert doc.project.tracks["trk_maya"].gain_db == pytest.approx(-5.5)
    assert doc.undo_stack.count() == before + 1
    strip.fader.sliderPressed.emit()  # a second drag is a second step
    strip.fader.setValue(-20)
    assert doc.undo_stack.count() == before + 2
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.project.tracks["trk_maya"].gain_db == 0.0


def test_mute_solo_and_ducking_edit_the_track(mixer):
    doc, panel = mixer
    strip = panel.strips["trk_music"]
    strip.mute.click()
    assert doc.project.tracks["trk_music"].mute
    strip.solo.click()
    assert doc.project.tracks["trk_music"].solo
    strip.duck_depth.setValue(-20)
    assert doc.project.tracks["trk_music"].ducking.depth_db == -20
    strip.duck.click()
    assert not doc.project.tracks["trk_music"].ducking.enabled and not strip.duck_depth.isEnabled()


def test_master_gain_and_export_preset(mixer):
    doc, panel = mixer
    panel.master_fader.setValue(-30)
    assert doc.project.settings.master_gain_db == pytest.approx(-3.0)
    panel.preset.setCurrentIndex(panel.preset.findData("ebu"))
    panel.preset.activated.emit(panel.preset.currentIndex())
    assert doc.project.settings.export_preset == "ebu"
    assert panel.meter.target == -23.0


def test_meter_readings_are_shown(mixer):
    doc, panel = mixer
    panel.show_reading(MeterReading(48000, -18.2, -17.0, -16.4, -3.0))
    assert panel.lufs.text() == "M -18.2  S -17.0\nI -16.4 LUFS"
    panel.show_reading(MeterReading(48000, -math.inf, -20.0, -math.inf, -math.inf))
    assert "M   —" in panel.lufs.text()
    panel.grab()


def test_new_tracks_get_a_strip(mixer):
    from studio.core.model import Track, TrackKind

    doc, panel = mixer
    doc.edit(ops.Insert(Track("trk_fx", "Door", TrackKind.SFX)))
    assert "trk_fx" in panel.strips
    doc.undo_stack.undo()
    assert "trk_fx" not in panel.strips
