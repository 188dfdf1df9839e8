"""Studio UI speed: opening a 2,000-line project and repainting a zoomed-out 2,000-clip timeline.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/ui.py [--lines 2000] [--repeat 30]

Builds (once, in a temporary folder) a 2,000-line, two-speaker project whose lines all have takes
placed on the timeline (8 synthetic media files shared by the takes, so the disk stays small), plus a
music bed. Then measures, side by side with a baseline:

* **open**: ``QtMainWindow.open_project`` until the window has painted (project load, every panel
  built, first paint), vs. the raw SQLite read alone (``ProjectFile.open``, the floor);
* **repaint**: one full repaint of the timeline canvas zoomed out to show all 2,000 clips (our
  custom-painted widget: visible-range queries on numpy indexes, narrow clips merged into runs) vs.
  the same clips as items in a QGraphicsScene shown by a QGraphicsView — the usual alternative;
  also a zoomed-in view (waveforms, cold cache and warm cache).

Goals (issue 6): open < 2 s; zoomed-out repaint < 16 ms.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from studio.audio.synthetic import speechlike  # noqa: E402
from studio.core import ops  # noqa: E402
from studio.core.layout import layout_ops  # noqa: E402
from studio.core.model import Clip, LineStatus, ScriptLine, Speaker, Take, Track, TrackKind, Voice  # noqa: E402
from studio.core.store import ProjectFile  # noqa: E402


def build_project(root: Path, lines: int) -> Path:
    target = root / f"bench{lines}.chorus"
    pf = ProjectFile.create(target, title=f"{lines} lines")
    rate = 24000
    media = []
    for i in range(8):
        data = speechlike(1.5 + 0.5 * i, rate, seed=i)
        buffer_path = root / f"take{i}.wav"
        sf.write(str(buffer_path), data, rate, subtype="FLOAT")
        media.append((pf.add_media(buffer_path), 1.5 + 0.5 * i))
    bed_path = root / "bed.wav"
    sf.write(
        str(bed_path), (0.1 * np.sin(np.arange(rate * 30) * 2 * np.pi * 110 / rate)).astype(np.float32), rate
    )
    bed = pf.add_media(bed_path)
    edits: list[ops.Op] = [
        ops.Insert(Speaker("spk_a", "Ava", "#4FC3F7", Voice(variant=1))),
        ops.Insert(Speaker("spk_b", "Ben", "#FFB74D", Voice(variant=2))),
        ops.Insert(Track("trk_a", "Ava", TrackKind.DIALOGUE, speaker_id="spk_a")),
        ops.Insert(Track("trk_b", "Ben", TrackKind.DIALOGUE, speaker_id="spk_b")),
        ops.Insert(Track("trk_m", "Music", TrackKind.MUSIC)),
    ]
    for i in range(lines):
        speaker = "spk_a" if i % 2 == 0 else "spk_b"
        name, seconds = media[i % len(media)]
        key = f"{i:040x}"
        edits.append(ops.Insert(Take(key, f"L{i:05d}", name, seconds, rate)))
        edits.append(
            ops.add_line(
                ScriptLine(
                    f"L{i:05d}",
                    speaker,
                    f"Line number {i}, spoken by {'Ava' if speaker == 'spk_a' else 'Ben'}, about as long as a real one.",
                    status=LineStatus.DONE,
                    selected_take=key,
                    takes=(key,),
                )
            )
        )
    pf.project.apply(ops.Batch(tuple(edits), "Build"))
    pf.project.apply(layout_ops(pf.project))
    end = pf.project.duration()
    pf.project.apply(ops.Insert(Clip("clip_bed", "trk_m", bed, 0.0, 0.0, end, end, pinned=True)))
    pf.close()
    return target


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.2f} ms (p90 {sorted(values)[int(len(values) * 0.9)] * 1000:.2f})"


def bench_open(path: Path, repeat: int) -> tuple[list[float], list[float]]:
    from PySide6.QtCore import QCoreApplication, QEvent

    from studio.ui.qt_main_window import QtMainWindow
    from studio.ui.qt_settings import QtStudioSettings

    raw, full = [], []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        pf = ProjectFile.open(path)
        raw.append(time.perf_counter() - t)
        pf.close()
    settings = QtStudioSettings(Path(tempfile.mkdtemp(prefix="chorus-bench-settings-")))
    window = QtMainWindow(settings, stream_factory=_no_sound)
    window.resize(1600, 1000)
    window.show()
    deadline = time.monotonic() + 30
    while not window.warmed.is_set() and time.monotonic() < deadline:  # the start-up import warm-up
        QCoreApplication.processEvents()
        time.sleep(0.01)
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        window.open_project(path)
        window.repaint()  # the whole window, every panel, painted once
        QCoreApplication.processEvents()
        full.append(time.perf_counter() - t)
        window.close_project()  # and let Qt delete the old panels, as the event loop would
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    window.close()
    window.deleteLater()
    QCoreApplication.processEvents()
    return raw, full


def _no_sound() -> object:
    from studio.ui.qt_playback import PlaybackUnavailable

    raise PlaybackUnavailable("benchmark")


def bench_paint(path: Path, repeat: int) -> dict[str, list[float]]:
    from PySide6.QtCore import QCoreApplication, QRectF
    from PySide6.QtGui import QBrush, QColor, QPen
    from PySide6.QtWidgets import QGraphicsScene, QGraphicsView

    from studio.ui.qt_document import QtDocument
    from studio.ui.qt_peak_store import QtPeakStore
    from studio.ui.qt_timeline import QtTimelinePanel

    doc = QtDocument.open(path)
    peaks = QtPeakStore(doc.media_path)
    panel = QtTimelinePanel(doc, peaks)
    panel.resize(1600, 420)
    panel.show()
    QCoreApplication.processEvents()
    for clip in doc.project.clips.values():
        peaks.get(clip.media)
    peaks.wait_idle(60)
    panel.zoom_fit()
    QCoreApplication.processEvents()
    canvas = panel.canvas
    results: dict[str, list[float]] = {}

    def time_repaint(widget: object, key: str) -> None:
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            widget.repaint()  # type: ignore[attr-defined]
            times.append(time.perf_counter() - t)
        results[key] = times

    visible = sum(
        len(panel.model.clips_in(r.track.id, *canvas.visible_range())) for r in panel.model.rows if r.track
    )
    results["_visible"] = [float(visible)]
    time_repaint(canvas, "custom, zoomed out")
    # zoomed in: ~40 clips with waveforms; cold = the per-clip waveform cache emptied before each paint
    panel.scale.set(px_per_s=12.0, origin=600.0)
    QCoreApplication.processEvents()
    cold = []
    for _ in range(repeat):
        canvas.painter.clear_wave_cache()
        t = time.perf_counter()
        canvas.repaint()
        cold.append(time.perf_counter() - t)
    results["custom, zoomed in, cold waveforms"] = cold
    time_repaint(canvas, "custom, zoomed in, warm waveforms")

    # our index rebuild (what a change to every clip costs before the next paint)
    t = time.perf_counter()
    for row in panel.model.rows:
        if row.track is not None:
            panel.model._dirty_tracks.add(row.track.id)
            panel.model.index(row.track.id)
    results["custom: rebuild clip indexes"] = [time.perf_counter() - t]

    # baseline: the same clips as QGraphicsRectItems (no waveforms) in a QGraphicsView
    scene = QGraphicsScene()
    rows = {r.track.id: i for i, r in enumerate(panel.model.rows) if r.track}
    height = canvas.track_height
    t = time.perf_counter()
    for clip in doc.project.clips.values():
        colour = QColor(panel.model.clip_colour(clip))
        item = scene.addRect(
            QRectF(clip.start, rows[clip.track_id] * height + 2, clip.duration, height - 5),
            QPen(colour, 0),
            QBrush(QColor(colour.red(), colour.green(), colour.blue(), 170)),
        )
        item.setToolTip(clip.line_id)
    results["QGraphicsView: build 2,000 items"] = [time.perf_counter() - t]
    view = QGraphicsView(scene)
    view.resize(canvas.size())
    view.setHorizontalScrollBarPolicy(view.horizontalScrollBarPolicy())
    view.show()
    end = doc.project.duration()
    view.resetTransform()
    view.scale(canvas.width() / end, 1.0)
    view.setSceneRect(QRectF(0, 0, end, len(rows) * height))
    QCoreApplication.processEvents()
    time_repaint(view.viewport(), "QGraphicsView, zoomed out (rects only)")
    for clip in doc.project.clips.values():  # the usual labels: text items that do not scale
        label = scene.addSimpleText(clip.line_id or "music")
        label.setPos(clip.start, rows[clip.track_id] * height + 4)
        label.setFlag(label.GraphicsItemFlag.ItemIgnoresTransformations)
    QCoreApplication.processEvents()
    time_repaint(view.viewport(), "QGraphicsView, zoomed out (rects + labels)")
    view.close()
    panel.close()
    peaks.shutdown()
    doc.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    from studio.ui.qt_app import make_app

    make_app([])
    with tempfile.TemporaryDirectory(prefix="chorus-bench-ui-") as tmp:
        t = time.perf_counter()
        path = build_project(Path(tmp), args.lines)
        print(f"built a {args.lines}-line project in {time.perf_counter() - t:.1f} s: {path.name}")
        raw, full = bench_open(path, max(3, args.repeat // 6))
        paint = bench_paint(path, args.repeat)
    visible = int(paint.pop("_visible")[0])
    print()
    print(f"{'measure':<48} {'median':>12}")
    print("-" * 80)
    print(f"{'open: raw SQLite read (ProjectFile.open) [floor]':<48} {ms(raw)}")
    print(f"{'open: studio window, first time (cold)':<48} {full[0] * 1000:8.2f} ms   goal < 2000 ms")
    print(f"{'open: studio window, all panels, first paint':<48} {ms(full[1:])}   goal < 2000 ms")
    base = paint["QGraphicsView, zoomed out (rects only)"]
    print(f"{f'repaint zoomed out, {visible} clips: QGraphicsView [baseline]':<48} {ms(base)}")
    ours = paint["custom, zoomed out"]
    ratio = statistics.median(base) / max(1e-9, statistics.median(ours))
    print(
        f"{f'repaint zoomed out, {visible} clips: custom paint':<48} {ms(ours)}   goal < 16 ms, {ratio:.1f}x baseline"
    )
    labels = paint["QGraphicsView, zoomed out (rects + labels)"]
    print(f"{'repaint zoomed out: QGraphicsView rects + labels':<48} {ms(labels)}")
    for key in ("custom, zoomed in, cold waveforms", "custom, zoomed in, warm waveforms"):
        print(f"{'repaint ' + key:<48} {ms(paint[key])}")
    print(
        f"{'build: QGraphicsView scene of 2,000 items':<48} {paint['QGraphicsView: build 2,000 items'][0] * 1000:8.2f} ms"
    )
    print(
        f"{'build: custom canvas clip indexes':<48} {paint['custom: rebuild clip indexes'][0] * 1000:8.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
