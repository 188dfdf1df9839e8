"""The studio's side of the engine process: start, submit, cancel, events, and staying alive.

:class:`EngineClient` starts ``python -m engine`` (see ``engine.protocol``), checks the handshake, and
keeps the process healthy (heartbeat, restarts, giving up: :mod:`studio.render.engine_supervisor`).
The process itself — launch, pipes, handshake, kill — is :mod:`studio.render.engine_process`.

Events are dicts shaped like the protocol's events (see :mod:`studio.render.engine_events`), delivered
through a thread-safe queue that the caller drains on its own thread — ``poll(timeout)`` returns the
events waiting (a Qt QTimer calls ``poll(0)``; the CLI loops on ``poll(0.25)``), ``events()`` is a
blocking iterator — or, with ``set_listener``, to a callback invoked on the client's reader thread.

Partial audio (play a line while it renders): submit the job with ``RenderJob.stream`` set and call
``set_chunk_listener(on_chunk)``; ``on_chunk(job_id, samples, sample_rate)`` then receives the job's
new float32 mono samples as the engine makes them (backends with ``capabilities["streaming"]``; the
others send none, and the ``finished`` take is the whole line as before).

Thread contract: every public method may be called from any thread and never blocks on the engine,
except ``start`` (waits for the handshake) and ``shutdown`` (waits for the process to exit). The
client never imports Qt or torch.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from engine.protocol import Job, ProtocolError
from engine.takefile import remove_stale_temps
from studio.render.engine_events import (
    FINAL_EVENTS,
    JOB_EVENTS,
    LOG,
    Chunk,
    ChunkListener,
    EngineError,
    EngineNotRunning,
    EngineStartError,
    EngineVersionError,
    Event,
    parse_chunk,
)
from studio.render.engine_process import EngineProcess
from studio.render.engine_supervisor import (
    CLOSED,
    CLOSING,
    GAVE_UP,
    IDLE,
    RESTARTING,
    RUNNING,
    EngineSupervision,
    _take_paths,
)

__all__ = [
    "ENGINE_SUBCOMMAND",
    "Chunk",
    "ChunkListener",
    "EngineClient",
    "EngineError",
    "EngineNotRunning",
    "EngineStartError",
    "EngineVersionError",
    "Event",
]

ENGINE_SUBCOMMAND = "_engine"  # `chorus _engine …` in a frozen build == `python -m engine …`


class EngineClient(EngineSupervision):
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
        self._chunk_listener: ChunkListener | None = None
        self._outstanding: dict[str, Job] = {}
        self._started: set[str] = set()
        self._cancel_requested: set[str] = set()
        self._proc: EngineProcess | None = None
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

    def set_chunk_listener(self, on_chunk: ChunkListener | None) -> None:
        """Receive partial audio of running jobs: ``on_chunk(job_id, samples, sample_rate)``.

        Only jobs submitted with ``RenderJob.stream = True`` send chunks, and only on a backend whose
        ``capabilities["streaming"]`` is true; ``samples`` is a new float32 mono array (values in
        [-1, 1]) holding the audio made since that job's previous chunk, so appending the chunks in
        the order they come gives the line from its start. All of a job's chunks come before its final
        event (``finished``/``failed``/``cancelled``, from ``poll``/the listener): there the take file
        (which a take check may have trimmed) replaces what was streamed. If the engine restarts, the
        jobs listed in ``engine_restarted``'s ``resubmitted`` render again and their chunks start over
        from the line's beginning: drop what you had of them.

        Called on the client's reader thread, without any client lock held, one call at a time: copy
        the samples into your own buffer (e.g. a playback queue) and return — a slow callback delays
        every later event. Chunks of jobs that are no longer outstanding (cancelled, already final) are
        dropped. None = stop receiving chunks (the engine still sends them for ``stream`` jobs).
        """
        self._chunk_listener = on_chunk

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

    def _on_message(self, proc: EngineProcess, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "chunk":
            self._on_chunk(message)
            return
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

    def _on_chunk(self, message: dict[str, Any]) -> None:
        """A ``chunk`` event (reader thread): decode it and hand it to the chunk listener."""
        on_chunk = self._chunk_listener
        if on_chunk is None:
            return
        try:
            chunk = parse_chunk(message)
        except ProtocolError as exc:
            LOG.warning("engine sent a bad chunk: %s", exc)
            return
        with self._lock:
            if chunk.job_id not in self._outstanding:
                return
        try:
            on_chunk(chunk.job_id, chunk.samples, chunk.sample_rate)
        except Exception:
            LOG.exception("engine chunk listener failed on %s", chunk.job_id)
