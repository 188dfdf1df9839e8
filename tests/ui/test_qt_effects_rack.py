"""The effects rack in the mixer: presets, add/remove/reorder/bypass, knobs, A/B and the voice chain —
each gesture one undoable core edit — and model changes shown in the rack and on the strip."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from studio.core import effects as fxc
from studio.ui.qt_document import QtDocument
from studio.ui.qt_mixer import QtMixerPanel


@pytest.fixture
def mixer(qtbot, podcast):
    doc = QtDocument.open(podcast)
    panel = QtMixerPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(900, 520)
    panel.show()
    yield doc, panel
    doc.close()


def _choose(combo, data) -> None:
    combo.setCurrentIndex(combo.findData(data))
    combo.activated.emit(combo.currentIndex())


def test_fx_button_opens_the_rack_on_that_track(mixer):
    doc, panel = mixer
    assert not panel.rack.isVisibleTo(panel)
    panel.strips["trk_maya"].fx.click()
    assert panel.rack.isVisibleTo(panel)
    assert (panel.rack.target, panel.rack.target_id) == ("track", "trk_maya")
    assert [panel.rack.which.itemData(i).split(":")[0] for i in range(panel.rack.which.count())] == [
        "track",
        "speaker",
    ]
    panel.strips["trk_maya"].fx.click()
    assert not panel.rack.isVisibleTo(panel)


def test_rack_gestures_are_undoable_edits(mixer):
    doc, panel = mixer
    panel.show_effects("trk_maya")
    rack = panel.rack
    start = doc.undo_stack.count()
    _choose(rack.preset, "radio")
    assert doc.project.tracks["trk_maya"].effects == fxc.PRESETS["radio"]
    assert rack.list.count() == 6 and panel.strips["trk_maya"].fx.text() == "FX 6"
    rack.list.setCurrentRow(5)
    _choose(rack.add, "reverb")  # inserted after the selected effect
    assert [f.kind for f in doc.project.tracks["trk_maya"].effects][-1] == "reverb"
    assert rack.tail.text().startswith("Tail ")
    rack.list.setCurrentRow(6)
    rack.spins["room_size"].setValue(0.8)
    assert fxc.params_of(doc.project.tracks["trk_maya"].effects[6])["room_size"] == pytest.approx(0.8)
    rack.list.item(0).setCheckState(Qt.CheckState.Unchecked)  # bypass the high-pass
    assert doc.project.tracks["trk_maya"].effects[0].bypass
    rack.list.setCurrentRow(6)
    rack.up.click()
    assert [f.kind for f in doc.project.tracks["trk_maya"].effects][5] == "reverb"
    rack.remove.click()
    assert "reverb" not in [f.kind for f in doc.project.tracks["trk_maya"].effects]
    rack.ab.click()
    assert all(f.bypass for f in doc.project.tracks["trk_maya"].effects)
    assert doc.undo_stack.count() == start + 7
    for _ in range(7):
        doc.undo_stack.undo()
    assert doc.project.tracks["trk_maya"].effects == ()
    assert rack.list.count() == 0 and panel.strips["trk_maya"].fx.text() == "FX"


def test_voice_chain_and_refusals(mixer):
    doc, panel = mixer
    panel.show_effects("trk_maya")
    rack = panel.rack
    speaker_id = doc.project.tracks["trk_maya"].speaker_id
    _choose(rack.which, f"speaker:{speaker_id}")
    _choose(rack.add, "pitch_shift")  # fine on a voice
    assert [f.kind for f in doc.project.speakers[speaker_id].voice.effects] == ["pitch_shift"]
    failures: list[str] = []
    doc.editFailed.connect(failures.append)
    _choose(rack.which, "track:trk_maya")
    _choose(rack.add, "pitch_shift")  # refused on a track, with the reason
    assert doc.project.tracks["trk_maya"].effects == ()
    assert failures and "not on a track" in failures[0]


def test_model_changes_reach_the_rack_and_a_screenshot(mixer, qtbot, tmp_path: Path):
    doc, panel = mixer
    panel.show_effects("trk_theo")
    doc.edit(fxc.use_preset(doc.project, "track", "trk_theo", "Broadcast voice"))
    assert panel.rack.list.count() == len(fxc.PRESETS["broadcast_voice"])
    panel.rack.list.setCurrentRow(4)
    assert set(panel.rack.spins) == {"threshold_db", "ratio", "attack_ms", "release_ms", "makeup_db"}
    qtbot.wait(20)  # new knob widgets are shown by a queued call
    assert all(spin.isVisibleTo(panel) for spin in panel.rack.spins.values())
    out = Path(os.environ.get("CHORUS_SCREENSHOT_DIR", tmp_path))
    assert panel.grab().save(str(out / "mixer-effects.png"))
