"""The Effects tab of the voice bank's details: gestures write the bank voice's chain through the bank,
and a chain changed in the bank (another window, the CLI) shows in the tab."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox
from pytestqt.qtbot import QtBot

from studio.bank.store import VoiceBank
from studio.core import effects as fxc
from studio.ui.qt_voice_bank import QtVoiceBankPanel, make_voice_bank_panel


@pytest.fixture
def panel_and_bank(
    qtbot: QtBot, tmp_path: Path, fake_client_factory: Callable[..., Any]
) -> Iterator[tuple[QtVoiceBankPanel, VoiceBank]]:
    bank = VoiceBank.open(tmp_path / "bank")
    bank.create_voice("Ghost", profile="A hollow whisper")
    bank.create_voice("Plain", profile="Just a voice", effects=fxc.preset("radio"))
    panel = make_voice_bank_panel(bank, client_factory=fake_client_factory, transcriber=None)
    qtbot.addWidget(panel)
    panel.resize(420, 900)
    panel.show()
    yield panel, bank
    panel.shutdown()
    bank.close()


def _choose(combo: QComboBox, data: str) -> None:
    combo.setCurrentIndex(combo.findData(data))
    combo.activated.emit(combo.currentIndex())


def test_effects_tab_edits_the_bank_voice_both_ways(
    qtbot: QtBot, panel_and_bank: tuple[QtVoiceBankPanel, VoiceBank]
) -> None:
    panel, bank = panel_and_bank
    ghost = bank.find("Ghost").id
    panel.select_voice(ghost)
    details = panel.details
    fx = details.effects
    details.setCurrentWidget(details.effects_page)
    assert fx.list.count() == 0 and details.tabText(details.indexOf(details.effects_page)) == "Effects"

    _choose(fx.preset, "cave")
    assert bank.get(ghost).effects == fxc.PRESETS["cave"]
    assert fx.list.count() == 3 and fx.tail.text().startswith("Tail ")
    assert details.tabText(details.indexOf(details.effects_page)) == "Effects (3)"
    fx.list.setCurrentRow(2)
    fx.spins["room_size"].setValue(0.5)
    assert fxc.params_of(bank.get(ghost).effects[2])["room_size"] == pytest.approx(0.5)
    fx.list.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert bank.get(ghost).effects[0].bypass
    _choose(fx.add, "gain")  # after the selected effect
    assert [f.kind for f in bank.get(ghost).effects] == ["low_shelf", "delay", "reverb", "gain"]
    fx.list.setCurrentRow(3)
    fx.up.click()
    assert [f.kind for f in bank.get(ghost).effects] == ["low_shelf", "delay", "gain", "reverb"]
    fx.remove.click()  # the moved effect stays selected
    fx.ab.click()
    assert [f.kind for f in bank.get(ghost).effects] == ["low_shelf", "delay", "reverb"]
    assert all(f.bypass for f in bank.get(ghost).effects)

    # bank -> tab: a chain written elsewhere shows; another voice shows its own
    bank.update_voice(ghost, effects=fxc.preset("phone"))
    assert fx.list.count() == len(fxc.PRESETS["phone"]) and fx.list.item(0).text() == "1. High-pass"
    if os.environ.get("CHORUS_SCREENSHOTS"):
        fx.list.setCurrentRow(2)
        qtbot.wait(50)  # lay out the knobs
        details.grab().save(os.environ["CHORUS_SCREENSHOTS"])
    panel.select_voice(bank.find("Plain").id)
    assert fx.list.count() == len(fxc.PRESETS["radio"])
    _choose(fx.preset, "none")
    assert bank.find("Plain").effects == ()
