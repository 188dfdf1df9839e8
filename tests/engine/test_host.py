"""The engine host: atomic takes, the request loop (with a scripted backend), and the real
``python -m engine`` process driven through the studio's engine client."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from engine.backends.base import (
    Backend,
    BackendError,
    CancelledFn,
    Capabilities,
    JobOutcome,
    ProgressFn,
    RenderResult,
)
from engine.host import EngineHost
from engine.protocol import PROTOCOL_VERSION, ProtocolError, RenderJob, VoiceSpec, check_hello, decode, encode
from engine.takefile import TakeWriteError, parse_temp_name, remove_stale_temps, temp_path_for, write_take
from studio.render.client import EngineClient, EngineStartError, EngineVersionError

SAFETY_S = 90.0  # a hang guard for event loops, not a speed assertion

# --------------------------------------------------------------------------------------------------
# takefile
# --------------------------------------------------------------------------------------------------


def test_write_take_is_atomic_and_readable(tmp_path: Path) -> None:
    audio = np.sin(np.linspace(0, 200, 8000)).astype(np.float32) * 0.5
    out = write_take(tmp_path / "sub" / "take.wav", audio, 16000)
    data, rate = soundfile.read(out, dtype="float32")
    info = soundfile.info(out)
    assert rate == 16000 and info.channels == 1 and info.subtype == "FLOAT"
    assert np.allclose(data, audio)
    pcm = write_take(tmp_path / "pcm.wav", audio, 16000, subtype="PCM_16")
    assert soundfile.info(pcm).subtype == "PCM_16"
    assert [p.name for p in tmp_path.rglob(".*")] == []  # no temp file left


def test_write_take_refuses_unknown_types_and_cleans_up(tmp_path: Path) -> None:
    with pytest.raises(TakeWriteError, match=r"\.wav or \.flac"):
        write_take(tmp_path / "take.mp3", np.zeros(10, np.float32), 8000)
    (tmp_path / "blocker").write_text("a file where a folder should be")
    with pytest.raises(TakeWriteError, match="could not write"):
        write_take(tmp_path / "blocker" / "take.wav", np.zeros(10, np.float32), 8000)


def test_temp_names_and_stale_cleanup(tmp_path: Path) -> None:
    out = tmp_path / "line 1.wav"
    temp = temp_path_for(out, pid=4242)
    assert temp.name == ".line 1.wav.part-4242" and parse_temp_name(temp.name) == ("line 1.wav", 4242)
    assert parse_temp_name("line 1.wav") is None
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    stale = temp_path_for(out, pid=dead_pid)
    live = temp_path_for(out, pid=os.getpid())
    other = temp_path_for(tmp_path / "unrelated.wav", pid=dead_pid)
    for path in (stale, live, other):
        path.write_bytes(b"half a take")
    removed = remove_stale_temps([out])
    assert removed == [stale]
    assert live.exists() and other.exists()  # a live writer's file and other takes' files stay
    assert remove_stale_temps([out], dead_pids=[os.getpid()]) == [live]


# --------------------------------------------------------------------------------------------------
# The host loop with a scripted backend (in-process, fast)
# --------------------------------------------------------------------------------------------------


class ScriptedBackend(Backend):
    """Renders a 0.1 s tone; text "boom" raises, "gate" waits for ``gate`` to open; batches recorded."""

    def __init__(self, concurrency: int = 1, batch_size: int = 1) -> None:
        super().__init__(name="scripted")
        self.gate = threading.Event()
        self.batches: list[list[str]] = []
        self._caps = Capabilities(concurrency=concurrency, batch_size=batch_size, sample_rate=8000)

    def capabilities(self) -> Capabilities:
        return self._caps

    def render(self, job: RenderJob, progress: ProgressFn, cancelled: CancelledFn) -> RenderResult:
        if job.text == "boom":
            raise ValueError("scripted crash")
        if job.text == "gate":
            progress(job.job_id, 0.5)
            while not self.gate.wait(0.01):
                if cancelled(job.job_id):
                    from engine.backends.base import Cancelled

                    raise Cancelled
        return RenderResult(np.full(800, 0.25, np.float32), 8000)

    def render_batch(
        self, jobs: Sequence[RenderJob], progress: ProgressFn, cancelled: CancelledFn
    ) -> list[JobOutcome]:
        self.batches.append([j.job_id for j in jobs])
        if any(j.text == "batch-bug" for j in jobs):
            raise RuntimeError("scripted batch failure")
        return super().render_batch(jobs, progress, cancelled)


class HostHarness:
    """An EngineHost serving over OS pipes on a thread; events collected from a reader thread."""

    def __init__(self, backend: Backend, **options: Any) -> None:
        req_r, self._req_w = os.pipe()
        ev_r, ev_w = os.pipe()
        self.requests = os.fdopen(self._req_w, "wb", buffering=0)
        self._events_out = os.fdopen(ev_w, "wb", buffering=0)
        self.host = EngineHost(backend, self._events_out, progress_interval_s=0.0, **options)
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.code: list[int] = []
        req_in = os.fdopen(req_r, "rb")
        ev_in = os.fdopen(ev_r, "rb")
        self._serve = threading.Thread(target=lambda: self.code.append(self.host.serve(req_in)), daemon=True)
        self._read = threading.Thread(target=self._pump, args=(ev_in,), daemon=True)
        self._read.start()
        self._serve.start()

    def _pump(self, stream: Any) -> None:
        for line in iter(stream.readline, b""):
            self.events.put(decode(line))

    def send(self, kind: str, **payload: Any) -> None:
        self.requests.write(encode(kind, **payload))

    def submit(self, *jobs: RenderJob) -> None:
        self.send("submit", jobs=[j.to_dict() for j in jobs])

    def until(self, done: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        seen = []
        while True:
            event = self.events.get(timeout=SAFETY_S)
            seen.append(event)
            if done(event):
                return seen

    def close(self) -> None:
        self.send("shutdown")
        self._serve.join(SAFETY_S)
        self._events_out.close()  # EOF ends the reader thread: no thread outlives its test
        self._read.join(SAFETY_S)
        assert self.code == [0]


def final(job_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e.get("job_id") == job_id and e["type"] in ("finished", "failed", "cancelled")


def rjob(tmp_path: Path, job_id: str, text: str = "hello", **extra: Any) -> RenderJob:
    return RenderJob(job_id=job_id, text=text, out_path=str(tmp_path / f"{job_id}.wav"), **extra)


@pytest.fixture
def harness() -> Iterator[Callable[..., HostHarness]]:
    made: list[HostHarness] = []

    def make(backend: Backend, **options: Any) -> HostHarness:
        made.append(HostHarness(backend, **options))
        return made[-1]

    yield make
    for h in made:
        if isinstance(h.host.backend, ScriptedBackend):
            h.host.backend.gate.set()
        h.close()


def test_host_handshake_and_takes(tmp_path: Path, harness: Callable[..., HostHarness]) -> None:
    h = harness(ScriptedBackend())
    hello = h.events.get(timeout=SAFETY_S)
    check_hello(hello)
    assert hello["backend"] == "scripted" and hello["capabilities"]["sample_rate"] == 8000
    h.submit(rjob(tmp_path, "a"))
    events = h.until(final("a"))
    kinds = [e["type"] for e in events if e.get("job_id") == "a" or e["type"] == "accepted"]
    assert kinds == ["accepted", "started", "finished"]
    done = events[-1]
    assert done["duration"] == pytest.approx(0.1) and done["sample_rate"] == 8000
    assert soundfile.read(done["path"])[0].shape == (800,)


def test_one_bad_job_never_stops_the_rest(tmp_path: Path, harness: Callable[..., HostHarness]) -> None:
    h = harness(ScriptedBackend())
    blocked = tmp_path / "file"
    blocked.write_text("x")
    h.submit(
        rjob(tmp_path, "crash", "boom"),
        rjob(tmp_path, "empty", "  "),
        RenderJob(job_id="nowhere", text="hi", out_path=str(blocked / "take.wav")),
        RenderJob(job_id="relative", text="hi", out_path="take.wav"),
        RenderJob(job_id="who", text="hi", out_path=str(tmp_path / "who.wav"), speaker=3),
        rjob(tmp_path, "clip", speakers=(VoiceSpec(kind="clip"),)),
        rjob(tmp_path, "good"),
    )
    h.requests.write(b"this is not json\n")
    events = h.until(final("good"))
    failed = {e["job_id"]: e["reason"] for e in events if e["type"] == "failed"}
    assert set(failed) == {"crash", "empty", "nowhere", "relative", "who", "clip"}
    assert "scripted crash" in failed["crash"]
    assert "no text" in failed["empty"]
    assert "could not write" in failed["nowhere"]
    assert "absolute" in failed["relative"]
    assert "speaker 3" in failed["who"]
    assert "cannot clone" in failed["clip"]
    assert events[-1]["type"] == "finished"
    h.send("ping", n=7)
    after = h.until(lambda e: e["type"] == "pong")  # requests are handled in order: the error came first
    assert any(e["type"] == "error" and "JSON" in e["reason"] for e in events + after)


def test_a_backend_bug_in_a_batch_fails_that_batch_only(
    tmp_path: Path, harness: Callable[..., HostHarness]
) -> None:
    backend = ScriptedBackend(batch_size=4)
    h = harness(backend)
    h.submit(
        rjob(tmp_path, "g1", "batch-bug", group="g"),
        rjob(tmp_path, "g2", group="g"),
        rjob(tmp_path, "alone"),
        rjob(tmp_path, "g3", group="g"),
    )
    events = h.until(final("alone"))
    assert backend.batches[0] == ["g1", "g2", "g3"]  # one group rendered together
    failed = [e for e in events if e["type"] == "failed"]
    assert {e["job_id"] for e in failed} == {"g1", "g2", "g3"}
    assert all("scripted batch failure" in e["reason"] for e in failed)
    assert events[-1]["type"] == "finished"


def test_pings_are_answered_while_rendering_and_stop_keeps_the_running_job(
    tmp_path: Path, harness: Callable[..., HostHarness]
) -> None:
    backend = ScriptedBackend()
    h = harness(backend)
    h.submit(rjob(tmp_path, "long", "gate"), rjob(tmp_path, "next"), rjob(tmp_path, "last"))
    h.until(lambda e: e["type"] == "progress" and e["job_id"] == "long")
    h.send("ping", n=1)
    h.until(lambda e: e["type"] == "pong")  # the worker is busy; the reader still answers
    h.send("stop")
    cancelled = h.until(lambda e: e["type"] == "cancelled" and e["job_id"] == "last")
    assert [e["job_id"] for e in cancelled if e["type"] == "cancelled"] == ["next", "last"]
    backend.gate.set()
    assert h.until(final("long"))[-1]["type"] == "finished"


def test_cancel_queued_and_running_jobs(tmp_path: Path, harness: Callable[..., HostHarness]) -> None:
    h = harness(ScriptedBackend())
    h.submit(rjob(tmp_path, "run", "gate"), rjob(tmp_path, "q1"), rjob(tmp_path, "q2"))
    h.until(lambda e: e["type"] == "progress")
    h.send("cancel", job_ids=["q2"])
    assert h.until(final("q2"))[-1]["type"] == "cancelled"
    h.send("cancel", job_ids=[])  # everything
    events = h.until(lambda e: e["type"] == "cancelled" and e["job_id"] == "run")
    assert {e["job_id"] for e in events if e["type"] == "cancelled"} == {"q1", "run"}
    assert not (tmp_path / "run.wav").exists()


def test_concurrent_backends_get_runs_of_jobs(tmp_path: Path, harness: Callable[..., HostHarness]) -> None:
    backend = ScriptedBackend(concurrency=3)
    h = harness(backend, max_run=10)
    h.submit(*(rjob(tmp_path, f"j{i}", group=f"g{i}") for i in range(5)))
    h.until(final("j4"))
    assert backend.batches[0] == [f"j{i}" for i in range(5)]


def test_status_reports_queue_and_load_error(tmp_path: Path, harness: Callable[..., HostHarness]) -> None:
    class Broken(ScriptedBackend):
        def load(self, progress: Callable[[float, str], None] | None = None) -> None:
            raise BackendError("the model file is missing; download it in Preferences")

    h = harness(Broken())
    error = h.until(lambda e: e["type"] == "error")[-1]
    assert "model file is missing" in error["reason"]
    h.submit(rjob(tmp_path, "a"))
    failed = h.until(final("a"))[-1]
    assert failed["type"] == "failed" and "could not start" in failed["reason"]
    h.send("status")
    status = h.until(lambda e: e["type"] == "engine_status")[-1]
    assert status["model_loaded"] is False and "model file is missing" in status["detail"]


# --------------------------------------------------------------------------------------------------
# The real engine process
# --------------------------------------------------------------------------------------------------

PIPER_OPTIONS = {"workers": 1}


def test_engine_process_handshake_ping_and_shutdown() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "--options", json.dumps({"workers": 0})],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        hello = decode(proc.stdout.readline())
        check_hello(hello)
        assert (
            hello["version"] == PROTOCOL_VERSION and hello["pid"] == proc.pid and hello["backend"] == "piper"
        )
        proc.stdin.write(encode("ping", n=3))
        proc.stdin.write(encode("shutdown"))
        proc.stdin.flush()
        messages = [decode(line) for line in proc.stdout]
        assert {"type": "pong", "n": 3} in messages
        assert proc.wait(SAFETY_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_version_mismatch_is_a_clear_error() -> None:
    with pytest.raises(ProtocolError, match="version 0 does not match"):
        check_hello({"type": "hello", "version": 0})
    with pytest.raises(ProtocolError, match="handshake"):
        check_hello({"type": "pong"})
    client = EngineClient(options={"workers": 0}, extra_args=["--debug-protocol-version", "99"])
    with pytest.raises(
        EngineVersionError, match=f"version 99 does not match the studio's {PROTOCOL_VERSION}"
    ):
        client.start()
    assert client.state == "idle"


def test_unknown_backend_is_a_start_error() -> None:
    client = EngineClient(backend="nonsense")
    with pytest.raises(EngineStartError, match="unknown backend 'nonsense'"):
        client.start()


def events_until_idle(client: EngineClient) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for event in client.events(timeout=SAFETY_S):
        events.append(event)
    assert not client.outstanding, "the engine went quiet with jobs outstanding"
    return events


def assert_valid_take(path: str) -> float:
    data, rate = soundfile.read(path, dtype="float32")
    assert rate == 22050 and data.ndim == 1 and len(data) > rate // 4
    assert float(np.sqrt(np.mean(data**2))) > 0.02
    return float(len(data) / rate)


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if parse_temp_name(p.name)]


def test_batch_with_poisoned_requests(tmp_path: Path) -> None:
    lines = ["Good morning, everyone.", "Let's get started.", "That went well."]
    jobs = [RenderJob(f"ok{i}", text, str(tmp_path / f"ok{i}.wav")) for i, text in enumerate(lines)]
    poisoned = [
        RenderJob(
            "no-voice",
            "Hello.",
            str(tmp_path / "nv.wav"),
            speakers=(VoiceSpec(piper_model=str(tmp_path / "x.onnx")),),
        ),
        RenderJob("empty", "", str(tmp_path / "empty.wav")),
        RenderJob("symbols", "?!?!", str(tmp_path / "sym.wav")),
        RenderJob(
            "clip",
            "Hello.",
            str(tmp_path / "clip.wav"),
            speakers=(VoiceSpec(kind="clip", ref_audio="/nope.wav"),),
        ),
    ]
    client = EngineClient(options=PIPER_OPTIONS)
    client.start()
    try:
        client.submit([jobs[0], poisoned[0], jobs[1], poisoned[1], poisoned[2], poisoned[3], jobs[2]])
        events = events_until_idle(client)
    finally:
        client.shutdown()
    failed = {e["job_id"]: e["reason"] for e in events if e["type"] == "failed"}
    finished = {e["job_id"]: e for e in events if e["type"] == "finished"}
    assert set(failed) == {"no-voice", "empty", "symbols", "clip"}
    assert "does not exist" in failed["no-voice"] and "no text" in failed["empty"]
    assert "nothing to speak" in failed["symbols"] and "clone" in failed["clip"]
    assert set(finished) == {"ok0", "ok1", "ok2"}
    for job in jobs:
        event = finished[job.job_id]
        assert event["path"] == job.out_path and event["sample_rate"] == 22050
        assert assert_valid_take(event["path"]) == pytest.approx(event["duration"], abs=1e-3)
    assert no_temp_files(tmp_path)


def test_killed_engine_is_restarted_and_the_batch_completes(tmp_path: Path) -> None:
    lines = [f"This is line {n}. It has a second sentence too." for n in range(8)]
    jobs = [
        RenderJob(f"l{i}", text, str(tmp_path / f"l{i}.wav"), speakers=(VoiceSpec(variant=i % 3),))
        for i, text in enumerate(lines)
    ]
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = temp_path_for(tmp_path / "l7.wav", pid=int(dead.stdout))
    stale.write_bytes(b"half a take from a crashed engine")
    client = EngineClient(options={"workers": 2}, heartbeat_s=0.5, hang_timeout_s=30, backoff_s=0.1)
    client.start()
    first_pid = client.pid
    events: list[dict[str, Any]] = []
    try:
        client.submit(jobs)
        for event in client.events(timeout=SAFETY_S):
            events.append(event)
            if event["type"] == "finished" and client.pid == first_pid:
                assert first_pid is not None
                os.kill(first_pid, signal.SIGKILL)
                break
        events += events_until_idle(client)
    finally:
        client.shutdown()
    restarted = [e for e in events if e["type"] == "engine_restarted"]
    assert len(restarted) == 1 and "SIGKILL" in restarted[0]["reason"]
    assert client.pid is None and client.restarts == 1
    finished = {e["job_id"] for e in events if e["type"] == "finished"}
    assert finished == {j.job_id for j in jobs}
    assert not [e for e in events if e["type"] == "failed"]
    for job in jobs:
        assert_valid_take(job.out_path)
    assert no_temp_files(tmp_path)
