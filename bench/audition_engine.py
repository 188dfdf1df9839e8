"""Auditions during a render: one shared engine (now) vs an audition engine of its own (before).

Part A (Piper, real engine processes): the demo podcast's 15 lines render while three voice-bank
auditions are asked for, one after the other as each is heard. ``separate`` is the old arrangement —
the render controller and the auditioner each start their own engine (a Higgs audition loaded the
model a second time) —; ``shared`` is the studio now: both submit through one
:class:`~studio.render.shared_engine.SharedEngine`, the audition on a priority lane. Columns: engine
processes started, ms from asking to the audition's take on disk (first audition includes any engine
start), and the render's wall time.

Part B (streaming, a real engine process serving the stepped fake backend at real time, warm engine):
ms from asking to the first sound of a 3 s audition when it plays from its first chunk, vs waiting for
the take file.

Part C (``--higgs-tiny``; streaming through the real Higgs fast path: the tiny random checkpoint on CPU
in an engine process, warm): the same two numbers for a 14 s audition (400 frames).

    QT_QPA_PLATFORM=offscreen python bench/audition_engine.py [--higgs-tiny] [--out bench/results/audition_engine.txt]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [
    str(REPO),
    str(REPO / "projects"),
    str(REPO / "tests"),
    str(REPO / "tests" / "engine"),
    str(REPO / "tests" / "ui"),
]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import soundfile as sf  # noqa: E402
from PySide6.QtCore import QCoreApplication  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.protocol import GenerationParams, VoiceSpec  # noqa: E402
from studio.render.client import EngineClient  # noqa: E402
from studio.render.shared_engine import SharedEngine  # noqa: E402
from studio.ui.qt_voice_audition import AuditionRequest, QtAuditioner, QtClipPlayer  # noqa: E402

SAFETY_S = 300.0


def wait_for(predicate: Any) -> None:
    deadline = time.monotonic() + SAFETY_S
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("hang guard")
        QCoreApplication.processEvents()
        time.sleep(0.005)


def counting_factory(pids: list[int]) -> Any:
    from studio.render.checking import asr_args

    def factory(backend: str, options: dict[str, Any]) -> EngineClient:
        client = EngineClient(backend=backend, options=options, extra_args=asr_args(options))
        spawn = client._spawn

        def counted() -> Any:
            proc = spawn()
            pids.append(proc.pid)
            return proc

        client._spawn = counted  # type: ignore[method-assign]
        return client

    return factory


def request(text: str, name: str) -> AuditionRequest:
    return AuditionRequest(
        f"voice_{name}", name, VoiceSpec(kind="piper", name=name), text, GenerationParams()
    )


def part_a(mode: str, folder: Path) -> dict[str, Any]:
    from build_demos import build_podcast

    from studio.ui.qt_document import QtDocument
    from studio.ui.qt_render_controller import QtRenderController

    podcast = folder / f"{mode}.chorus"
    build_podcast(podcast)
    pids: list[int] = []
    factory = counting_factory(pids)
    shared = SharedEngine(factory) if mode == "shared" else None
    doc = QtDocument.open(podcast)
    controller = QtRenderController(doc, shared or factory)
    auditioner = QtAuditioner(shared or factory, None)
    rendered: list[float] = []
    auditioner.rendered.connect(lambda r, path: rendered.append(time.monotonic()))
    waits: list[float] = []
    try:
        t0 = time.monotonic()
        controller.render_stale()
        for i, name in enumerate(("Ada", "Ben", "Cara")):
            asked = time.monotonic()
            auditioner.audition(request(f"Hello, I am {name}, auditioning for the part number {i}.", name))
            wait_for(lambda n=i: len(rendered) > n)
            waits.append(rendered[i] - asked)
        wait_for(lambda: not controller.busy)
        render_s = time.monotonic() - t0
        return {"mode": mode, "engines": len(pids), "waits": waits, "render_s": render_s}
    finally:
        auditioner.shutdown()
        controller.shutdown()
        if shared is not None:
            shared.shutdown()
        doc.close()


def part_b(folder: Path, higgs: bool = False) -> dict[str, float]:
    from fake_backends import engine_launcher
    from ui_fakes import fake_stream_factory

    if higgs:
        from higgs_tiny import tiny_model_dir

        backend, options = "higgs", {"model": str(tiny_model_dir()), "device": "cpu", "fast": "on"}
        engine = SharedEngine(lambda b, o: EngineClient(b, o, start_timeout_s=300))
        spec, warm, long = (
            VoiceSpec(kind="smart"),
            GenerationParams(max_new_tokens=40),
            GenerationParams(max_new_tokens=400),
        )
    else:
        launcher = engine_launcher(folder, slots=2, step_s=0.01)
        engine = SharedEngine(lambda b, o: EngineClient(b, o, python=launcher))
        backend, options = "stepped", {}
        spec, warm, long = VoiceSpec(kind="piper"), GenerationParams(), GenerationParams()
    player = QtClipPlayer(fake_stream_factory)
    auditioner = QtAuditioner(engine, player)
    auditioner.set_backend(backend, options)
    rendered: list[float] = []
    seconds: list[float] = []
    auditioner.rendered.connect(
        lambda r, path: (rendered.append(time.monotonic()), seconds.append(sf.info(path).duration))
    )
    text = "Hello there, this is a longer test sentence for streaming." if higgs else "300"
    try:
        # start the engine first: measure a warm one
        auditioner.audition(AuditionRequest("w", "Warm-up", spec, "10" if not higgs else text, warm))
        wait_for(lambda: bool(rendered) and player.playing)
        player.stop()
        rendered.clear()
        asked = time.monotonic()
        auditioner.audition(
            AuditionRequest("s", "Streamed", spec, text, long)
        )  # 3 s (stepped) / 14 s (Higgs)
        wait_for(lambda: len(auditioner.waits) == 2)
        first_sound = auditioner.waits[1][0]
        wait_for(lambda: bool(rendered))
        return {
            "streamed_ms": first_sound * 1000,
            "file_ms": (rendered[0] - asked) * 1000,
            "take_s": seconds[-1],
        }
    finally:
        auditioner.shutdown()
        engine.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--higgs-tiny", action="store_true", help="also part C (needs torch + transformers)")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    lines = [
        f"# bench/audition_engine.py — {platform.node()}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M')}"
    ]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        lines.append("")
        lines.append("A. Piper: 15-line render + 3 auditions asked during it")
        lines.append(
            f"{'mode':<10}{'engines':>9}{'audition ms (1st, 2nd, 3rd)':>32}{'median':>9}{'render s':>10}"
        )
        for mode in ("separate", "shared"):
            r = part_a(mode, folder)
            waits = ", ".join(f"{w * 1000:.0f}" for w in r["waits"])
            lines.append(
                f"{mode:<10}{r['engines']:>9}{waits:>32}{statistics.median(r['waits']) * 1000:>9.0f}{r['render_s']:>10.1f}"
            )
        b = part_b(folder)
        lines.append("")
        lines.append(
            f"B. Streaming backend (stepped fake, real time), warm engine: a {b['take_s']:.1f} s audition"
        )
        lines.append(f"{'first sound from the take file (before)':<48}{b['file_ms']:>8.0f} ms")
        lines.append(f"{'first sound from the first chunks (now)':<48}{b['streamed_ms']:>8.0f} ms")
        if args.higgs_tiny:
            c = part_b(folder, higgs=True)
            lines.append("")
            lines.append(
                "C. Higgs fast path (tiny random model, CPU, engine process), warm engine: a 14 s audition"
            )
            lines.append(f"{'first sound from the take file (before)':<48}{c['file_ms']:>8.0f} ms")
            lines.append(f"{'first sound from the first chunks (now)':<48}{c['streamed_ms']:>8.0f} ms")
    lines.append("")
    lines.append(
        f"# load average after the run: {os.getloadavg()[0]:.1f} (the machine may be shared: times vary)"
    )
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
