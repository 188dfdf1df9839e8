"""Playback: the shared mixer played through a (fake) sound card by a feeder thread and a callback
that only copies pre-rendered blocks; muting a track changes what the card receives; without
PortAudio the transport says so and nothing else breaks."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication
from ui_fakes import FakeStream, fake_stream_factory

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
    FakeStream.last = None  # a stream left from an earlier test must not pass for this test's one
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


def test_playback_plays_the_mix_and_muting_a_track_changes_it(qtbot, doc):
    playback = QtPlayback(doc.media_path, stream_factory=fake_stream_factory)
    assert playback.available
    clip = next(c for c in doc.project.clips.values() if c.line_id == "EP12_010")
    # only Maya: mute the music so the mix is her clip alone
    doc.edit(ops.set_track("trk_music", mute=True))
    playback.set_project(doc.snapshot())
    playback.seek(clip.start + 0.5)
    assert playback.play()
    wait_for(lambda: FakeStream.last is not None and FakeStream.last.started)
    stream = FakeStream.last
    heard = stream.pull(QUEUE_BLOCKS)
    assert rms(heard) > 0.01  # Maya speaks here
    wait_for(lambda: playback.position > clip.start + 0.5)
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


def test_the_callback_never_mixes_an_empty_queue_plays_silence(qtbot, doc):
    playback = QtPlayback(doc.media_path, stream_factory=fake_stream_factory)
    out = np.ones((256, 2), np.float32)
    playback._callback(out, 256, None, None)
    assert not out.any() and playback.underruns == 1


def test_meter_and_playhead_reach_the_gui(qtbot, doc):
    playback = QtPlayback(doc.media_path, stream_factory=fake_stream_factory)
    playback.set_project(doc.snapshot())
    readings, positions = [], []
    playback.meterChanged.connect(readings.append)
    playback.positionChanged.connect(positions.append)
    playback.seek(4.0)
    playback.play()
    wait_for(lambda: FakeStream.last is not None and FakeStream.last.started)
    for _ in range(20):
        FakeStream.last.pull(4)
        QCoreApplication.processEvents()
        time.sleep(0.04)
    wait_for(lambda: readings and positions[-1] > 4.0)
    assert np.isfinite(readings[-1].momentary) and -60 < readings[-1].momentary < 0
    playback.stop()
    assert playback.position == pytest.approx(4.0)  # stop returns to where playback began


def test_playback_stops_at_the_end(qtbot, doc):
    playback = QtPlayback(doc.media_path, stream_factory=fake_stream_factory)
    playback.set_project(doc.snapshot())
    playback.seek(doc.project.duration() - 0.1)
    states = []
    playback.stateChanged.connect(states.append)
    playback.play()
    wait_for(lambda: FakeStream.last is not None and FakeStream.last.started)
    deadline = time.monotonic() + 20
    while playback.playing:
        assert time.monotonic() < deadline, "playback never reached the end (a hang guard)"
        FakeStream.last.pull(4)
        QCoreApplication.processEvents()
        time.sleep(0.01)
    assert states == [True, False]


def test_playback_runs_on_through_an_effect_tail(qtbot, doc):
    from studio.core import effects as fxc

    last = max(doc.project.clips.values(), key=lambda c: c.end)
    doc.edit(fxc.set_chain(doc.project, "track", last.track_id, (fxc.effect("reverb", room_size=0.9),)), "Reverb")
    tail = fxc.end_with_tails(doc.project) - doc.project.duration()
    assert tail > 2.0
    playback = QtPlayback(doc.media_path, stream_factory=fake_stream_factory)
    playback.set_project(doc.snapshot())
    playback.seek(doc.project.duration() - 0.1)
    playback.play()
    wait_for(lambda: FakeStream.last is not None and FakeStream.last.started)
    pulled = []
    deadline = time.monotonic() + 20
    while playback.playing:
        assert time.monotonic() < deadline, "playback never reached the end (a hang guard)"
        pulled.append(FakeStream.last.pull(4))
        QCoreApplication.processEvents()
        time.sleep(0.01)
    audio = np.concatenate(pulled)
    rate = doc.project.settings.sample_rate
    assert len(audio) >= (0.1 + tail) * rate  # not cut at the last clip's end
    assert rms(audio[int(0.2 * rate) : int(1.0 * rate)]) > 1e-4  # the reverb rings after the clip
