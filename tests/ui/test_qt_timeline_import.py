"""Dropped audio is read, hashed and fsynced on a worker: the GUI thread keeps running, the clip lands."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QCoreApplication, QTimer

from studio.audio import media_import
from studio.ui.qt_document import QtDocument
from studio.ui.qt_peak_store import QtPeakStore
from studio.ui.qt_timeline import QtTimelinePanel


@pytest.fixture
def timeline(qtbot, rendered_podcast):
    doc = QtDocument.open(rendered_podcast)
    peaks = QtPeakStore(doc.media_path)
    panel = QtTimelinePanel(doc, peaks)
    qtbot.addWidget(panel)
    yield doc, panel
    panel.canvas.importer.shutdown()
    peaks.shutdown()
    doc.close()


def write_wav(path, seconds, rate=48000):
    rng = np.random.default_rng(7)
    sf.write(
        path, (rng.standard_normal((int(seconds * rate), 2)) * 0.1).astype(np.float32), rate, subtype="PCM_16"
    )
    return path


def test_the_copy_runs_off_the_gui_thread_which_keeps_running_and_the_clip_lands(
    qtbot, timeline, tmp_path, monkeypatch
):
    doc, panel = timeline
    wav = write_wav(tmp_path / "bed.wav", 40.0)
    gate, copying = threading.Event(), threading.Event()
    threads: list[threading.Thread] = []
    real_copy = media_import.copy_into_media

    def held_copy(*args, **kwargs):
        threads.append(threading.current_thread())
        copying.set()
        assert gate.wait(10), "never released"
        return real_copy(*args, **kwargs)

    monkeypatch.setattr(media_import, "copy_into_media", held_copy)
    music = doc.project.tracks["trk_music"]
    t = time.perf_counter()
    job = panel.canvas.import_audio([wav], 3.0, music)
    returned_in = time.perf_counter() - t
    assert copying.wait(5)
    # the worker is stuck in the copy; the GUI thread is not: its timers still fire
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.005)
    timer.stop()
    assert len(ticks) >= 10 and not job.done and returned_in < 0.1
    gate.set()
    clip_ids = job.wait()
    assert threads and all(th is not threading.main_thread() for th in threads)
    (clip_id,) = clip_ids
    clip = doc.project.clips[clip_id]
    assert (
        clip.track_id == "trk_music"
        and clip.start == pytest.approx(3.0)
        and clip.duration == pytest.approx(40.0)
    )
    assert doc.project_file.media_path(clip.media).read_bytes() == wav.read_bytes()
    assert doc.selected_clips == (clip_id,)
    doc.undo_stack.undo()  # one undo step
    assert clip_id not in doc.project.clips


def test_progress_reaches_the_gui_and_a_bad_file_is_reported(qtbot, timeline, tmp_path, monkeypatch):
    doc, panel = timeline
    monkeypatch.setattr(media_import, "COPY_BLOCK", 32 * 1024)
    wav = write_wav(tmp_path / "door.wav", 6.0)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF not really")
    progress: list[float] = []
    failures: list[str] = []
    panel.canvas.importer.progressChanged.connect(lambda f, _name: progress.append(f))
    doc.editFailed.connect(failures.append)
    job = panel.canvas.import_audio([junk, wav], 0.0, None)
    (clip_id,) = job.wait()
    assert progress[0] == 0.0 and progress[-1] == 1.0 and progress == sorted(progress)
    assert failures and failures[0].startswith("Cannot import junk.wav")
    assert doc.project.tracks[doc.project.clips[clip_id].track_id].kind.value == "sfx"
