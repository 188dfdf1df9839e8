"""One engine for the studio (studio.render.shared_engine): lanes for the render queue and the
audition share one engine process; auditions jump the held-back render queue; cancel and stop touch
only their own lane; other settings replace the engine; a crash restart serves every lane; a start
failure fails the waiting jobs with a reason. First on a scripted client, then on the real Piper engine."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from engine.protocol import RenderJob, TranscribeJob
from studio.render.shared_engine import STARTING, STOPPED, SharedEngine, window_for

SAFETY_S = 90.0  # hang guard, not a speed assertion


class ScriptedClient:
    """The EngineClient calls SharedEngine makes; the test plays the engine (``finish``/``fail``)."""

    made: list[ScriptedClient] = []
    gate = threading.Event()  # start() waits for it (set: starts at once)

    def __init__(self, backend: str, options: dict[str, Any], fail: str = "") -> None:
        self.backend, self.options, self.fail = backend, options, fail
        self.hello = {"backend": backend, "capabilities": {"batch_size": 1, "concurrency": 1}}
        self.running = False
        self.submitted: list[str] = []
        self.cancelled: list[list[str]] = []
        self.events: list[dict[str, Any]] = []
        self.shut = False
        self.chunk_listener: Any = None
        ScriptedClient.made.append(self)

    @property
    def capabilities(self) -> dict[str, Any]:
        return dict(self.hello["capabilities"])

    def start(self) -> dict[str, Any]:
        assert ScriptedClient.gate.wait(SAFETY_S)
        if self.fail:
            raise RuntimeError(self.fail)
        self.running = True
        return self.hello

    def submit(self, jobs: Any) -> None:
        self.submitted += [job.job_id for job in jobs]

    def cancel(self, job_ids: Any = None) -> None:
        ids = list(job_ids or [])
        assert ids, "the shared engine must never cancel everyone's jobs"
        self.cancelled.append(ids)
        self.events += [{"type": "cancelled", "job_id": j} for j in ids]

    def request_status(self) -> None:
        self.events.append({"type": "engine_status", "backend": self.backend})

    def set_chunk_listener(self, listener: Any) -> None:
        self.chunk_listener = listener

    def poll(self, timeout: float = 0.0, limit: int | None = None) -> list[dict[str, Any]]:
        out, self.events = self.events, []
        return out

    def shutdown(self, timeout: float = 10.0) -> None:
        self.shut = True
        self.running = False

    # the test plays the engine
    def finish(self, job_id: str) -> None:
        self.events += [
            {"type": "started", "job_id": job_id},
            {"type": "finished", "job_id": job_id, "path": "x"},
        ]


def job(job_id: str) -> RenderJob:
    return RenderJob(job_id, "A line.", f"/tmp/{job_id}.wav")


def started(engine: SharedEngine) -> ScriptedClient:
    deadline = time.monotonic() + SAFETY_S
    while engine.state == STARTING:
        assert time.monotonic() < deadline
        time.sleep(0.005)
        engine.pump()
    assert engine.client is not None
    return engine.client  # type: ignore[no-any-return]


@pytest.fixture
def engine():
    ScriptedClient.made.clear()
    ScriptedClient.gate.set()
    shared = SharedEngine(ScriptedClient, window=2)
    yield shared
    shared.shutdown()


def kinds(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["type"], e.get("job_id", "")) for e in events]


def test_render_and_audition_share_one_engine_and_the_audition_jumps_the_queue(engine) -> None:
    render = engine.lane("render", keep_alive=True)
    audition = engine.lane("audition", priority=True)
    ScriptedClient.gate.clear()  # the model loads slowly…
    render.submit([job(f"r{i}") for i in range(6)], "piper", {"x": 1})
    assert [e["type"] for e in render.poll()] == ["engine_starting"]
    audition.submit([job("a1")], "piper", {"x": 1})
    ScriptedClient.gate.set()
    client = started(engine)
    # the audition went first; only a window of render jobs is in the engine, the rest wait here
    assert client.submitted == ["a1", "r0", "r1"] and engine.held == 4
    client.events.append({"type": "started", "job_id": "r0"})
    render.poll()
    audition.submit([job("a2")], "piper", {"x": 1})
    # straight in; r1 had not started, so it came back to wait behind a2 (r0 renders on)
    assert client.submitted[-1] == "a2" and client.cancelled == [["r1"]] and engine.held == 5
    assert not [e for e in render.poll() if e["type"] == "cancelled"]  # the take-back is not a cancel
    assert client.submitted[-2:] == ["a2", "r1"]  # sent again once the engine confirmed
    client.finish("r0")
    client.finish("a1")
    assert ("finished", "a1") in kinds(audition.poll()) and client.submitted[-1] == "r2"
    assert ("finished", "r0") in kinds(render.poll())
    assert all(e.get("job_id") != "a1" for e in render.poll())  # each lane hears only its own jobs
    assert len(ScriptedClient.made) == 1 and engine.starts == 1


def test_a_job_taken_back_that_finished_anyway_is_done(engine) -> None:
    render = engine.lane("render")
    audition = engine.lane("audition", priority=True)
    render.submit([job("r0"), job("r1")])
    client = started(engine)
    client.events.clear()
    client.cancel = lambda ids: client.cancelled.append(list(ids))  # the cancel comes too late…
    audition.submit([job("a1")])
    client.finish("r0")  # …r0 and r1 had finished already
    client.finish("r1")
    events = kinds(render.poll())
    assert ("finished", "r0") in events and ("finished", "r1") in events
    assert engine.held == 0 and client.submitted.count("r0") == 1 and not render.outstanding


def test_a_continuous_backend_keeps_its_queue_for_a_priority_job(engine) -> None:
    engine.window_override = None
    render = engine.lane("render")
    audition = engine.lane("audition", priority=True)
    render.submit([job(f"r{i}") for i in range(3)])
    client = started(engine)
    client.hello["capabilities"] = {"batch_size": 2, "continuous": True}
    audition.submit([job("a1")])
    assert client.cancelled == [] and client.submitted[-1] == "a1"


def test_cancel_and_stop_touch_only_their_own_lane(engine) -> None:
    render = engine.lane("render", keep_alive=True)
    audition = engine.lane("audition", priority=True)
    render.submit([job(f"r{i}") for i in range(5)])
    audition.submit([job("a1"), job("a2")])
    client = started(engine)
    audition.cancel(["a1"])
    assert client.cancelled == [["a1"]]
    assert ("cancelled", "a1") in kinds(audition.poll()) and audition.outstanding == ("a2",)
    assert not any(e["type"] == "cancelled" for e in render.poll())
    audition.cancel()  # all of the audition's, still none of the render's
    assert client.cancelled[-1] == ["a2"]
    client.finish("r0")
    render.poll()
    client.events.append({"type": "started", "job_id": "r1"})
    render.poll()
    render.stop()  # r1 runs on; r2 is in the engine (cancelled there); r3, r4 never leave the studio
    assert client.cancelled[-1] == ["r2"]
    events = kinds(render.poll())
    assert {("cancelled", "r2"), ("cancelled", "r3"), ("cancelled", "r4")} <= set(events)
    assert render.outstanding == ("r1",) and "r3" not in client.submitted


def test_transcribe_jobs_are_not_held_back(engine) -> None:
    render = engine.lane("render")
    render.submit([job(f"r{i}") for i in range(4)])
    client = started(engine)
    render.submit([TranscribeJob("t1", "/tmp/r0.wav", text="A line.")])
    assert "t1" in client.submitted and engine.held == 2


def test_other_settings_replace_the_engine_and_end_its_jobs(engine) -> None:
    render = engine.lane("render", keep_alive=True)
    render.submit([job("r0"), job("r1"), job("r2")], "piper", {})
    first = started(engine)
    render.submit([job("r3")], "higgs", {"device": "cpu"})
    assert first.shut
    assert {("cancelled", "r0"), ("cancelled", "r1"), ("cancelled", "r2")} <= set(kinds(render.poll()))
    second = started(engine)
    assert second.backend == "higgs" and second.submitted == ["r3"] and engine.starts == 2


def test_an_engine_that_cannot_start_fails_the_waiting_jobs_with_the_reason() -> None:
    ScriptedClient.made.clear()
    ScriptedClient.gate.set()
    engine = SharedEngine(lambda b, o: ScriptedClient(b, o, fail="no such backend"))
    audition = engine.lane("audition", priority=True)
    audition.submit([job("a1")])
    deadline = time.monotonic() + SAFETY_S
    events: list[dict[str, Any]] = []
    while not any(e["type"] == "failed" for e in events):
        assert time.monotonic() < deadline
        events += audition.poll(0.01)
    failed = next(e for e in events if e["type"] == "failed")
    assert "did not start: no such backend" in failed["reason"]
    assert any(e["type"] == "engine_failed" for e in events) and engine.state == STOPPED
    engine.shutdown()


def test_an_idle_engine_stops_unless_a_project_keeps_it(engine) -> None:
    render = engine.lane("render", keep_alive=True)
    audition = engine.lane("audition", priority=True)
    audition.submit([job("a1")])
    client = started(engine)
    client.finish("a1")
    audition.poll()
    engine.tick(time.monotonic() + 1e6)
    assert engine.client is client  # the open project keeps the model loaded
    render.close()  # the project closed: nothing to do, so the engine goes at once (in the background)
    assert engine.client is None
    engine.shutdown()  # waits for engines stopping in the background
    assert client.shut


def test_gave_up_fails_the_held_jobs_and_the_next_submit_starts_afresh(engine) -> None:
    render = engine.lane("render")
    render.submit([job(f"r{i}") for i in range(4)])
    client = started(engine)
    client.running = False
    client.events += [{"type": "failed", "job_id": j, "reason": "crashed"} for j in ("r0", "r1")]
    client.events.append({"type": "engine_gave_up", "reason": "crashed 4 times"})
    events = render.poll()
    assert {("failed", "r2"), ("failed", "r3")} <= set(kinds(events))
    assert engine.client is None and not render.outstanding
    render.submit([job("r9")])
    assert started(engine) is not client and engine.starts == 2


def test_chunks_go_to_the_lane_that_owns_the_job(engine) -> None:
    import numpy as np

    render = engine.lane("render")
    audition = engine.lane("audition", priority=True)
    heard: list[tuple[str, str]] = []
    audition.set_chunk_listener(lambda job_id, samples, rate: heard.append(("audition", job_id)))
    render.set_chunk_listener(lambda job_id, samples, rate: heard.append(("render", job_id)))
    audition.submit([job("a1")])
    render.submit([job("r1")])
    client = started(engine)
    client.chunk_listener("a1", np.zeros(4, np.float32), 24000)
    client.chunk_listener("r1", np.zeros(4, np.float32), 24000)
    client.chunk_listener("gone", np.zeros(4, np.float32), 24000)
    assert heard == [("audition", "a1"), ("render", "r1")]


def test_window_follows_what_the_backend_renders_at_once() -> None:
    assert window_for({}) == 4
    assert window_for({"concurrency": 8}) == 16
    assert window_for({"batch_size": 16, "continuous": True}) == 18


# ---- the real engine (Piper) -----------------------------------------------------------------


def piper_engine(starts: list[int]) -> SharedEngine:
    from studio.render.client import EngineClient

    def factory(backend: str, options: dict[str, Any]) -> EngineClient:
        client = EngineClient(
            backend, {**options, "workers": 0}, heartbeat_s=0.25, hang_timeout_s=10, backoff_s=0.05
        )
        original = client._spawn

        def spawn() -> Any:  # count engine processes, restarts included
            proc = original()
            starts.append(proc.pid)
            return proc

        client._spawn = spawn  # type: ignore[method-assign]
        return client

    return SharedEngine(factory)


def drain(lanes: dict[str, Any], until: Any) -> dict[str, list[dict[str, Any]]]:
    seen: dict[str, list[dict[str, Any]]] = {name: [] for name in lanes}
    deadline = time.monotonic() + SAFETY_S
    while not until(seen):
        assert time.monotonic() < deadline, f"timed out: {seen}"
        for name, lane in lanes.items():
            seen[name] += lane.poll(0.02)
    return seen


def finals(events: list[dict[str, Any]], kind: str = "finished") -> set[str]:
    return {e["job_id"] for e in events if e["type"] == kind}


@pytest.mark.slow
def test_piper_render_and_auditions_start_one_engine_process(tmp_path: Path) -> None:
    pids: list[int] = []
    engine = piper_engine(pids)
    render = engine.lane("render", keep_alive=True)
    audition = engine.lane("audition", priority=True)
    renders = [
        RenderJob(f"r{i}", f"Line number {i} of the long render.", str(tmp_path / f"r{i}.wav"))
        for i in range(12)
    ]
    try:
        render.submit(renders, "piper", {})
        audition.submit([RenderJob("a1", "Hello, this is my voice.", str(tmp_path / "a1.wav"))], "piper", {})
        seen = drain({"render": render, "audition": audition}, lambda s: "a1" in finals(s["audition"]))
        assert len(finals(seen["render"])) < len(renders)  # the audition did not wait for the whole render
        audition.submit([RenderJob("a2", "A second audition.", str(tmp_path / "a2.wav"))], "piper", {})
        audition.submit([RenderJob("a3", "A third one, cancelled.", str(tmp_path / "a3.wav"))], "piper", {})
        audition.cancel(["a3"])
        more = drain(
            {"render": render, "audition": audition},
            lambda s: (
                len(finals(seen["render"]) | finals(s["render"])) == len(renders)
                and {"a2", "a3"} <= finals(s["audition"]) | finals(s["audition"], "cancelled")
            ),
        )
        assert "a2" in finals(more["audition"]) and Path(tmp_path / "a2.wav").is_file()
        assert "a3" in finals(more["audition"], "cancelled") and not (tmp_path / "a3.wav").exists()
        assert all(Path(job.out_path).is_file() for job in renders)  # the audition cancel cancelled only it
        assert len(pids) == 1 and engine.starts == 1
    finally:
        engine.shutdown()


@pytest.mark.slow
def test_a_crashed_engine_restarts_once_and_serves_render_and_audition(tmp_path: Path) -> None:
    pids: list[int] = []
    engine = piper_engine(pids)
    render = engine.lane("render", keep_alive=True)
    audition = engine.lane("audition", priority=True)
    renders = [
        RenderJob(f"r{i}", f"Crash test line {i}, long enough to take a moment.", str(tmp_path / f"r{i}.wav"))
        for i in range(8)
    ]
    try:
        render.submit(renders, "piper", {})
        seen = drain({"render": render, "audition": audition}, lambda s: bool(finals(s["render"])))
        audition.submit([RenderJob("a1", "Heard after the crash.", str(tmp_path / "a1.wav"))], "piper", {})
        os.killpg(pids[0], signal.SIGKILL)
        more = drain(
            {"render": render, "audition": audition},
            lambda s: (
                "a1" in finals(s["audition"]) and len(finals(seen["render"]) | finals(s["render"])) == 8
            ),
        )
        assert any(e["type"] == "engine_restarted" for e in more["render"] + more["audition"])
        assert len(pids) == 2 and engine.starts == 1  # one restart of the same engine, not a second engine
        assert (tmp_path / "a1.wav").is_file() and all(Path(j.out_path).is_file() for j in renders)
    finally:
        engine.shutdown()
