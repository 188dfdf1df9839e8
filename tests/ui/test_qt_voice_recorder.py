"""Recording a reference clip: count-in, level meter, the clip added to the voice — against a fake
input stream — and a clear message with Record disabled when there is no microphone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fakes import CallbackStream
from PySide6.QtCore import Qt

from studio.bank.store import VoiceBank
from studio.ui.qt_voice_bank import make_voice_bank_panel
from studio.ui.qt_voice_recorder import (
    COUNTING,
    IDLE,
    METER_FLOOR_DB,
    RECORDING,
    QtRecorder,
    QtVoiceRecorderDialog,
    RecorderUnavailable,
    sounddevice_input_factory,
)

RATE = 48000
BLOCK = 1024


class FakeInputStream(CallbackStream):
    """A sounddevice.InputStream stand-in: ``push`` runs the callback as PortAudio's thread would."""

    last: FakeInputStream | None = None

    def __init__(self, samplerate: int, channels: int, blocksize: int, dtype: str, callback) -> None:
        assert dtype == "float32" and channels == 1
        super().__init__(samplerate, channels, blocksize, callback)
        FakeInputStream.last = self

    def push(self, signal: np.ndarray) -> None:
        for start in range(0, len(signal) - self.blocksize + 1, self.blocksize):
            block = np.ascontiguousarray(signal[start : start + self.blocksize, None], dtype=np.float32)
            self.callback(block, self.blocksize, None, None)


def fake_input():
    return FakeInputStream


def no_input():
    raise RecorderUnavailable("No microphone: no audio input device was found (test).")


class BrokenInputStream(FakeInputStream):
    def start(self) -> None:
        raise OSError("Device unavailable [PaErrorCode -9985]")


def speech(seconds: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(130 + 15 * np.sin(2 * np.pi * 0.8 * t)) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 8)) * np.clip(np.sin(2 * np.pi * 2.2 * t), 0, None) ** 0.5
    return (0.3 * x).astype(np.float32)


@pytest.fixture
def bank(tmp_path: Path):
    bank = VoiceBank.open(tmp_path / "bank")
    yield bank
    bank.close()


def make_dialog(qtbot, bank: VoiceBank, factory=fake_input) -> QtVoiceRecorderDialog:
    voice = bank.create_voice("Mara")
    dialog = QtVoiceRecorderDialog(bank, voice.id, factory, count_in_ms=15)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_count_in_meter_and_a_recorded_clip_added_to_the_voice(qtbot, bank):
    dialog = make_dialog(qtbot, bank)
    recorder = dialog.recorder
    counted: list[int] = []
    recorder.countdown.connect(counted.append)
    added = []
    dialog.clipAdded.connect(added.append)
    assert dialog.record_button.isEnabled() and not dialog.add_button.isEnabled()
    dialog.text.setPlainText("The lighthouse keeper counted every step.")

    qtbot.mouseClick(dialog.record_button, Qt.MouseButton.LeftButton)
    assert recorder.state == COUNTING and dialog.count_label.text() == "3"
    assert dialog.stop_button.text() == "Cancel" and not dialog.record_button.isEnabled()
    stream = FakeInputStream.last
    assert stream is not None and stream.started
    buffer = recorder._buffer
    stream.push(speech(0.1))  # the meter runs during the count-in, nothing is kept yet
    qtbot.waitUntil(lambda: dialog.meter.value > -20, timeout=2000)
    assert recorder.seconds == 0.0
    qtbot.waitUntil(lambda: recorder.state == RECORDING, timeout=3000)
    assert counted == [3, 2, 1, 0] and dialog.count_label.text() == "● recording"

    stream.push(
        np.concatenate([np.zeros(RATE // 2, np.float32), speech(5.0), np.zeros(RATE // 2, np.float32)])
    )
    qtbot.waitUntil(lambda: dialog.time_label.text().startswith("6.0"), timeout=2000)
    assert recorder._buffer is buffer  # recorded into the buffer allocated before the stream started
    qtbot.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)
    assert stream.closed and dialog.meter.value == METER_FLOOR_DB
    qtbot.waitUntil(lambda: dialog.add_button.isEnabled(), timeout=5000)
    assert dialog.prepared is not None
    assert dialog.prepared.stats.duration == pytest.approx(5.2, abs=0.4)  # silence trimmed, a pad kept
    assert "recorded" in dialog.count_label.text()

    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    (clip,) = bank.find("Mara").clips
    assert clip.transcript == "The lighthouse keeper counted every step."
    assert clip.sample_rate == 24000 and bank.clip_path(clip.clip_id).is_file()
    assert abs(clip.loudness_lufs + 20) < 1.5
    assert [v.id for v in added] == [bank.find("Mara").id]
    assert "Added a" in dialog.status.text() and not dialog.add_button.isEnabled()
    dialog.close()


def test_no_input_device_disables_record_with_a_clear_message(qtbot, bank):
    dialog = make_dialog(qtbot, bank, no_input)
    assert not dialog.recorder.available
    assert not dialog.record_button.isEnabled() and not dialog.stop_button.isEnabled()
    assert "No microphone" in dialog.status.text()
    dialog.record()  # even if called: a message, no crash
    assert dialog.recorder.state == IDLE and "No microphone" in dialog.status.text()
    dialog.close()


def test_the_real_factory_explains_a_missing_portaudio_or_microphone():
    try:
        factory = sounddevice_input_factory()
    except RecorderUnavailable as exc:  # this machine: no PortAudio / no input device
        text = str(exc)
        assert "PortAudio" in text or "microphone" in text
        assert "from audio files" in text  # and what to do instead
    else:
        assert callable(factory)


def test_a_microphone_that_fails_to_open_is_reported(qtbot, bank):
    dialog = make_dialog(qtbot, bank, lambda: BrokenInputStream)
    dialog.record()
    assert dialog.recorder.state == IDLE and dialog.record_button.isEnabled()
    assert "Cannot open the microphone" in dialog.status.text() and "-9985" in dialog.status.text()
    dialog.close()


def test_silence_is_refused_and_cancel_keeps_nothing(qtbot, bank):
    dialog = make_dialog(qtbot, bank)
    recorder = dialog.recorder
    dialog.record()
    dialog.stop()  # during the count-in: cancel
    assert recorder.state == IDLE and FakeInputStream.last.closed and dialog.prepared is None

    dialog.record()
    qtbot.waitUntil(lambda: recorder.state == RECORDING, timeout=3000)
    FakeInputStream.last.push(np.zeros(RATE * 2, np.float32))
    dialog.stop()
    qtbot.waitUntil(lambda: recorder.state == IDLE, timeout=5000)
    assert "cannot be used" in dialog.status.text() and "silent" in dialog.status.text()
    assert not dialog.add_button.isEnabled() and not bank.find("Mara").clips
    dialog.close()


def test_recording_stops_at_the_longest_allowed_clip(qtbot):
    recorder = QtRecorder(fake_input, count_in=0, max_seconds=2.0)
    got = []
    recorder.recorded.connect(got.append)
    assert recorder.start() and recorder.state == RECORDING
    FakeInputStream.last.push(speech(3.0))
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    assert recorder.seconds == pytest.approx(2.0) and FakeInputStream.last.closed
    assert got[0].stats.duration <= 2.0
    recorder.close()


def test_the_panel_opens_the_recorder_for_the_selected_voice(qtbot, bank):
    voice = bank.create_voice("Ivo")
    panel = make_voice_bank_panel(bank, input_factory=no_input, output_factory=lambda: None)
    qtbot.addWidget(panel)
    panel.select_voice(voice.id)
    dialog = panel.record_clip()
    assert dialog is not None and dialog.isVisible() and dialog.windowTitle().endswith("Ivo")
    assert not dialog.record_button.isEnabled() and "No microphone" in dialog.status.text()
    dialog.close()
    panel.shutdown()


def test_a_microphone_without_48_khz_records_at_its_own_rate_through_the_stream_layer(qtbot, bank):
    from fake_sounddevice import FakeSoundDevice

    from studio.audio.device_streams import DeviceStreams

    card = FakeSoundDevice()
    streams = DeviceStreams(card, input_device="USB Headset")  # records at 44.1 kHz only
    dialog = make_dialog(qtbot, bank, lambda: sounddevice_input_factory(streams))
    recorder = dialog.recorder
    dialog.record()
    qtbot.waitUntil(lambda: recorder.state == RECORDING, timeout=3000)
    stream = card.last
    assert stream.kind == "input" and stream.device == 2 and stream.samplerate == 44100
    assert recorder.sample_rate == 44100 and recorder._buffer.size == int(recorder.max_seconds * 44100)
    audio = speech(3.0, 44100)
    for k in range(0, len(audio) - BLOCK + 1, BLOCK):
        stream.push(audio[k : k + BLOCK])
    qtbot.waitUntil(lambda: recorder.seconds > 2.9, timeout=2000)
    dialog.stop()
    qtbot.waitUntil(lambda: dialog.add_button.isEnabled(), timeout=5000)
    # 3 s at 44.1 kHz is 3 s of clip (not 2.76 s, as if it were 48 kHz)
    assert dialog.prepared.stats.duration == pytest.approx(3.0, abs=0.35)
    dialog.close()


def test_a_busy_microphone_through_the_layer_is_a_clear_message(qtbot, bank):
    from fake_sounddevice import FakeSoundDevice

    from studio.audio.device_streams import DeviceStreams

    card = FakeSoundDevice()
    card.devices[1].busy = True
    dialog = make_dialog(qtbot, bank, lambda: sounddevice_input_factory(DeviceStreams(card)))
    dialog.record()
    assert dialog.recorder.state == IDLE and "busy" in dialog.status.text()
    dialog.close()
