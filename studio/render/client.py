"""The studio's side of the engine process: start, submit, cancel, events, and staying alive.

:class:`EngineClient` starts ``python -m engine`` (see ``engine.protocol``), checks the handshake, and
keeps the process healthy: it pings every ``heartbeat_s``; when the process exits or stops answering
for ``hang_timeout_s`` it kills it (with its worker processes), deletes half-written take files of
the outstanding jobs, restarts it with back-off and submits again every job that had no final event
yet (an ``engine_restarted`` event says so). After more than ``max_restarts`` restarts within
``restart_window_s`` it gives up: the outstanding jobs get ``failed`` with a reason and an
``engine_gave_up`` event follows.

Events are dicts shaped like the protocol's events (see :data:`Event`), delivered through a
thread-safe queue that the caller drains on its own thread — ``poll(timeout)`` returns the events
waiting (a Qt QTimer calls ``poll(0)``; the CLI loops on ``poll(0.25)``), ``events()`` is a blocking
iterator — or, with ``set_listener``, to a callback invoked on the client's reader thread.

Thread contract: every public method may be called from any thread and never blocks on the engine,
except ``start`` (waits for the handshake) and ``shutdown`` (waits for the process to exit). The
client never imports Qt or torch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from engine.protocol import Job, ProtocolError, RenderJob, check_hello, decode, encode
from engine.takefile import remove_stale_temps

LOG = logging.getLogger("chorus.engine")
ENGINE_SUBCOMMAND = "_engine"  # `chorus _engine …` in a frozen build == `python -m engine …`

# --------------------------------------------------------------------------------------------------
# Events and errors
# --------------------------------------------------------------------------------------------------

# An event is a dict shaped like the engine's protocol events (``engine.protocol``), plus two the
# client makes itself:
#   engine_restarted {reason, attempt, resubmitted: [job ids]}
#   engine_gave_up   {reason}
# ``pong`` and ``hello`` are handled inside the client and never delivered.
Event = dict[str, Any]

JOB_EVENTS = frozenset({"started", "progress", "finished", "failed", "cancelled"})
FINAL_EVENTS = frozenset({"finished", "failed", "cancelled"})


class EngineError(RuntimeError):
    """The engine cannot be used as asked (message says what to do)."""


class EngineStartError(EngineError):
    """The engine process did not start or did not complete the handshake."""


class EngineVersionError(EngineStartError, ProtocolError):
    """The engine speaks another protocol version than this studio."""


class EngineNotRunning(EngineError):
    """A request was made while no engine runs (never started, shut down, or given up)."""


# --------------------------------------------------------------------------------------------------
# One engine process (one generation)
# --------------------------------------------------------------------------------------------------

_SUBMIT = "submit"


class _EngineProcess:
    """A running ``python -m engine`` with its writer, reader and stderr threads.

    ``on_message(proc, message)`` and ``on_eof(proc)`` are called on the reader thread.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None,
        on_message: Callable[[_EngineProcess, dict[str, Any]], None],
        on_eof: Callable[[_EngineProcess], None],
    ) -> None:
        self._on_message = on_message
        self._on_eof = on_eof
        popen_kwargs: dict[str, Any] = {}
        if os.name == "posix":
            popen_kwargs["start_new_session"] = True  # own process group: kill takes the pool with it
        else:
            popen_kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        try:
            self.popen = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(env) if env is not None else None,
                bufsize=0,
                **popen_kwargs,
            )
        except OSError as exc:
            raise EngineStartError(f"cannot start the render engine ({argv[0]}): {exc}") from None
        self.pid = self.popen.pid
        self.hello: dict[str, Any] | None = None
        self.hello_error: Exception | None = None
        self.hello_event = threading.Event()
        self.eof = threading.Event()
        self.last_pong = time.monotonic()
        self.ping_n = 0
        self.stderr_tail: deque[str] = deque(maxlen=200)
        self._outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._write_loop, name=f"engine-{self.pid}-writer", daemon=True),
            threading.Thread(target=self._read_loop, name=f"engine-{self.pid}-reader", daemon=True),
            threading.Thread(target=self._stderr_loop, name=f"engine-{self.pid}-stderr", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # writer: encoding happens here, so callers never wait for JSON or the pipe
    def send(self, message_type: str, **payload: Any) -> None:
        self._outbox.put((message_type, payload))

    def send_jobs(self, jobs: Sequence[Job]) -> None:
        self._outbox.put((_SUBMIT, list(jobs)))

    def _write_loop(self) -> None:
        stdin = self.popen.stdin
        assert stdin is not None
        while True:
            item = self._outbox.get()
            if item is None:
                break
            message_type, payload = item
            if message_type == _SUBMIT and isinstance(payload, list):
                data = encode("submit", jobs=[job.to_dict() for job in payload])
            else:
                data = encode(message_type, **payload)
            try:
                stdin.write(data)
                stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                break  # the reader/supervisor notice the death
        with contextlib.suppress(OSError, ValueError):
            stdin.close()

    def _read_loop(self) -> None:
        stdout = self.popen.stdout
        assert stdout is not None
        try:
            for raw in iter(stdout.readline, b""):
                line = raw.strip()
                if not line:
                    continue
                try:
                    message = decode(line)
                except ProtocolError as exc:
                    if self.hello is None and not self.hello_event.is_set():
                        self.hello_error = EngineStartError(
                            f"the render engine sent garbage instead of a handshake: {exc}"
                        )
                        self.hello_event.set()
                    LOG.warning("engine %s: %s", self.pid, exc)
                    continue
                if not self.hello_event.is_set():
                    try:
                        check_hello(message)
                        self.hello = message
                    except ProtocolError as exc:
                        if message.get("type") == "hello":
                            self.hello_error = EngineVersionError(str(exc))
                        else:
                            self.hello_error = EngineStartError(str(exc))
                    self.hello_event.set()
                    continue
                if message["type"] == "pong":
                    self.last_pong = time.monotonic()
                    continue
                self._on_message(self, message)
        except (OSError, ValueError):
            pass
        finally:
            self.eof.set()
            self.hello_event.set()
            self._on_eof(self)

    def _stderr_loop(self) -> None:
        stderr = self.popen.stderr
        assert stderr is not None
        with contextlib.suppress(OSError, ValueError):
            for raw in iter(stderr.readline, b""):
                text = raw.decode("utf-8", "replace").rstrip()
                if text:
                    self.stderr_tail.append(text)
                    LOG.info("engine %s: %s", self.pid, text)

    def handshake(self, timeout: float) -> dict[str, Any]:
        if not self.hello_event.wait(timeout):
            raise EngineStartError(
                f"the render engine did not answer within {timeout:.0f} s; it may be blocked by a firewall "
                "or antivirus tool, or the machine is overloaded — try again"
            )
        if self.hello is not None:
            self.last_pong = time.monotonic()
            return self.hello
        if self.hello_error is not None:
            raise self.hello_error
        self.popen.wait(5)
        raise EngineStartError(f"the render engine stopped before its handshake ({self.describe_exit()})")

    def ping(self) -> None:
        self.ping_n += 1
        self.send("ping", n=self.ping_n)

    def alive(self) -> bool:
        return not self.eof.is_set() and self.popen.poll() is None

    def describe_exit(self) -> str:
        code = self.popen.poll()
        if code is None:
            what = "still running"
        elif code < 0:
            try:
                what = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                what = f"killed by signal {-code}"
        else:
            what = f"exit code {code}"
        last = self.last_error_line()
        return f"{what}; last message: {last}" if last else what

    def last_error_line(self) -> str:
        for line in reversed(self.stderr_tail):
            if line.strip() and not line.startswith(" "):
                return line.strip()
        return ""

    def kill(self) -> None:
        """Kill the engine and everything it started (its process group on POSIX)."""
        if self.popen.poll() is None:
            if os.name == "posix":
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                self.popen.kill()
        elif os.name == "posix":  # the engine is gone; its pool workers may linger a moment
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)

    def finish(self, timeout: float = 5.0) -> None:
        """Stop the writer and wait for the reader to drain (call after the process has exited)."""
        self._outbox.put(None)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout)
        for stream in (self.popen.stdout, self.popen.stderr):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                stream.close()  # type: ignore[union-attr]


# --------------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------------

IDLE, RUNNING, RESTARTING, CLOSING, CLOSED, GAVE_UP = (
    "idle",
    "running",
    "restarting",
    "closing",
    "closed",
    "gave_up",
)


class EngineClient:
    """Runs one engine process for the studio and keeps it alive (see module docstring)."""

    def __init__(
        self,
        backend: str = "piper",
        options: Mapping[str, Any] | None = None,
        *,
        python: str = sys.executable,
        heartbeat_s: float = 2.0,
        hang_timeout_s: float = 20.0,
        start_timeout_s: float = 60.0,
        max_restarts: int = 3,
        restart_window_s: float = 300.0,
        backoff_s: float = 0.5,
        max_backoff_s: float = 10.0,
        take_subtype: str = "FLOAT",
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        if heartbeat_s <= 0 or hang_timeout_s <= heartbeat_s:
            raise ValueError("need 0 < heartbeat_s < hang_timeout_s")
        self.backend = backend
        self.options = dict(options or {})
        self.python = python
        self.heartbeat_s = heartbeat_s
        self.hang_timeout_s = hang_timeout_s
        self.start_timeout_s = start_timeout_s
        self.max_restarts = max_restarts
        self.restart_window_s = restart_window_s
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.take_subtype = take_subtype
        self.extra_args = tuple(extra_args)
        self.env = dict(env) if env is not None else None

        self._lock = threading.RLock()
        self._events: queue.Queue[Event] = queue.Queue()
        self._listener: Callable[[Event], None] | None = None
        self._outstanding: dict[str, Job] = {}
        self._started: set[str] = set()
        self._cancel_requested: set[str] = set()
        self._proc: _EngineProcess | None = None
        self._state = IDLE
        self._restart_times: deque[float] = deque()
        self._restart_count = 0
        self._closing = threading.Event()
        self._wake = threading.Event()
        self._supervisor: threading.Thread | None = None
        self.hello: dict[str, Any] = {}

    # ----------------------------------------------------------------------------- properties

    @property
    def state(self) -> str:
        """idle | running | restarting | closing | closed | gave_up."""
        return self._state

    @property
    def running(self) -> bool:
        return self._state in (RUNNING, RESTARTING)

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None else None

    @property
    def outstanding(self) -> tuple[str, ...]:
        """Ids of submitted jobs that have no final event yet (in submission order)."""
        with self._lock:
            return tuple(self._outstanding)

    @property
    def capabilities(self) -> dict[str, Any]:
        """What the running backend can do (``Capabilities`` fields from the handshake)."""
        caps = self.hello.get("capabilities", {})
        return dict(caps) if isinstance(caps, dict) else {}

    @property
    def restarts(self) -> int:
        """How many times this client restarted the engine."""
        return self._restart_count

    def stderr_tail(self) -> list[str]:
        proc = self._proc
        return list(proc.stderr_tail) if proc is not None else []

    def command(self) -> list[str]:
        """The command line that starts the engine."""
        # A frozen (PyInstaller) build has no `python -m`: its own executable runs the engine.
        launcher = (
            [self.python, ENGINE_SUBCOMMAND]
            if getattr(sys, "frozen", False)
            else [self.python, "-m", "engine"]
        )
        return [
            *launcher,
            "--backend",
            self.backend,
            "--options",
            json.dumps(self.options),
            "--take-subtype",
            self.take_subtype,
            *self.extra_args,
        ]

    # ----------------------------------------------------------------------------- lifecycle

    def start(self) -> dict[str, Any]:
        """Start the engine and complete the handshake; returns the engine's hello message.

        Raises EngineStartError (EngineVersionError for a protocol mismatch). Idempotent while running.
        """
        with self._lock:
            if self._state in (RUNNING, RESTARTING):
                return self.hello
            if self._state == CLOSING:
                raise EngineError("the engine is shutting down; wait for shutdown() to return")
        proc = self._spawn()
        with self._lock:
            self._proc = proc
            self._state = RUNNING
            self._restart_times.clear()
            self._closing.clear()
            self._wake.clear()
            if self._supervisor is None or not self._supervisor.is_alive():
                self._supervisor = threading.Thread(
                    target=self._supervise, name="engine-supervisor", daemon=True
                )
                self._supervisor.start()
        return self.hello

    def shutdown(self, timeout: float = 10.0) -> None:
        """Ask the engine to exit (abandoning running jobs), wait for it, and stop the client's threads.

        Jobs still outstanding afterwards get a ``cancelled`` event. Safe to call twice.
        """
        with self._lock:
            if self._state in (IDLE, CLOSED, GAVE_UP) and self._proc is None:
                self._state = CLOSED if self._state != GAVE_UP else self._state
                return
            self._state = CLOSING
            proc = self._proc
            self._closing.set()
            self._wake.set()
        if proc is not None:
            proc.send("shutdown")
            try:
                proc.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                LOG.warning("engine %s did not exit within %.0f s; killing it", proc.pid, timeout)
            proc.kill()
            proc.finish()
        supervisor = self._supervisor
        if supervisor is not None and supervisor is not threading.current_thread():
            supervisor.join(timeout)
        with self._lock:
            leftover = list(self._outstanding)
            if proc is not None and leftover:  # a killed engine may leave a half-written take
                remove_stale_temps(_take_paths(self._outstanding.values()), [proc.pid])
            self._outstanding.clear()
            self._started.clear()
            self._cancel_requested.clear()
            self._proc = None
            self._state = CLOSED
            for job_id in leftover:
                self._emit({"type": "cancelled", "job_id": job_id})

    def close(self) -> None:
        self.shutdown()

    def __enter__(self) -> EngineClient:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    # ----------------------------------------------------------------------------- requests

    def submit(self, jobs: Iterable[Job]) -> None:
        """Queue render or transcribe jobs; returns at once (the writer thread encodes and sends them).

        A job id already outstanding is replaced. Raises EngineNotRunning if no engine runs.
        """
        batch = list(jobs)
        with self._lock:
            self._require_running()
            for job in batch:
                self._outstanding.pop(job.job_id, None)  # re-submission moves it to the end
                self._outstanding[job.job_id] = job
                self._cancel_requested.discard(job.job_id)
            if self._state == RUNNING and self._proc is not None and batch:
                self._proc.send_jobs(batch)
            # while restarting, the new engine gets every outstanding job once it is up

    def cancel(self, job_ids: Iterable[str] | None = None) -> None:
        """Cancel jobs (None or empty = all): queued ones are dropped, running ones aborted."""
        ids = list(job_ids or [])
        with self._lock:
            targets = set(ids) if ids else set(self._outstanding)
            self._cancel_requested |= targets & set(self._outstanding)
            if self._state == RUNNING and self._proc is not None:
                self._proc.send("cancel", job_ids=ids)

    def stop(self) -> None:
        """Let the running job(s) finish and drop the rest of the queue (finished takes are kept)."""
        with self._lock:
            self._cancel_requested |= set(self._outstanding) - self._started
            if self._state == RUNNING and self._proc is not None:
                self._proc.send("stop")

    def request_status(self) -> None:
        """Ask the engine for an ``EngineStatus`` event."""
        with self._lock:
            if self._state == RUNNING and self._proc is not None:
                self._proc.send("status")

    def _require_running(self) -> None:
        if self._state == GAVE_UP:
            raise EngineNotRunning(
                "the render engine kept failing and was stopped; call start() to try again"
            )
        if self._state not in (RUNNING, RESTARTING):
            raise EngineNotRunning("the render engine is not running; call start() first")

    # ----------------------------------------------------------------------------- events

    def set_listener(self, listener: Callable[[Event], None] | None) -> None:
        """Deliver events to ``listener`` instead of the queue (None = back to the queue).

        The listener runs on the client's reader/supervisor threads while a client lock is held:
        it must be quick, must not block, and must not wait for other threads (Qt code: call
        ``poll(0)`` from a QTimer instead). Events already queued are handed to it at once.
        """
        with self._lock:
            self._listener = listener
            if listener is not None:
                for event in self._take(None):
                    listener(event)

    def poll(self, timeout: float | None = 0.0, limit: int | None = None) -> list[Event]:
        """The events waiting now (at most ``limit``); if none, wait up to ``timeout`` s for the first
        (0 = don't wait, None = wait until one comes). Never raises; [] when nothing came."""
        events: list[Event] = []
        if self._events.empty() and (timeout is None or timeout > 0):
            try:
                events.append(self._events.get(timeout=timeout))
            except queue.Empty:
                return events
        events.extend(self._take(None if limit is None else limit - len(events)))
        return events

    def _take(self, limit: int | None) -> list[Event]:
        events: list[Event] = []
        while limit is None or len(events) < limit:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                break
        return events

    def events(self, timeout: float | None = None, until_idle: bool = True) -> Iterator[Event]:
        """Yield events as they come (blocking). Ends when no job is outstanding and no event is
        waiting (``until_idle``), when ``timeout`` seconds pass without an event, or when the client
        is not running and nothing is left."""
        while True:
            with self._lock:
                if self._events.empty() and (
                    (until_idle and not self._outstanding) or self._state in (CLOSED, GAVE_UP, IDLE)
                ):
                    return
            batch = self.poll(timeout if timeout is not None else 0.2)
            if not batch and timeout is not None:
                return
            yield from batch

    def _emit(self, event: Event) -> None:
        listener = self._listener
        if listener is None:
            self._events.put(event)
            return
        try:
            listener(event)
        except Exception:
            LOG.exception("engine event listener failed on %s", event.get("type"))

    # ----------------------------------------------------------------------------- engine side

    def _spawn(self) -> _EngineProcess:
        proc = _EngineProcess(self.command(), self.env, self._on_message, self._on_eof)
        try:
            self.hello = proc.handshake(self.start_timeout_s)
        except BaseException:
            proc.kill()
            proc.finish(timeout=2.0)
            raise
        LOG.info("engine %s started: %s", proc.pid, self.hello.get("backend"))
        return proc

    def _on_message(self, proc: _EngineProcess, message: dict[str, Any]) -> None:
        kind = message["type"]
        with self._lock:
            if kind in JOB_EVENTS:
                job_id = str(message.get("job_id", ""))
                known = job_id in self._outstanding
                if kind in FINAL_EVENTS:
                    self._outstanding.pop(job_id, None)
                    self._started.discard(job_id)
                    self._cancel_requested.discard(job_id)
                    if not known and kind != "finished":
                        return  # already final (e.g. failed by the client when it gave up)
                elif not known:
                    return  # a late started/progress of a job that is already final
                elif kind == "started":
                    self._started.add(job_id)
            self._emit(message)

    def _on_eof(self, proc: _EngineProcess) -> None:
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
    def _await_exit(proc: _EngineProcess) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(1.0)

    def _recover(self, dead: _EngineProcess, problem: str) -> None:
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
