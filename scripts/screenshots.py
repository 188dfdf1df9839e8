"""Screenshots of the studio for the README: the demo podcast rendered with Piper, in the main window.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py [--out docs] [--scale 1]

Works on a copy of ``projects/podcast.chorus`` (the shipped demo stays clean). It renders every line
through the real engine the way the studio does (the Render queue's controller), saving
``docs/screenshot-rendering.png`` while lines are still rendering (placeholders with progress), then
``docs/screenshot-main.png`` with everything rendered: timeline with waveforms, script, mixer with a
loudness reading measured on the real mix at the playhead, inspector on the selected line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SAFETY_S = 600.0


def pump(seconds: float) -> None:
    from PySide6.QtCore import QCoreApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        time.sleep(0.01)


def wait(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QCoreApplication

    deadline = time.monotonic() + SAFETY_S
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        QCoreApplication.processEvents()
        time.sleep(0.02)


def no_sound() -> object:
    from studio.ui.qt_playback import PlaybackUnavailable

    raise PlaybackUnavailable("No audio output on this machine (screenshot run)")


def meter_reading_at(window, seconds: float):  # type: ignore[no-untyped-def]
    """A real loudness reading: the mix (the same mixer playback uses) metered up to ``seconds``."""
    from studio.ui.qt_playback import MeterReading, _StreamingLoudness

    view = window.view
    playback = view.playback
    mixer = playback.make_mixer(view.doc.snapshot())
    rate = view.doc.project.settings.sample_rate
    meter = _StreamingLoudness(rate, view.doc.project.settings.channels)
    start = max(0, int((seconds - 8.0) * rate))
    frame = start
    m = s = i = float("-inf")
    while frame < int(seconds * rate):
        block = playback.render_block(mixer, frame, 4800)
        m, s, i = meter.add(block)
        frame += 4800
    mixer.close()
    return MeterReading(frame, m, s, i, 0.0)


def workday_shots(project: Path, out: Path, home: Path) -> None:
    """Issue 19's screenshots: the main window at 1280×800 and 1920×1080 after a reopen (the
    restored layout), the voice bank panel, the mixer with 6 tracks and the export dialog."""
    from studio.bank.clips import prepare_clip
    from studio.bank.store import VoiceBank
    from studio.core.model import TrackKind
    from studio.ui.qt_main_window import QtMainWindow
    from studio.ui.qt_settings import QtStudioSettings

    bank = VoiceBank.open()  # the run's own bank (CHORUS_HOME, a fresh one): three voices to list
    for name, profile in (("Gruff innkeeper", "Male, 60s, gravelly, slow"), ("Bright host", "Female, 30s, warm")):
        bank.create_voice(name, profile=profile)
    take = next(iter(sorted((project / "media").glob("take_*.wav"))))
    sailor = bank.create_voice(
        "Old sailor", description="A weathered narrator", clips=[prepare_clip(take, "Welcome back to the show.")]
    ).id
    bank.close()

    def open_window(size: tuple[int, int]) -> QtMainWindow:
        window = QtMainWindow(QtStudioSettings(home), stream_factory=no_sound)
        window.resize(*size)
        window.show()
        if not window.open_project(project):
            raise SystemExit(f"cannot open {project}")
        pump(0.8)
        return window

    for size in ((1280, 800), (1920, 1080)):
        first = open_window(size)
        first.close()  # stores the layout, like quitting the app
        pump(0.3)
        window = open_window(size)  # … and starting it again: the restored layout
        view = window.view
        assert view is not None
        for clip in view.doc.project.clips.values():
            view.peaks.get(clip.media)
        view.peaks.wait_idle(60)
        view.timeline.zoom_fit()
        line_id = view.doc.project.line_order[3]
        view.doc.select(lines=[line_id])
        pump(0.6)
        name = out / f"workday-main-{size[0]}x{size[1]}.png"
        window.grab().save(str(name))
        print(f"saved {name}", flush=True)
        if size == (1920, 1080):
            window.docks["voices"].show()
            window.docks["voices"].raise_()
            window.voice_bank.select_voice(sailor)
            window.voice_bank.details.setCurrentIndex(1)  # the Clips tab: wave, buttons, transcript
            pump(0.8)
            window.docks["voices"].grab().save(str(out / "workday-voice-bank.png"))
            print(f"saved {out / 'workday-voice-bank.png'}", flush=True)
            editor = view.timeline.headers.editor
            while len(view.doc.project.tracks) < 6:
                editor.add_track(
                    [TrackKind.SFX, TrackKind.HUMMING, TrackKind.MUSIC][len(view.doc.project.tracks) % 3]
                )
            pump(0.6)
            window.docks["mixer"].grab().save(str(out / "workday-mixer-6-tracks.png"))
            print(f"saved {out / 'workday-mixer-6-tracks.png'}", flush=True)
            for _ in range(3):
                view.doc.undo_stack.undo()
            dialog = window.export_dialog()
            assert dialog is not None
            pump(0.6)
            dialog.grab().save(str(out / "workday-export-dialog.png"))
            print(f"saved {out / 'workday-export-dialog.png'}", flush=True)
            dialog.close()
        window.close()
        pump(0.3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(REPO / "docs"))
    parser.add_argument(
        "--scale", default="1", help="device pixel ratio of the screenshots (QT_SCALE_FACTOR)"
    )
    parser.add_argument("--size", default="1600x1000")
    parser.add_argument(
        "--workday", metavar="PROJECT", help="only issue 19's screenshots, of this (rendered) project's copy"
    )
    args = parser.parse_args()
    os.environ["QT_SCALE_FACTOR"] = args.scale
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    width, height = (int(v) for v in args.size.split("x"))

    tmp = Path(tempfile.mkdtemp(prefix="chorus-screenshots-"))
    os.environ["CHORUS_HOME"] = str(tmp / "home")  # settings and recent list of this run only
    project = tmp / "podcast.chorus"
    shutil.copytree(
        REPO / "projects" / "podcast.chorus", project, ignore=shutil.ignore_patterns("*-wal", "*-shm")
    )

    from studio.ui.qt_app import make_app
    from studio.ui.qt_main_window import QtMainWindow
    from studio.ui.qt_settings import QtStudioSettings

    app = make_app([])
    if args.workday:
        shutil.rmtree(project)
        shutil.copytree(args.workday, project, ignore=shutil.ignore_patterns("*-wal", "*-shm", ".chorus-lock"))
        workday_shots(project, out, tmp / "home")
        shutil.rmtree(tmp, ignore_errors=True)
        return 0
    window = QtMainWindow(QtStudioSettings(tmp / "home"), stream_factory=no_sound)
    window.resize(width, height)
    window.show()
    if not window.open_project(project):
        raise SystemExit(f"cannot open {project}")
    view = window.view
    assert view is not None
    pump(0.5)
    view.timeline.zoom_fit()

    # render every line with Piper through the studio's own render controller
    started = time.monotonic()
    jobs = view.controller.render_stale()
    print(f"rendering {jobs} lines with {view.doc.project.settings.backend}…", flush=True)
    done = lambda: sum(1 for j in view.controller.session.jobs.values() if j.state == "done")  # noqa: E731
    wait(lambda: done() >= max(1, jobs // 2), "half of the lines")
    view.controller.place()
    view.doc.select(lines=[view.doc.project.line_order[done()]])
    pump(0.4)
    window.grab().save(str(out / "screenshot-rendering.png"))
    print(f"saved {out / 'screenshot-rendering.png'}", flush=True)
    wait(lambda: not view.controller.busy, "the render")
    view.controller.place()
    failed = view.controller.session.failures()
    print(f"rendered in {time.monotonic() - started:.1f} s; failed: {failed or 'none'}", flush=True)

    # the finished episode: waveforms loaded, a line selected, playhead and meter mid-conversation
    for clip in view.doc.project.clips.values():
        view.peaks.get(clip.media)
    view.peaks.wait_idle(60)
    view.timeline.zoom_fit()
    line_id = view.doc.project.line_order[5]
    clip = view.doc.project.clip_for_line(line_id)
    view.doc.select(lines=[line_id], clips=[clip.id] if clip else [])
    playhead = clip.start + clip.duration * 0.4 if clip else 20.0
    view.playback.seek(playhead)
    view.mixer.show_reading(meter_reading_at(window, playhead))
    view.script.view.scrollTo(view.script.model.index(0, 0))
    window.docks["inspector"].raise_()
    pump(0.6)
    window.grab().save(str(out / "screenshot-main.png"))
    print(f"saved {out / 'screenshot-main.png'}", flush=True)
    window.close()
    app.processEvents()
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
