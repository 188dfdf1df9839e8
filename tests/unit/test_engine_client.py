"""The studio's engine client against the real engine process: non-blocking submit, heartbeat and
hang detection, restart budget, stop/cancel/shutdown bookkeeping, event delivery."""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from engine.protocol import RenderJob
from studio.render.client import EngineClient, EngineNotRunning

SAFETY_S = 90.0  # a hang guard for event loops, not a speed assertion
FAST = {"workers": 0}  # render inside the engine process: quickest start


def jobs_in(folder: Path, count: int, text: str = "A short line.") -> list[RenderJob]:
    return [RenderJob(f"j{i}", text, str(folder / f"j{i}.wav")) for i in range(count)]


def collect(client: EngineClient) -> list[dict[str, Any]]:
    events = list(client.events(timeout=SAFETY_S))
    assert not client.outstanding, "the engine went quiet with jobs outstanding"
    return events


def test_submitting_2000_jobs_returns_at_once(tmp_path: Path) -> None:
    client = EngineClient(options=FAST)
    client.start()
    try:
        jobs = jobs_in(tmp_path, 2000)
        client.submit(jobs)
        # submit only recorded the jobs and handed them to the writer thread: nothing can be done yet
        assert len(client.outstanding) == 2000
        assert not [e for e in client.poll(0) if e["type"] == "finished"]
        client.cancel()
        events = collect(client)
    finally:
        client.shutdown()
    finals = Counter(e["job_id"] for e in events if e["type"] in ("finished", "failed", "cancelled"))
    assert set(finals) == {j.job_id for j in jobs} and set(finals.values()) == {1}
    assert sum(1 for e in events if e["type"] == "cancelled") >= 1990


def test_hung_engine_is_detected_and_restarted(tmp_path: Path) -> None:
    marker = tmp_path / "hang-once"
    marker.write_text("the first engine hangs after its first take")
    env = {**os.environ, "CHORUS_ENGINE_DEBUG_HANG": str(marker)}
    client = EngineClient(options=FAST, env=env, heartbeat_s=0.25, hang_timeout_s=1.5, backoff_s=0.05)
    client.start()
    first_pid = client.pid
    try:
        client.submit(jobs_in(tmp_path, 4, "One. Two."))
        events = collect(client)
    finally:
        client.shutdown()
    restarted = [e for e in events if e["type"] == "engine_restarted"]
    assert len(restarted) == 1 and "stopped answering" in restarted[0]["reason"]
    assert not marker.exists() and client.restarts == 1
    finished = [e["job_id"] for e in events if e["type"] == "finished"]
    assert sorted(finished) == ["j0", "j1", "j2", "j3"]  # each exactly once
    assert restarted[0]["resubmitted"] == ["j1", "j2", "j3"]
    assert first_pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(first_pid, 0)  # the hung engine was killed, not left behind


def test_gives_up_after_max_restarts(tmp_path: Path) -> None:
    client = EngineClient(options=FAST, heartbeat_s=0.2, hang_timeout_s=30, max_restarts=1, backoff_s=0.05)
    client.start()
    events: list[dict[str, Any]] = []
    try:
        client.submit(jobs_in(tmp_path, 3))
        pid = client.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        for event in client.events(timeout=SAFETY_S):
            events.append(event)
            if event["type"] == "engine_restarted":
                pid = client.pid
                assert pid is not None
                os.kill(pid, signal.SIGKILL)
        assert client.state == "gave_up"
        with pytest.raises(EngineNotRunning, match="kept failing"):
            client.submit(jobs_in(tmp_path, 1))
    finally:
        client.shutdown()
    kinds = [e["type"] for e in events]
    assert kinds.count("engine_restarted") == 1 and kinds[-1] == "engine_gave_up"
    failed = [e for e in events if e["type"] == "failed"]
    assert {e["job_id"] for e in failed} == {"j0", "j1", "j2"}
    assert all("stopped 2 times" in e["reason"] for e in failed)


def test_stop_keeps_the_running_job_and_drops_the_queue(tmp_path: Path) -> None:
    client = EngineClient(options=FAST)
    client.start()
    try:
        client.submit(jobs_in(tmp_path, 6, "Sentence one. Sentence two. Sentence three."))
        events: list[dict[str, Any]] = []
        for event in client.events(timeout=SAFETY_S):
            events.append(event)
            if event["type"] == "started":
                client.stop()
    finally:
        client.shutdown()
    started = [e["job_id"] for e in events if e["type"] == "started"]
    finished = [e["job_id"] for e in events if e["type"] == "finished"]
    cancelled = [e["job_id"] for e in events if e["type"] == "cancelled"]
    assert finished == started and len(finished) >= 1
    assert sorted(finished + cancelled) == sorted(f"j{i}" for i in range(6))
    assert all((tmp_path / f"{job_id}.wav").exists() for job_id in finished)
    assert not any((tmp_path / f"{job_id}.wav").exists() for job_id in cancelled)


def test_shutdown_cancels_what_is_left_and_refuses_new_work(tmp_path: Path) -> None:
    client = EngineClient(options=FAST)
    with pytest.raises(EngineNotRunning, match="start"):
        client.submit(jobs_in(tmp_path, 1))
    client.start()
    client.submit(jobs_in(tmp_path, 50))
    client.shutdown()
    events = client.poll(0)
    finals = Counter(e["job_id"] for e in events if e["type"] in ("finished", "cancelled"))
    assert len(finals) == 50 and set(finals.values()) == {1}
    assert client.outstanding == () and client.state == "closed"
    with pytest.raises(EngineNotRunning):
        client.submit(jobs_in(tmp_path, 1))
    client.shutdown()  # twice is harmless


def test_listener_receives_events_off_the_caller_thread(tmp_path: Path) -> None:
    received: list[tuple[str, str]] = []
    done = threading.Event()

    def listener(event: dict[str, Any]) -> None:
        received.append((event["type"], threading.current_thread().name))
        if event["type"] == "finished":
            done.set()

    client = EngineClient(options=FAST)
    client.set_listener(listener)
    client.start()
    try:
        client.submit(jobs_in(tmp_path, 1))
        assert done.wait(SAFETY_S)
        assert client.poll(0) == []  # the listener took them
    finally:
        client.shutdown()
    assert ("finished", threading.current_thread().name) not in received
    assert any(kind == "finished" for kind, _ in received)


def test_constructor_rejects_a_heartbeat_slower_than_the_hang_timeout() -> None:
    with pytest.raises(ValueError, match="heartbeat"):
        EngineClient(heartbeat_s=5, hang_timeout_s=2)
