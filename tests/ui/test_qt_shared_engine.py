"""One engine lifecycle in the UI: the render controller and the voice-bank auditioner submit through
the studio's SharedEngine — one engine process across a render and several auditions (real Piper),
auditions heard before a long render ends, Stop cancels only the audition, a crash restart serves
both; a streaming backend's audition plays from its first partial audio (a real engine process
serving the stepped fake backend)."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QCoreApplication

from engine.protocol import GenerationParams, RenderJob, VoiceSpec
from studio.core.model import LineStatus
from studio.render.shared_engine import SharedEngine
from studio.ui.qt_document import QtDocument
from studio.ui.qt_render_controller import QtRenderController
from studio.ui.qt_voice_audition import AuditionRequest, QtAuditioner, QtClipPlayer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from ui_fakes import FakeEngineClient, FakeStream, fake_stream_factory  # noqa: E402

SAFETY_S = 120.0  # hang guard, not a speed assertion


def wait_for(predicate: Any, timeout: float = SAFETY_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting (hang guard)"
        QCoreApplication.processEvents()
        time.sleep(0.01)


def request(text: str, name: str = "Ada", slot: str = "") -> AuditionRequest:
    return AuditionRequest(
        f"voice_{name}", name, VoiceSpec(kind="piper", name=name), text, GenerationParams(), slot
    )


def counting_piper(pids: list[int]) -> SharedEngine:
    """The studio's engine on Piper, counting every engine process it starts (restarts included)."""
    from studio.render.client import EngineClient

    def factory(backend: str, options: dict[str, Any]) -> EngineClient:
        client = EngineClient(
            backend, {**options, "workers": 0}, heartbeat_s=0.25, hang_timeout_s=10, backoff_s=0.05
        )
        spawn = client._spawn

        def counted() -> Any:
            proc = spawn()
            pids.append(proc.pid)
            return proc

        client._spawn = counted  # type: ignore[method-assign]
        return client

    return SharedEngine(factory)


@pytest.mark.slow
def test_a_render_and_several_auditions_start_one_piper_engine(qtbot, podcast) -> None:
    pids: list[int] = []
    engine = counting_piper(pids)
    doc = QtDocument.open(podcast)
    controller = QtRenderController(doc, engine)
    player = QtClipPlayer(fake_stream_factory)
    auditioner = QtAuditioner(engine, player)
    heard: list[tuple[str, str]] = []
    auditioner.rendered.connect(lambda r, path: heard.append((r.label, path)))
    try:
        assert controller.render_stale() == 15
        auditioner.audition(request("Hello, this is Ada.", "Ada"))
        wait_for(lambda: len(heard) == 1)
        done = sum(1 for j in controller.session.jobs.values() if j.state == "done")
        assert done < 15, "the audition waited for the whole render"
        auditioner.audition(request("And this is Ben.", "Ben", "A"))
        auditioner.audition(request("Cara speaks third.", "Cara", "B"))
        wait_for(lambda: len(heard) == 3)
        wait_for(lambda: not controller.busy)
        assert {s for s in (line.status for line in doc.project.ordered_lines())} == {LineStatus.DONE}
        assert [label for label, _ in heard] == ["Ada", "Ben", "Cara"]
        assert all(Path(path).is_file() and sf.info(path).duration > 0.5 for _, path in heard)
        assert len(pids) == 1 and engine.starts == 1  # one engine, one model load
    finally:
        auditioner.shutdown()
        controller.shutdown()
        engine.shutdown()
        doc.close()


@pytest.mark.slow
def test_stop_cancels_the_audition_only_and_a_crash_restart_serves_both(qtbot, podcast) -> None:
    pids: list[int] = []
    engine = counting_piper(pids)
    doc = QtDocument.open(podcast)
    controller = QtRenderController(doc, engine)
    auditioner = QtAuditioner(engine, QtClipPlayer(fake_stream_factory))
    heard: list[str] = []
    auditioner.rendered.connect(lambda r, path: heard.append(r.label))
    try:
        controller.render_stale()
        auditioner.audition(request("This one is stopped before it is heard. " * 3, "Gone"))
        auditioner.cancel()  # the Stop button
        assert not auditioner.busy
        wait_for(lambda: any(j.state == "done" for j in controller.session.jobs.values()))
        os.killpg(pids[0], signal.SIGKILL)
        auditioner.audition(request("Heard after the crash.", "Ada"))
        wait_for(lambda: heard == ["Ada"] and not controller.busy)
        statuses = {line.status for line in doc.project.ordered_lines()}
        assert statuses == {LineStatus.DONE}  # the audition's Stop stopped no line of the render
        assert len(pids) == 2 and engine.starts == 1  # one restart of the one engine
    finally:
        auditioner.shutdown()
        controller.shutdown()
        engine.shutdown()
        doc.close()


def test_the_stop_button_cancels_the_audition_not_the_render(qtbot, make_panel_with_engine) -> None:
    panel, engine = make_panel_with_engine(lambda b, o: FakeEngineClient(b, o, delay=0.3))
    render = engine.lane("render", keep_alive=True)
    render.submit(
        [
            RenderJob(f"r{i}", "A render line.", str(panel.auditioner.out_dir() / f"r{i}.wav"))
            for i in range(3)
        ]
    )
    panel.select_voice(panel.bank.list_voices()[0].id)
    assert panel.audition_current()
    assert panel.audition_button.text() == "■ Stop"
    panel.audition_button.click()
    assert panel.audition_button.text() == "▶ Audition" and not panel.auditioner.busy
    events: list[dict[str, Any]] = []
    wait_for(lambda: events.extend(render.poll()) or len([e for e in events if e["type"] == "finished"]) == 3)
    assert not [e for e in events if e["type"] == "cancelled"]


@pytest.fixture
def make_panel_with_engine(qtbot, tmp_path):
    from studio.bank.store import VoiceBank
    from studio.ui.qt_voice_bank import make_voice_bank_panel

    made: list[Any] = []

    def make(factory: Any) -> Any:
        bank = VoiceBank.open(tmp_path / "bank")
        bank.create_voice("Ada")
        engine = SharedEngine(factory)
        panel = make_voice_bank_panel(
            bank, engine=engine, output_factory=fake_stream_factory, transcriber=None
        )
        qtbot.addWidget(panel)
        made.append((panel, engine, bank))
        return panel, engine

    yield make
    for panel, engine, bank in made:
        panel.shutdown()
        engine.shutdown()
        bank.close()


# ---- streaming: a real engine process serving the stepped fake backend ---------------------------


def stepped_engine(tmp_path: Path, step_s: float) -> SharedEngine:
    from fake_backends import engine_launcher

    from studio.render.client import EngineClient

    launcher = engine_launcher(tmp_path, slots=2, step_s=step_s)
    return SharedEngine(lambda b, o: EngineClient(b, o, python=launcher, heartbeat_s=0.5, hang_timeout_s=20))


def test_a_streamed_audition_plays_from_its_first_chunk(qtbot, tmp_path) -> None:
    from fake_backends import RATE

    engine = stepped_engine(tmp_path, step_s=0.01)  # 10 ms of audio every 10 ms: real time
    player = QtClipPlayer(fake_stream_factory)
    auditioner = QtAuditioner(engine, player)
    rendered: list[str] = []
    auditioner.rendered.connect(lambda r, path: rendered.append(path))
    try:
        auditioner.audition(request("300"))  # 300 frames: 3 s of audio, about 3 s to render
        wait_for(lambda: player.playing)
        wait, streamed = auditioner.waits[0]
        assert streamed and player.live is not None and not rendered  # sounding before the take exists
        stream = FakeStream.last
        assert stream is not None and stream.samplerate == RATE and stream.channels == 1
        pulled = [stream.pull(1)]
        wait_for(lambda: bool(rendered))
        while player.playing and len(pulled) < 1000:
            pulled.append(stream.pull(1))
            QCoreApplication.processEvents()
        audio = np.concatenate(pulled)[:, 0]
        take, rate = sf.read(rendered[0], dtype="float32")
        assert rate == RATE
        played = audio[np.flatnonzero(audio)]  # the starved blocks were silence; the rest is the take
        assert len(played) == len(take) and np.allclose(played, take, atol=1e-4)
        print(f"streamed audition: first audio after {wait * 1000:.0f} ms; take of {len(take) / RATE:.1f} s")
    finally:
        auditioner.shutdown()
        engine.shutdown()


def test_without_partial_audio_the_audition_plays_the_take_file(qtbot, tmp_path, fake_client_factory) -> None:
    player = QtClipPlayer(fake_stream_factory)
    auditioner = QtAuditioner(fake_client_factory, player)  # an engine of its own; no chunks
    try:
        auditioner.audition(request("A line without chunks."))
        wait_for(lambda: player.playing)
        assert player.live is None and auditioner.waits[0][1] is False
    finally:
        auditioner.shutdown()


def test_the_main_window_hands_one_engine_to_rendering_and_the_voice_bank(
    make_window, podcast, tmp_path
) -> None:
    window = make_window(podcast)
    controller, auditioner = window.view.controller, window.voice_bank.auditioner
    assert controller.engine is window.engine and auditioner.engine is window.engine
    controller.render(["EP12_010", "EP12_020"])
    auditioner.audition(request("Heard beside the render."))
    wait_for(lambda: not controller.busy and not auditioner.busy)
    assert len(FakeEngineClient.instances) == 1 and window.engine.starts == 1
    window.close_project()  # nothing left to do: the engine stops with the project
    assert window.engine.client is None
    wait_for(lambda: not FakeEngineClient.instances[0].running)


class ChunkingClient:
    """An engine client whose test plays the engine: chunks, finished events (see ScriptedClient in
    tests/unit/test_shared_engine.py)."""

    def __init__(self, backend: str, options: dict[str, Any]) -> None:
        self.hello = {"backend": backend, "capabilities": {"streaming": True}}
        self.running = True
        self.jobs: list[Any] = []
        self.events: list[dict[str, Any]] = []
        self.on_chunk: Any = None

    def start(self) -> dict[str, Any]:
        return self.hello

    def submit(self, jobs: Any) -> None:
        self.jobs += list(jobs)

    def cancel(self, job_ids: Any = None) -> None:
        self.events += [{"type": "cancelled", "job_id": j} for j in job_ids]

    def set_chunk_listener(self, listener: Any) -> None:
        self.on_chunk = listener

    def request_status(self) -> None:
        pass

    def poll(self, timeout: float = 0.0, limit: int | None = None) -> list[dict[str, Any]]:
        out, self.events = self.events, []
        return out

    def shutdown(self, timeout: float = 10.0) -> None:
        self.running = False

    def finish(self, job: Any, audio: np.ndarray) -> None:
        sf.write(job.out_path, audio, 24000, subtype="FLOAT")
        self.events.append({"type": "finished", "job_id": job.job_id, "path": job.out_path})


def test_ab_plays_a_first_even_when_b_streams_first_and_a_restart_drops_the_stream(qtbot) -> None:
    clients: list[ChunkingClient] = []
    engine = SharedEngine(lambda b, o: clients.append(ChunkingClient(b, o)) or clients[-1])
    player = QtClipPlayer(fake_stream_factory)
    auditioner = QtAuditioner(engine, player)
    played: list[tuple[str, bool]] = []
    auditioner.playing.connect(lambda r, wait, streamed: played.append((r.slot, streamed)))
    try:
        auditioner.audition(request("A line.", "Ada", "A"))
        auditioner.audition(request("A line.", "Ben", "B"))
        wait_for(lambda: bool(clients) and len(clients[0].jobs) == 2)
        client = clients[0]
        job_a, job_b = client.jobs
        assert job_a.stream and job_b.stream
        client.on_chunk(job_b.job_id, np.full(24000, 0.2, np.float32), 24000)  # B is ready first…
        for _ in range(10):
            auditioner.poll()
        assert not player.playing  # …but A plays first
        client.on_chunk(job_a.job_id, np.full(12000, 0.1, np.float32), 24000)
        wait_for(lambda: player.playing)
        assert played == [("A", True)] and player.live is not None
        assert np.allclose(FakeStream.last.pull(2)[:, 0], 0.1)
        # the engine crashed and renders A again from its start: what was streamed is dropped
        client.events.append({"type": "engine_restarted", "reason": "test", "resubmitted": [job_a.job_id]})
        wait_for(lambda: not player.playing)
        client.finish(job_a, np.full(6000, 0.3, np.float32))
        wait_for(lambda: len(played) == 2)
        assert played[1] == ("A", False) and np.allclose(FakeStream.last.pull(2)[:3000, 0], 0.3)
        player.stop()
        wait_for(lambda: len(played) == 3)
        assert played[2] == ("B", True)
    finally:
        auditioner.shutdown()
        engine.shutdown()
