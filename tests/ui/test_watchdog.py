"""The GUI thread never stalls: while 200 lines render (engine events, status changes, takes placed
on the timeline, repaints) and an export runs on its worker thread, a 10 ms QTimer on the main
thread keeps ticking — no gap between ticks exceeds 100 ms.

This is the one timed assertion in the suite, because it is the requirement itself (issue 6)."""

from __future__ import annotations

import gc
import os
import time

from PySide6.QtCore import QCoreApplication, QElapsedTimer, QTimer

from studio.core import ops
from studio.core.model import ScriptLine
from studio.core.store import ProjectFile

TICK_MS = 10
MAX_GAP_MS = 100
LINES = 200


def build(path, fake_render):
    pf = ProjectFile.open(path)
    edits = []
    for i in range(LINES):
        speaker = "spk_maya" if i % 3 else "spk_theo"
        text = f"Line {i}: a sentence of moderate length that keeps the engine busy for a while."
        edits.append(ops.add_line(ScriptLine(f"W_{i:04d}", speaker, text, scene_id="scn_interview")))
    pf.project.apply(ops.Batch(tuple(edits), "Add lines"))
    fake_render(pf, pf.project.line_order[:15])  # the episode part exists already (export has content)
    pf.close()


def test_main_thread_never_stalls_while_rendering_and_exporting(make_window, podcast, tmp_path, qtbot):
    from ui_fakes import fake_render

    build(podcast, fake_render)
    window = make_window(podcast)
    view = window.view
    window.view.timeline.zoom_fit()
    # The window has just opened: let its first paints and its start-up import warm-up finish (the
    # scenario is a producer rendering and exporting in a running studio, not the first second).
    settle = time.monotonic() + 0.3
    while time.monotonic() < settle or not window.warmed.is_set():
        assert time.monotonic() < settle + 30
        QCoreApplication.processEvents()
        time.sleep(0.01)
    # As run_studio does after start-up: long-lived objects leave the cyclic GC's full passes. This test
    # process also holds torch/transformers from the engine tests (the studio process never imports
    # them), and a full pass over those took ~0.5 s on the GUI thread in a fresh-clone run.
    gc.collect()
    gc.freeze()
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def tick() -> None:
        now = clock.nsecsElapsed()
        gaps.append((now - last[0]) / 1e6)
        if gaps[-1] > 60 and os.environ.get("WATCHDOG_DEBUG"):
            print(f"{time.perf_counter():.3f} GAP {gaps[-1]:.0f} ms")
        last[0] = now

    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)
    timer.start()
    last[0] = clock.nsecsElapsed()  # the first gap includes starting the render and the export

    new_lines = [line_id for line_id in view.doc.project.line_order if line_id.startswith("W_")]
    view.doc.select(lines=new_lines)
    assert view.controller.render_selection() == LINES
    dialog = window.export_dialog()
    dialog.format.setCurrentIndex(dialog.format.findData("wav"))
    dialog.output.setText(str(tmp_path / "mix.wav"))
    assert dialog.start()

    deadline = time.monotonic() + 180  # hang guard
    while view.controller.busy or dialog.running or view.controller._place_timer.isActive():
        assert time.monotonic() < deadline
        QCoreApplication.processEvents()
        time.sleep(0.001)
    for _ in range(20):  # the last repaints
        QCoreApplication.processEvents()
        time.sleep(0.005)
    timer.stop()
    gc.unfreeze()
    dialog._poll()
    dialog.close()

    done = sum(1 for line_id in new_lines if view.doc.project.clip_for_line(line_id) is not None)
    assert done == LINES and (tmp_path / "mix.wav").is_file()
    assert len(gaps) > 50
    worst = max(gaps)
    assert worst < MAX_GAP_MS, f"the GUI thread stalled for {worst:.0f} ms (ticks: {len(gaps)})"
