"""Keeping the engine alive: heartbeat, hang and crash detection, restarts with back-off, giving up.

:class:`EngineSupervision` is the part of :class:`studio.render.client.EngineClient` that runs on its
*supervisor* thread. Every ``heartbeat_s`` it pings the engine; when the process exits or stops
answering for ``hang_timeout_s`` it kills it (with its worker processes), deletes half-written take
files of the outstanding jobs, restarts it with back-off and submits again every job that had no
final event yet (an ``engine_restarted`` event says so). After more than ``max_restarts`` restarts
within ``restart_window_s`` it gives up: the outstanding jobs get ``failed`` with a reason and an
``engine_gave_up`` event follows.

Thread contract: ``_supervise`` runs on the supervisor thread; ``_spawn`` on whichever thread starts
an engine (``start`` or the supervisor); ``_on_eof`` on a process's reader thread. Shared state is
the client's and is read and written under its ``_lock``.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from engine.protocol import Job, ProtocolError, RenderJob
from engine.takefile import remove_stale_temps
from studio.render.engine_events import LOG, EngineStartError, Event
from studio.render.engine_process import EngineProcess

IDLE, RUNNING, RESTARTING, CLOSING, CLOSED, GAVE_UP = (
    "idle",
    "running",
    "restarting",
    "closing",
    "closed",
    "gave_up",
)


class EngineSupervision:
    """Heartbeat and restarts for the engine client (a base class of ``EngineClient``, which owns the
    state named below and implements ``command``, ``_on_message`` and ``_emit``)."""

    heartbeat_s: float
    hang_timeout_s: float
    start_timeout_s: float
    max_restarts: int
    restart_window_s: float
    backoff_s: float
    max_backoff_s: float
    env: dict[str, str] | None
    hello: dict[str, Any]
    _lock: threading.RLock
    _outstanding: dict[str, Job]
    _started: set[str]
    _cancel_requested: set[str]
    _proc: EngineProcess | None
    _state: str
    _restart_times: deque[float]
    _restart_count: int
    _closing: threading.Event
    _wake: threading.Event

    def command(self) -> list[str]:
        raise NotImplementedError

    def _on_message(self, proc: EngineProcess, message: dict[str, Any]) -> None:
        raise NotImplementedError

    def _emit(self, event: Event) -> None:
        raise NotImplementedError

    def _spawn(self) -> EngineProcess:
        proc = EngineProcess(self.command(), self.env, self._on_message, self._on_eof)
        try:
            self.hello = proc.handshake(self.start_timeout_s)
        except BaseException:
            proc.kill()
            proc.finish(timeout=2.0)
            raise
        LOG.info("engine %s started: %s", proc.pid, self.hello.get("backend"))
        return proc

    def _on_eof(self, proc: EngineProcess) -> None:
        self._wake.set()

    def _supervise(self) -> None:
        """Heartbeat and restarts (supervisor thread)."""
        while not self._closing.is_set():
            self._wake.wait(self.heartbeat_s)
            self._wake.clear()
            if self._closing.is_set():
                return
            with self._lock:
                proc = self._proc
                if self._state != RUNNING or proc is None:
                    continue
            problem = ""
            if not proc.alive():
                self._await_exit(proc)
                problem = f"the engine process stopped ({proc.describe_exit()})"
            elif time.monotonic() - proc.last_pong > self.hang_timeout_s:
                problem = f"the engine stopped answering for {time.monotonic() - proc.last_pong:.0f} s"
            else:
                proc.ping()
                continue
            self._recover(proc, problem)

    @staticmethod
    def _await_exit(proc: EngineProcess) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(1.0)

    def _recover(self, dead: EngineProcess, problem: str) -> None:
        """Kill ``dead``, then restart with back-off until it works or the restart budget is spent."""
        with self._lock:
            if self._closing.is_set():
                return
            self._state = RESTARTING
        LOG.warning("engine %s: %s; restarting", dead.pid, problem)
        dead.kill()
        dead.finish()  # the reader drains what the engine said before it died
        dead_pids = [dead.pid]
        while not self._closing.is_set():
            now = time.monotonic()
            self._restart_times.append(now)
            while self._restart_times and now - self._restart_times[0] > self.restart_window_s:
                self._restart_times.popleft()
            attempts = len(self._restart_times)
            if attempts > self.max_restarts:
                self._give_up(problem, attempts - 1)
                return
            with self._lock:
                out_paths = _take_paths(self._outstanding.values())
            removed = remove_stale_temps(out_paths, dead_pids)
            if removed:
                LOG.info("removed %d half-written take(s) of the stopped engine", len(removed))
            delay = min(self.max_backoff_s, self.backoff_s * (2 ** (attempts - 1)))
            if self._closing.wait(delay):
                return
            try:
                proc = self._spawn()
            except (EngineStartError, ProtocolError) as exc:
                problem = f"the engine could not be restarted: {exc}"
                LOG.warning("%s", problem)
                continue
            with self._lock:
                if self._closing.is_set():
                    proc.kill()
                    proc.finish()
                    return
                for job_id in [j for j in self._outstanding if j in self._cancel_requested]:
                    del self._outstanding[job_id]
                    self._emit({"type": "cancelled", "job_id": job_id})
                self._cancel_requested.clear()
                self._started.clear()
                jobs = list(self._outstanding.values())
                self._proc = proc
                self._state = RUNNING
                self._restart_count += 1
                self._emit(
                    {
                        "type": "engine_restarted",
                        "reason": problem,
                        "attempt": self._restart_count,
                        "resubmitted": [j.job_id for j in jobs],
                    }
                )
                if jobs:
                    proc.send_jobs(jobs)
            return

    def _give_up(self, problem: str, restarts: int) -> None:
        reason = (
            f"the render engine stopped {restarts + 1} times within {self.restart_window_s:.0f} s "
            f"(last: {problem}); rendering was abandoned — check the engine settings and render again"
        )
        LOG.error("%s", reason)
        with self._lock:
            self._state = GAVE_UP
            self._proc = None
            jobs = list(self._outstanding)
            self._outstanding.clear()
            self._started.clear()
            self._cancel_requested.clear()
            for job_id in jobs:
                self._emit({"type": "failed", "job_id": job_id, "reason": reason})
            self._emit({"type": "engine_gave_up", "reason": reason})
        self._closing.set()


def _take_paths(jobs: Iterable[Job]) -> list[str]:
    """Where the render jobs among ``jobs`` write their takes (transcribe jobs write nothing)."""
    return [job.out_path for job in jobs if isinstance(job, RenderJob)]
