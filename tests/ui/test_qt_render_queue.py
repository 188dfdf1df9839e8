"""The Render queue: rendering drives the RenderSession over an engine client from a GUI timer;
lines go queued → rendering → done, clips appear on the timeline, failures and a killed engine are
handled, and none of it enters the undo stack."""

from __future__ import annotations

import os
import signal
import time

import pytest
from PySide6.QtCore import QCoreApplication

from studio.core import ops
from studio.core.model import LineStatus
from studio.ui.qt_document import QtDocument
from studio.ui.qt_render_controller import QtRenderController
from studio.ui.qt_render_queue import QtRenderQueuePanel

SAFETY_S = 120.0  # hang guard for the real engine, not a speed assertion


def wait_for(predicate, timeout=SAFETY_S):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting (hang guard)"
        QCoreApplication.processEvents()
        time.sleep(0.01)


@pytest.fixture
def rig(qtbot, podcast, fake_client_factory):
    doc = QtDocument.open(podcast)
    controller = QtRenderController(doc, fake_client_factory)
    panel = QtRenderQueuePanel(doc, controller)
    qtbot.addWidget(panel)
    yield doc, controller, panel
    controller.shutdown()
    doc.close()


def statuses(doc, ids=None):
    lines = doc.project.ordered_lines()
    return {line.id: line.status for line in lines if ids is None or line.id in ids}


def test_render_stale_lines_fills_the_timeline_without_undo_steps(rig, qtbot):
    doc, controller, panel = rig
    seen = set()
    doc.changed.connect(lambda c: seen.add(c.new.status) if c.kind == "line" and c.new else None)
    assert controller.render_stale() == 15
    assert set(statuses(doc).values()) == {LineStatus.QUEUED}
    assert panel.model.rowCount() == 15
    wait_for(lambda: not controller.busy)
    controller.place()
    assert set(statuses(doc).values()) == {LineStatus.DONE}
    assert {LineStatus.RENDERING, LineStatus.DONE} <= seen
    assert len([c for c in doc.project.clips.values() if c.line_id]) == 15
    assert doc.undo_stack.count() == 0
    qtbot.waitUntil(lambda: panel.overall.format() == "15 done, 0 failed")
    assert controller.render_stale() == 0  # nothing twice


def test_render_selection_and_new_take(rig):
    doc, controller, panel = rig
    doc.select(lines=["EP12_020", "EP12_030"])
    assert controller.render_selection() == 2
    wait_for(lambda: not controller.busy)
    assert statuses(doc, {"EP12_020", "EP12_030", "EP12_040"}) == {
        "EP12_020": LineStatus.DONE,
        "EP12_030": LineStatus.DONE,
        "EP12_040": LineStatus.STALE,
    }
    first = doc.project.lines["EP12_020"].selected_take
    assert controller.new_take() == 2
    wait_for(lambda: not controller.busy)
    line = doc.project.lines["EP12_020"]
    assert len(line.takes) == 2 and line.selected_take == first


def test_failed_lines_show_their_reason_and_can_be_retried(rig, monkeypatch):
    doc, controller, panel = rig
    controller.render(["EP12_010", "EP12_020"])
    wait_for(lambda: controller.client is not None)
    job_id = next(j for j in controller.job_order if j.startswith("EP12_010"))
    wait_for(lambda: not controller.busy)
    # simulate a failure report for a fresh job of that line
    doc.apply_untracked(ops.change_text("EP12_010", "Now this fails."))
    controller.render(["EP12_010"])
    new_job = controller.job_order[-1]
    assert new_job != job_id
    controller._apply({"type": "failed", "job_id": new_job, "reason": "the reference clip is unreadable"})
    assert doc.project.lines["EP12_010"].status == LineStatus.FAILED
    assert doc.project.lines["EP12_010"].status_detail == "the reference clip is unreadable"
    row = panel.model._row_of[new_job]
    assert panel.model.data(panel.model.index(row, 4)) == "the reference clip is unreadable"
    wait_for(lambda: not controller.busy)
    assert controller.retry_failed() == 1
    wait_for(lambda: not controller.busy)
    assert doc.project.lines["EP12_010"].status == LineStatus.DONE


def test_cancel_and_stop_put_lines_back_to_stale(qtbot, podcast, fake_client_factory):
    from ui_fakes import FakeEngineClient

    doc = QtDocument.open(podcast)
    controller = QtRenderController(doc, lambda b, o: FakeEngineClient(b, o, delay=0.2))
    controller.render_stale()
    wait_for(lambda: controller.client is not None)
    controller.cancel()
    wait_for(lambda: not controller.busy)
    assert LineStatus.QUEUED not in statuses(doc).values()
    assert LineStatus.STALE in statuses(doc).values()
    controller.shutdown()
    for client in FakeEngineClient.instances:
        client.shutdown(1.0)
    doc.close()


def test_an_engine_that_cannot_start_fails_the_lines_with_a_reason(qtbot, podcast):
    def broken(backend, options):
        raise RuntimeError("the engine executable is missing")

    doc = QtDocument.open(podcast)
    controller = QtRenderController(doc, broken)
    texts = []
    controller.engineChanged.connect(texts.append)
    controller.render(["EP12_010"])
    wait_for(lambda: not controller.busy)
    line = doc.project.lines["EP12_010"]
    assert line.status == LineStatus.FAILED and "executable is missing" in line.status_detail
    assert "did not start" in texts[-1]
    controller.shutdown()
    doc.close()


# ---- the real engine (Piper) ------------------------------------------------------------------


def real_controller(doc):
    from studio.render.client import EngineClient

    def factory(backend, options):
        return EngineClient(
            backend=backend,
            options={**options, "workers": 0},
            heartbeat_s=0.25,
            hang_timeout_s=5.0,
            backoff_s=0.05,
        )

    return QtRenderController(doc, factory)


@pytest.mark.slow
def test_piper_render_puts_clips_on_the_timeline(qtbot, podcast):
    from studio.ui.qt_peak_store import QtPeakStore
    from studio.ui.qt_timeline import QtTimelinePanel

    doc = QtDocument.open(podcast)
    peaks = QtPeakStore(doc.media_path)
    timeline = QtTimelinePanel(doc, peaks)
    qtbot.addWidget(timeline)
    controller = real_controller(doc)
    controller.progressChanged.connect(timeline.model.set_progress)
    try:
        assert controller.render(["EP12_040", "EP12_060"]) == 2
        timeline.model.flush()
        assert timeline.model.placeholder("EP12_040") is not None  # at once, before any audio exists
        wait_for(lambda: not controller.busy)
        controller.place()
        timeline.model.flush()
        assert timeline.model.placeholder("EP12_040") is None
        clips = [
            c for c in timeline.model.clips_in("trk_theo", 0, 1e9) if c.line_id in ("EP12_040", "EP12_060")
        ]
        assert len(clips) == 2
        for clip in clips:
            take = doc.project.selected_take(clip.line_id)
            assert take is not None and take.backend == "piper" and clip.media == take.media
            words = len(doc.project.lines[clip.line_id].text.split())
            assert 0.2 * words < take.duration < 1.0 * words  # real speech, not silence or garbage
            assert doc.media_path(take.media).is_file()
    finally:
        controller.shutdown()
        peaks.shutdown()
        doc.close()


@pytest.mark.slow
def test_killing_the_engine_mid_render_recovers(qtbot, podcast):
    doc = QtDocument.open(podcast)
    controller = real_controller(doc)
    messages = []
    controller.message.connect(messages.append)
    wanted = ["EP12_010", "EP12_020", "EP12_030", "EP12_040", "EP12_050", "EP12_060"]
    try:
        controller.render(wanted)
        wait_for(lambda: any(j.state == "done" for j in controller.session.jobs.values()))
        os.killpg(controller.client.pid, signal.SIGKILL)
        wait_for(lambda: not controller.busy)
        assert any("restarted" in m for m in messages)
        assert set(statuses(doc, set(wanted)).values()) == {LineStatus.DONE}
        for line_id in wanted:
            take = doc.project.selected_take(line_id)
            assert take is not None and doc.media_path(take.media).is_file()
        assert not list(doc.media_dir.glob("*.part")) and not list(doc.media_dir.glob(".*tmp*"))
    finally:
        controller.shutdown()
        doc.close()


def test_changing_the_backend_mid_render_leaves_no_line_stuck(qtbot, podcast):
    from ui_fakes import FakeEngineClient

    doc = QtDocument.open(podcast)
    controller = QtRenderController(doc, lambda b, o: FakeEngineClient(b, o, delay=0.3))
    controller.render(["EP12_010", "EP12_020", "EP12_030"])
    wait_for(lambda: controller.client is not None)
    doc.edit(ops.set_settings(backend_options=(("length_scale", 1.1),)))  # another engine is needed now
    controller.render(["EP12_040"])
    wait_for(lambda: not controller.busy)
    assert (
        LineStatus.QUEUED not in statuses(doc).values() and LineStatus.RENDERING not in statuses(doc).values()
    )
    assert doc.project.lines["EP12_040"].status == LineStatus.DONE
    controller.shutdown()
    for client in FakeEngineClient.instances:
        client.shutdown(1.0)
    doc.close()
