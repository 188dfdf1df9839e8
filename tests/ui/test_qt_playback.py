"""Playback: the shared mixer played through a (fake) sound card by a feeder thread and a callback
that only copies pre-rendered blocks; muting a track changes what the card receives; without
PortAudio the transport says so and nothing else breaks."""

from __future__ import annotations

import time

import numpy as np
import pytest
from fake_sounddevice import FakeSoundDevice
from PySide6.QtCore import QCoreApplication

from studio.audio.device_streams import DeviceStreams
from studio.core import ops
from studio.ui.qt_document import QtDocument
from studio.ui.qt_playback import QUEUE_BLOCKS, QtPlayback, sounddevice_stream_factory
from studio.ui.qt_transport import QtTransport


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out (a hang guard, not a speed check)"
        QCoreApplication.processEvents()
        time.sleep(0.005)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


@pytest.fixture
def doc(rendered_podcast):
    d = QtDocument.open(rendered_podcast)
    yield d
    d.close()


def test_this_machine_has_no_portaudio_and_the_transport_says_so(qtbot, doc):
    try:
        sounddevice_stream_factory()
        pytest.skip("this machine has an audio output")
    except Exception:
        pass
    playback = QtPlayback(doc.media_path)  # the real factory
    transport = QtTransport(playback)
    qtbot.addWidget(transport)
    assert not playback.available and "PortAudio" in playback.reason
    assert "PortAudio" in transport.warning.text()
    playback.set_project(doc.snapshot())
    assert not playback.play()
    playback.seek(12.0)  # the playhead still moves
    assert transport.time.text() == "0:12.00"


@pytest.fixture
def card():
    return FakeSoundDevice()


def test_playback_plays_the_mix_and_muting_a_track_changes_it(qtbot, doc, card):
    playback = QtPlayback(doc.media_path, streams=DeviceStreams(card))
    assert playback.available
    clip = next(c for c in doc.project.clips.values() if c.line_id == "EP12_010")
    # only Maya: mute the music so the mix is her clip alone
    doc.edit(ops.set_track("trk_music", mute=True))
    playback.set_project(doc.snapshot())
    playback.seek(clip.start + 0.5)
    assert playback.play()
    wait_for(lambda: card.last is not None and card.last.started)
    stream = card.last
    heard = stream.pull(QUEUE_BLOCKS)
    assert rms(heard) > 0.01  # Maya speaks here
    # the playhead follows what is heard: the output latency behind the blocks the card took
    wait_for(lambda: stream.pull(1) is not None and playback.position > clip.start + 0.5)
    # the mix the card gets is the shared mixer's output at that time
    expected = playback.render_block(
        playback.make_mixer(doc.snapshot()), int((clip.start + 0.5) * 48000), 1024
    )
    assert np.allclose(heard[:1024], expected, atol=1e-5)
    doc.edit(ops.set_track("trk_maya", mute=True))
    playback.set_project(doc.snapshot())  # what the main window does after every edit
    stream.pull(QUEUE_BLOCKS + 2)  # blocks mixed before the edit drain out
    after = stream.pull(8)
    assert rms(after) < 1e-4  # everything muted now
    playback.pause()
    assert not playback.playing and stream.closed


def test_the_callback_never_mixes_an_empty_queue_plays_silence(qtbot, doc, card):
    playback = QtPlayback(doc.media_path, streams=DeviceStreams(card))
    out = np.ones((256, 2), np.float32)
    playback._callback(out, 256, None, None)
    assert not out.any() and playback.underruns == 1


def test_meter_and_playhead_reach_the_gui(qtbot, doc, card):
    playback = QtPlayback(doc.media_path, streams=DeviceStreams(card))
    playback.set_project(doc.snapshot())
    readings, positions = [], []
    playback.meterChanged.connect(readings.append)
    playback.positionChanged.connect(positions.append)
    playback.seek(4.0)
    playback.play()
    wait_for(lambda: card.last is not None and card.last.started)
    for _ in range(20):
        card.last.pull(4)
        QCoreApplication.processEvents()
        time.sleep(0.04)
    wait_for(lambda: readings and positions[-1] > 4.0)
    assert np.isfinite(readings[-1].momentary) and -60 < readings[-1].momentary < 0
    playback.stop()
    assert playback.position == pytest.approx(4.0)  # stop returns to where playback began


def test_playback_stops_at_the_end(qtbot, doc, card):
    playback = QtPlayback(doc.media_path, streams=DeviceStreams(card))
    playback.set_project(doc.snapshot())
    playback.seek(doc.project.duration() - 0.1)
    states = []
    playback.stateChanged.connect(states.append)
    playback.play()
    wait_for(lambda: card.last is not None and card.last.started)
    deadline = time.monotonic() + 20
    while playback.playing:
        assert time.monotonic() < deadline, "playback never reached the end (a hang guard)"
        card.last.pull(4)
        QCoreApplication.processEvents()
        time.sleep(0.01)
    assert states == [True, False]


def test_playback_runs_on_through_an_effect_tail(qtbot, doc, card):
    from studio.core import effects as fxc

    last = max(doc.project.clips.values(), key=lambda c: c.end)
    doc.edit(fxc.set_chain(doc.project, "track", last.track_id, (fxc.effect("reverb", room_size=0.9),)), "Reverb")
    tail = fxc.end_with_tails(doc.project) - doc.project.duration()
    assert tail > 2.0
    playback = QtPlayback(doc.media_path, streams=DeviceStreams(card))
    playback.set_project(doc.snapshot())
    playback.seek(doc.project.duration() - 0.1)
    playback.play()
    wait_for(lambda: card.last is not None and card.last.started)
    pulled = []
    deadline = time.monotonic() + 20
    while playback.playing:
        assert time.monotonic() < deadline, "playback never reached the end (a hang guard)"
        pulled.append(card.last.pull(4))
        QCoreApplication.processEvents()
        time.sleep(0.01)
    audio = np.concatenate(pulled)
    rate = doc.project.settings.sample_rate
    assert len(audio) >= (0.1 + tail) * rate  # not cut at the last clip's end
    assert rms(audio[int(0.2 * rate) : int(1.0 * rate)]) > 1e-4  # the reverb rings after the clip


def _count_decodes(monkeypatch) -> list[str]:
    from studio.audio import sources

    loads: list[str] = []
    real = sources.SourceCache._load

    def counting(self, media):
        loads.append(media)
        return real(self, media)

    monkeypatch.setattr(sources.SourceCache, "_load", counting)
    return loads


def test_seeking_keeps_the_decoded_sources(qtbot, doc, card, monkeypatch):
    """Each seek starts a new feeder; the sources it plays were decoded once, not once per seek
    (before: 8 decodes over these five seeks; now 0)."""
    loads = _count_decodes(monkeypatch)
    playback = QtPlayback(doc.media_path, streams=DeviceStreams(card))
    playback.set_project(doc.snapshot())
    seeks = (3.0, 2.5, 4.0, 2.0, 3.5)
    for t in (2.0, *seeks):  # the first visit decodes what is under 2–4.5 s …
        playback.seek(t)
        playback.play()
        wait_for(lambda: card.last is not None and card.last.started)
        card.last.pull(QUEUE_BLOCKS)
        playback.pause()
    first = len(loads)
    assert first >= 1
    card.streams.clear()
    playback.play()
    wait_for(lambda: card.last is not None and card.last.started)
    for t in seeks:  # … and seeking back and forth while playing decodes nothing again
        card.streams.clear()
        playback.seek(t)
        wait_for(lambda: card.last is not None and card.last.started)
        heard = card.last.pull(QUEUE_BLOCKS)
    assert len(loads) == first, f"{len(loads) - first} decodes over {len(seeks)} seeks"
    assert rms(heard) > 0  # and it still plays
    playback.close()


def test_a_device_without_the_project_rate_gets_resampled_audio_and_the_playhead_stays_in_project_time(
    qtbot, doc, card
):
    streams = DeviceStreams(card, output_device="USB Headset")  # 44.1 kHz only; the project is 48 kHz
    playback = QtPlayback(doc.media_path, streams=streams)
    playback.set_project(doc.snapshot())
    clip = next(c for c in doc.project.clips.values() if c.line_id == "EP12_010")
    playback.seek(clip.start + 0.5)
    assert playback.play()
    wait_for(lambda: card.last is not None and card.last.started)
    assert card.last.samplerate == 44100 and playback.plan.resamples
    heard = card.last.pull(QUEUE_BLOCKS)
    assert rms(heard) > 0.01
    positions: list[float] = []
    playback.positionChanged.connect(positions.append)
    for _ in range(10):
        card.last.pull(2)
        QCoreApplication.processEvents()
        time.sleep(0.03)
    wait_for(lambda: positions)
    # blocks of 1024 frames at 44.1 kHz are 1114.6 project frames: the playhead is in project seconds
    assert clip.start + 0.5 < positions[-1] < clip.start + 0.5 + 1.5
    playback.close()


def test_a_saved_device_that_is_gone_plays_on_the_default_with_a_notice(qtbot, doc, card):
    playback = QtPlayback(doc.media_path, streams=DeviceStreams(card, output_device="Studio Monitor 8"))
    notices: list[str] = []
    playback.notice.connect(notices.append)
    playback.set_project(doc.snapshot())
    assert playback.play()
    wait_for(lambda: card.last is not None and card.last.started)
    assert card.last.device == 0  # the system default
    assert notices and "Studio Monitor 8" in notices[0] and "Built-in Output" in notices[0]
    playback.close()


def test_a_busy_device_is_a_message_not_a_hang(qtbot, doc, card):
    card.devices[0].busy = True
    playback = QtPlayback(doc.media_path, streams=DeviceStreams(card))
    playback.set_project(doc.snapshot())
    errors: list[str] = []
    playback.error.connect(errors.append)
    assert playback.play()
    wait_for(lambda: errors)
    assert "busy" in errors[0] and not playback.playing


def test_the_playhead_is_what_is_heard_the_output_latency_behind_what_is_written(qtbot, doc, card):
    card.devices[0].latency = 0.25  # a long Bluetooth-like latency
    playback = QtPlayback(doc.media_path, streams=DeviceStreams(card))
    playback.set_project(doc.snapshot())
    playback.seek(10.0)
    playback.play()
    wait_for(lambda: card.last is not None and card.last.started)
    assert playback.latency == pytest.approx(0.25)
    positions: list[float] = []
    playback.positionChanged.connect(positions.append)

    def take(blocks: int) -> None:  # the card takes blocks the feeder has ready (no underruns)
        for _ in range(blocks):
            wait_for(lambda: len(playback._blocks) >= 2)
            card.last.pull(1)

    take(2)  # two blocks written (42.7 ms): nothing of them heard yet
    wait_for(lambda: positions)
    assert positions[-1] == pytest.approx(10.0)  # held at the start, not ahead of what is heard
    take(30)
    QCoreApplication.processEvents()
    time.sleep(0.1)
    QCoreApplication.processEvents()
    count = len(positions)
    take(1)  # block 33 (starting at 32 × 1024 frames) is being written now
    wait_for(lambda: len(positions) > count)
    assert playback.underruns == 0
    assert positions[-1] == pytest.approx(10.0 + 32 * 1024 / 48000 - 0.25, abs=1e-4)
    playback.close()
