"""The job runner shared by the engine host and ``chorus engine serve``: continuous batching through
``more``, cancel, scene-continuity order, and chunk events — with a fake slot decoder
(``fake_backends.SteppedBackend``) on the runner's real worker thread, then through the real host
and a real engine process driven by the studio's client."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fake_backends import FRAME, RATE, SteppedBackend, engine_launcher, frame_of

from engine.backends.base import JobOutcome
from engine.protocol import ContextTurn, RenderJob, decode, encode, pcm16_decode
from engine.runner import JobRunner, QueueFull, RunnerListener
from studio.render.client import EngineClient

SAFETY_S = 60.0  # a hang guard for waits, not a speed assertion


class Recorder(RunnerListener):
    """Collects what the runner reports; ``backend.log`` gets a ("done", id) entry in the same order."""

    def __init__(self, backend: SteppedBackend) -> None:
        self.backend = backend
        self.events: queue.Queue[tuple[str, str, Any]] = queue.Queue()
        self.outcomes: dict[str, JobOutcome] = {}
        self.chunks: dict[str, list[tuple[int, np.ndarray]]] = {}

    def started(self, job: RenderJob) -> None:
        self.events.put(("started", job.job_id, None))

    def chunk(self, job: RenderJob, seq: int, samples: np.ndarray, sample_rate: int) -> None:
        assert sample_rate == RATE
        self.chunks.setdefault(job.job_id, []).append((seq, samples))

    def done(self, job: RenderJob, outcome: JobOutcome) -> None:
        assert job.job_id not in self.outcomes, f"{job.job_id} delivered twice"
        self.outcomes[job.job_id] = outcome
        self.backend.record("done", job.job_id)
        self.events.put(("done", job.job_id, outcome))

    def wait(self, kind: str, job_id: str) -> Any:
        while True:
            got_kind, got_id, payload = self.events.get(timeout=SAFETY_S)
            if (got_kind, got_id) == (kind, job_id):
                return payload

    def wait_done(self, *job_ids: str) -> None:
        left = set(job_ids) - set(self.outcomes)
        while left:
            _, job_id, _ = self.events.get(timeout=SAFETY_S)
            left = set(job_ids) - set(self.outcomes)


def job(job_id: str, text: str = "3", folder: Path = Path("/tmp/runner"), **extra: Any) -> RenderJob:
    return RenderJob(job_id=job_id, text=text, out_path=str(folder / f"{job_id}.wav"), **extra)


@pytest.fixture
def run() -> Iterator[Any]:
    made: list[JobRunner] = []

    def make(backend: SteppedBackend, **options: Any) -> tuple[JobRunner, Recorder]:
        recorder = Recorder(backend)
        runner = JobRunner(backend, recorder, progress_interval_s=0.0, **options)
        runner.start()
        assert runner.wait_loaded(SAFETY_S) and runner.state == "ready"
        made.append(runner)
        return runner, recorder

    yield make
    for runner in made:
        runner.shutdown()
        runner.join(SAFETY_S)


def test_jobs_submitted_while_a_batch_runs_join_it(run: Any) -> None:
    backend = SteppedBackend(slots=4)
    runner, rec = run(backend)
    runner.submit([job("long", "hold")])
    rec.wait("started", "long")
    runner.submit([job("b", "3"), job("c", "5")])
    rec.wait_done("b", "c")
    assert "long" not in rec.outcomes  # still held: b and c joined its batch and left before it
    backend.release("long")
    rec.wait_done("long")
    assert backend.calls == 1  # one render_stream call took all three
    assert backend.admitted() == ["long", "b", "c"]
    assert all(o.result is not None for o in rec.outcomes.values())
    assert rec.outcomes["c"].result is not None and rec.outcomes["c"].result.audio.size == 5 * FRAME
    assert runner.queued == 0 and runner.running == []


def test_more_never_hands_out_more_than_the_free_places(run: Any) -> None:
    backend = SteppedBackend(slots=3)
    runner, rec = run(backend)
    ids = [f"j{i}" for i in range(12)]
    runner.submit([job(i, str(2 + n % 4)) for n, i in enumerate(ids)])
    rec.wait_done(*ids)
    assert backend.most_running == 3 and backend.calls == 1
    assert backend.admitted() == ids  # first in, first out


def test_a_cancelled_job_leaves_the_batch_without_losing_others(run: Any) -> None:
    backend = SteppedBackend(slots=4)
    runner, rec = run(backend)
    runner.submit([job("keep", "hold"), job("drop", "hold"), job("short", "4")])
    rec.wait("started", "drop")
    runner.cancel({"drop"})
    assert rec.wait("done", "drop").cancelled
    runner.submit([job("queued", "hold"), job("after", "2")])
    runner.cancel({"queued"})  # a queued (or just admitted) job is cancelled as well
    backend.release("keep")
    rec.wait_done("keep", "short", "after", "queued")
    assert rec.outcomes["queued"].cancelled
    for kept in ("keep", "short", "after"):
        assert rec.outcomes[kept].result is not None, kept
    assert ("leave", "drop") in [(what, job_id) for what, job_id, _ in backend.log]  # it left the slots


def test_a_dependent_job_waits_for_the_take_it_carries_as_context(run: Any, tmp_path: Path) -> None:
    backend = SteppedBackend(slots=4)
    runner, rec = run(backend)
    first = job("scene-1", "hold", tmp_path)
    second = job("scene-2", "2", tmp_path, context=(ContextTurn("line one", first.out_path),))
    third = job(
        "scene-3",
        "2",
        tmp_path,
        context=(ContextTurn("line one", first.out_path), ContextTurn("line two", second.out_path)),
    )
    runner.submit([first, second, third, job("other", "2", tmp_path)])
    rec.wait_done("other")  # an independent job goes ahead of the waiting ones
    assert backend.admitted() == ["scene-1", "other"]
    assert runner.queued == 2
    backend.release("scene-1")
    rec.wait_done("scene-1", "scene-2", "scene-3")
    order = [(what, job_id) for what, job_id, _ in backend.log if job_id.startswith("scene")]
    assert order.index(("done", "scene-1")) < order.index(("admit", "scene-2"))
    assert order.index(("done", "scene-2")) < order.index(("admit", "scene-3"))


def test_dependencies_hold_for_concurrent_runs_and_only_point_backwards(run: Any, tmp_path: Path) -> None:
    backend = SteppedBackend(slots=3, continuous=False, concurrency=3)
    runner, rec = run(backend)
    a = job("a", "2", tmp_path)
    b = job("b", "2", tmp_path, context=(ContextTurn("a", a.out_path),))
    c = job("c", "2", tmp_path)
    # a later job's take named as context by an earlier job is not a dependency (no waiting on the future)
    d = job("d", "2", tmp_path, context=(ContextTurn("e", str(tmp_path / "e.wav")),))
    e = job("e", "2", tmp_path)
    runner.submit([a, b, c, d, e])
    rec.wait_done("a", "b", "c", "d", "e")
    calls = {}
    for what, job_id, call in backend.log:
        if what == "admit":
            calls[job_id] = call
    assert calls["a"] == calls["c"] == calls["d"] == calls["e"] == 1 and calls["b"] == 2


def test_a_failed_dependency_releases_its_dependants(run: Any, tmp_path: Path) -> None:
    backend = SteppedBackend(slots=2)
    runner, rec = run(backend)
    bad = job("bad", "   ", tmp_path)  # no text: the backend's check fails it
    after = job("after", "2", tmp_path, context=(ContextTurn("x", bad.out_path),))
    runner.submit([bad, after])
    rec.wait_done("bad", "after")
    assert "no text" in rec.outcomes["bad"].error and rec.outcomes["after"].result is not None


def test_chunks_only_for_stream_jobs_and_joined_they_are_the_audio(run: Any) -> None:
    backend = SteppedBackend(slots=2)
    runner, rec = run(backend)
    runner.submit([job("s", "6", stream=True), job("quiet", "6")])
    rec.wait_done("s", "quiet")
    assert "quiet" not in rec.chunks
    seqs = [seq for seq, _ in rec.chunks["s"]]
    assert seqs == list(range(6))
    joined = np.concatenate([samples for _, samples in rec.chunks["s"]])
    result = rec.outcomes["s"].result
    assert result is not None and np.array_equal(joined, result.audio)
    assert np.array_equal(joined[:FRAME], frame_of("s", 0))


def test_queue_limit_duplicates_stop_and_shutdown(run: Any) -> None:
    backend = SteppedBackend(slots=1)
    runner, rec = run(backend, max_queue=2)
    runner.submit([job("run", "hold")])
    rec.wait("started", "run")
    assert [d.job_id for d in runner.submit([job("run"), job("q1")])] == ["run"]
    with pytest.raises(QueueFull):
        runner.submit([job("q2"), job("q3")])
    runner.stop()  # the running job finishes, the queue is dropped
    assert rec.wait("done", "q1").cancelled
    backend.release("run")
    assert rec.wait("done", "run").result is not None
    runner.shutdown()
    runner.submit([job("late")])
    assert rec.wait("done", "late").cancelled


# --------------------------------------------------------------------------------------------------
# Through the host (protocol events) and a real engine process (the studio's client)
# --------------------------------------------------------------------------------------------------


def test_host_sends_chunk_events_before_finished(tmp_path: Path) -> None:
    from engine.host import EngineHost

    req_r, req_w = os.pipe()
    ev_r, ev_w = os.pipe()
    events_out = os.fdopen(ev_w, "wb", buffering=0)
    host = EngineHost(SteppedBackend(slots=2), events_out, progress_interval_s=0.0)
    codes: list[int] = []
    serving = threading.Thread(target=lambda: codes.append(host.serve(os.fdopen(req_r, "rb"))), daemon=True)
    serving.start()
    requests = os.fdopen(req_w, "wb", buffering=0)
    events = os.fdopen(ev_r, "rb")
    jobs = [job("s", "5", tmp_path, stream=True), job("plain", "5", tmp_path)]
    requests.write(encode("submit", jobs=[j.to_dict() for j in jobs]))
    seen: list[dict[str, Any]] = []
    finished: set[str] = set()
    while finished != {"s", "plain"}:
        event = decode(events.readline())
        seen.append(event)
        if event["type"] == "finished":
            finished.add(event["job_id"])
    requests.write(encode("shutdown"))
    serving.join(SAFETY_S)
    events_out.close()
    assert codes == [0]
    chunks = [e for e in seen if e["type"] == "chunk"]
    assert {e["job_id"] for e in chunks} == {"s"} and [e["seq"] for e in chunks] == list(range(5))
    assert all(e["sample_rate"] == RATE for e in chunks)
    done_at = next(i for i, e in enumerate(seen) if e["type"] == "finished" and e["job_id"] == "s")
    assert max(i for i, e in enumerate(seen) if e["type"] == "chunk") < done_at
    streamed = np.concatenate([pcm16_decode(e["pcm16"]) for e in chunks])
    import soundfile

    take, _ = soundfile.read(seen[done_at]["path"], dtype="float32")
    assert np.allclose(streamed, take, atol=1 / 32767)


def test_client_on_chunk_gets_the_audio_of_a_real_engine_process(tmp_path: Path) -> None:
    client = EngineClient(python=engine_launcher(tmp_path, slots=2))
    got: list[tuple[str, np.ndarray, int, str]] = []
    client.set_chunk_listener(
        lambda job_id, samples, rate: got.append((job_id, samples, rate, threading.current_thread().name))
    )
    client.start()
    try:
        assert client.capabilities["streaming"] and client.capabilities["continuous"]
        client.submit([job("line", "8", tmp_path, stream=True), job("bg", "8", tmp_path)])
        events = list(client.events(timeout=SAFETY_S))
    finally:
        client.shutdown()
    assert {e["job_id"] for e in events if e["type"] == "finished"} == {"line", "bg"}
    assert {job_id for job_id, *_ in got} == {"line"} and len(got) == 8
    assert all(rate == RATE and samples.dtype == np.float32 for _, samples, rate, _ in got)
    assert all("reader" in thread for *_, thread in got)
    expected = np.concatenate([frame_of("line", i) for i in range(8)])
    assert np.allclose(np.concatenate([s for _, s, _, _ in got]), expected, atol=1 / 32767)
