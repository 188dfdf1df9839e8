"""Transport ▸ Audio output: the device list comes from the stream layer, the choice is a studio
preference (schema-checked, persisted), and a saved device that is gone falls back with a message."""

from __future__ import annotations

from fake_sounddevice import FakeSoundDevice, MissingSoundDevice

from studio.audio.device_streams import DeviceStreams
from studio.ui.qt_audio_output import DEFAULT_LABEL, QtAudioOutputDialog
from studio.ui.qt_settings import QtStudioSettings


def test_the_dialog_lists_the_outputs_of_the_layer(qtbot):
    dialog = QtAudioOutputDialog(DeviceStreams(FakeSoundDevice()))
    qtbot.addWidget(dialog)
    items = [dialog.combo.itemText(i) for i in range(dialog.combo.count())]
    assert items == [DEFAULT_LABEL, "Built-in Output (Fake API) — system default", "USB Headset (Fake API)"]
    assert dialog.choice == "" and "21 ms output latency" in dialog.details.text()
    dialog.combo.setCurrentIndex(2)
    assert dialog.choice == "USB Headset" and "44100 Hz" in dialog.details.text()
    assert dialog.warning.text() == ""


def test_a_saved_device_that_is_gone_is_marked_and_explained(qtbot):
    dialog = QtAudioOutputDialog(DeviceStreams(FakeSoundDevice()), saved="Studio Monitor 8")
    qtbot.addWidget(dialog)
    assert dialog.combo.currentText() == "Studio Monitor 8 (not connected)"
    assert "not connected; using 'Built-in Output'" in dialog.warning.text()


def test_without_portaudio_the_dialog_says_why_and_offers_nothing(qtbot):
    dialog = QtAudioOutputDialog(DeviceStreams(MissingSoundDevice()))
    qtbot.addWidget(dialog)
    assert not dialog.combo.isEnabled() and "PortAudio" in dialog.warning.text()


def test_the_choice_persists_as_a_checked_studio_preference(tmp_path):
    settings = QtStudioSettings(tmp_path)
    assert settings.output_device() == ""  # the schema's default: the system default
    settings.set_output_device("USB Headset")
    assert QtStudioSettings(tmp_path).output_device() == "USB Headset"  # read back from the file


def test_the_main_window_plays_through_the_chosen_device(qtbot, make_window, rendered_podcast):
    card = FakeSoundDevice()
    window = make_window(rendered_podcast, streams=DeviceStreams(card), stream_factory=None)
    playback = window.view.playback
    window.apply_output_device("USB Headset")
    assert window.settings.output_device() == "USB Headset"
    assert playback.play()
    qtbot.waitUntil(lambda: card.last is not None and card.last.started, timeout=5000)
    assert card.last.device == 2 and card.last.samplerate == 44100  # the headset, resampled to its rate
    playback.pause()
    # the takes view and voice bank open through the same layer, on the same device
    opener = window.stream_factory()
    opener(samplerate=44100, channels=1, blocksize=256, dtype="float32", callback=lambda *a: None)
    assert card.last.device == 2
