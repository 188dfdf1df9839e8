"""One engine for the whole studio: the render queue and the voice-bank audition share it.

A model is loaded once per machine (see ``ARCHITECTURE.md``): the studio starts one engine process
(:class:`~studio.render.client.EngineClient`) for the open project's backend settings and every part of
the UI that needs speech submits through it. :class:`SharedEngine` owns that lifecycle — start (on a
worker thread, since the handshake blocks), restart for other backend settings, stop when idle or on
shutdown — and hands out :class:`EngineLane` s: one per consumer (the render controller, the
auditioner), each with the part of the EngineClient API a consumer needs (``submit``, ``cancel``,
``stop``, ``poll``, ``set_chunk_listener``). A lane only ever sees its own jobs' events, plus the
engine-wide ones (``engine_status``, ``load_progress``, ``engine_restarted`` — its ``resubmitted``
cut down to the lane's jobs —, ``engine_gave_up``, ``error``) and three the owner makes itself:

    engine_starting {backend}        a lane's job is waiting for an engine that is starting
    engine_started  {backend}        the engine answered its handshake
    engine_failed   {reason}         it did not start (the waiting jobs get ``failed`` too)

Order: the engine runs jobs first in, first out. A *priority* lane (the audition) submits at once; the
other lanes' render jobs are held here and fed to the engine a window at a time (a little more than
the backend renders at once, :func:`window_for`), so an audition asked for during a 2,000-line render
waits for at most that window, not for the whole render. On a backend that takes its queue in runs
(a process pool, fixed batches: not ``continuous``) a priority job also sends the window's render jobs
that have not started back here — cancelled in the engine, their ``cancelled`` events swallowed, held
again at the front in their order —, so the audition waits only for the lines already rendering. Transcribe jobs (take checks) run on the
engine's recogniser beside rendering and are not held. Cancelling through a lane cancels only that
lane's jobs; ``stop`` lets that lane's running jobs finish and drops the rest of its queue.

Settings: each ``submit`` names the backend and options its jobs need. When they differ from the
running engine's, the engine is replaced: every job it still had (any lane's) is ``cancelled`` and the
new jobs go to a fresh engine — the jobs were planned for settings that no longer hold.

Thread contract: a SharedEngine and its lanes are used from one thread (the GUI thread; the CLI's
own thread). The engine starts on a short-lived worker thread; ``poll`` (any lane's) or ``pump``
picks the result up. Chunk listeners are called on the client's reader thread (see
``EngineClient.set_chunk_listener``). Qt-free.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from typing import Any

import numpy as np

from engine.protocol import Job, RenderJob
from studio.render.engine_events import FINAL_EVENTS, JOB_EVENTS, LOG, ChunkListener, Event

# (backend, options) -> an unstarted client with the EngineClient API (start, submit, cancel, poll, …)
ClientFactory = Callable[[str, dict[str, Any]], Any]

STOPPED, STARTING, RUNNING = "stopped", "starting", "running"
MIN_WINDOW = 4
IDLE_STOP_S = 120.0  # with no project open and nothing to do, stop the engine after this long
ENGINE_EVENTS = frozenset({"engine_status", "load_progress", "error", "engine_gave_up"})


def settings_key(backend: str, options: Mapping[str, Any] | None) -> tuple[str, str]:
    """What decides which engine a job needs: the backend and its options."""
    return (backend or "piper", repr(sorted(dict(options or {}).items())))


def window_for(capabilities: Mapping[str, Any]) -> int:
    """How many held-back render jobs to keep in the engine: enough to keep it busy, few enough that a
    priority job queued behind them starts soon. A continuous backend pulls queued jobs into its
    running batch as lines finish, so ``batch_size`` + 2 keeps every place filled; a pool or a batch
    backend gets two runs' worth."""

    def number(name: str) -> int:
        try:
            return max(1, int(capabilities.get(name, 1) or 1))
        except (TypeError, ValueError):
            return 1

    batch, concurrency = number("batch_size"), number("concurrency")
    if capabilities.get("continuous"):
        return max(MIN_WINDOW, batch + 2)
    return max(MIN_WINDOW, 2 * max(batch, concurrency))


class EngineLane:
    """One consumer's share of the :class:`SharedEngine` (made by :meth:`SharedEngine.lane`)."""

    def __init__(self, engine: SharedEngine, name: str, priority: bool, keep_alive: bool) -> None:
        self.engine = engine
        self.name = name
        self.priority = priority
        self.keep_alive = keep_alive
        self.closed = False
        self.jobs: dict[str, Job] = {}  # its jobs without a final event, in submission order
        self.started: set[str] = set()
        self.chunk_listener: ChunkListener | None = None
        self._events: deque[Event] = deque()

    # ---- the EngineClient calls a consumer makes ---------------------------------------------
    def submit(
        self, jobs: Iterable[Job], backend: str = "piper", options: Mapping[str, Any] | None = None
    ) -> None:
        """Queue jobs for the engine of ``backend`` + ``options`` (starting or replacing it as needed)."""
        self.engine.submit(self, list(jobs), backend, options)

    def cancel(self, job_ids: Iterable[str] | None = None) -> None:
        """Cancel this lane's jobs (None or empty = all of them); other lanes' jobs are untouched."""
        ids = set(job_ids or ())
        self.engine.cancel(self, ids or set(self.jobs))

    def stop(self) -> None:
        """Let this lane's running jobs finish; drop the rest of its queue."""
        self.engine.cancel(self, set(self.jobs) - self.started)

    def poll(self, timeout: float | None = 0.0, limit: int | None = None) -> list[Event]:
        """This lane's events waiting now (at most ``limit``), after collecting the engine's; waits up to
        ``timeout`` s for a first one (0 = don't wait)."""
        self.engine.pump()
        deadline = time.monotonic() + (timeout or 0.0)
        while not self._events and timeout and time.monotonic() < deadline:
            time.sleep(0.01)
            self.engine.pump()
        out: list[Event] = []
        while self._events and (limit is None or len(out) < limit):
            out.append(self._events.popleft())
        return out

    def request_status(self) -> None:
        """Ask the engine for an ``engine_status`` event (every lane receives it)."""
        client = self.engine.client
        if client is not None:
            with contextlib.suppress(Exception):
                client.request_status()

    def set_chunk_listener(self, on_chunk: ChunkListener | None) -> None:
        """Partial audio of this lane's ``stream`` jobs: ``on_chunk(job_id, samples, rate)`` on the
        client's reader thread (see ``EngineClient.set_chunk_listener``)."""
        self.chunk_listener = on_chunk

    def close(self) -> None:
        """Cancel this lane's jobs and stop receiving events (the engine stays for the other lanes)."""
        if not self.closed:
            self.engine.close_lane(self)

    # ---- state -------------------------------------------------------------------------------
    @property
    def outstanding(self) -> tuple[str, ...]:
        return tuple(self.jobs)

    @property
    def waiting(self) -> int:
        """Events collected for this lane that ``poll`` has not handed out yet."""
        return len(self._events)

    @property
    def client(self) -> Any:
        return self.engine.client

    @property
    def hello(self) -> dict[str, Any]:
        client = self.engine.client
        hello = getattr(client, "hello", None) if client is not None else None
        return dict(hello) if isinstance(hello, dict) else {}

    @property
    def capabilities(self) -> dict[str, Any]:
        caps = self.hello.get("capabilities", {})
        return dict(caps) if isinstance(caps, dict) else {}

    def _deliver(self, event: Event) -> None:
        if not self.closed:
            self._events.append(event)


class SharedEngine:
    """Starts, replaces and stops the studio's one engine; see the module docstring."""

    def __init__(
        self,
        client_factory: ClientFactory,
        *,
        idle_stop_s: float = IDLE_STOP_S,
        window: int | None = None,
    ) -> None:
        self.client_factory = client_factory
        self.idle_stop_s = idle_stop_s
        self.window_override = window
        self.client: Any = None
        self.key: tuple[str, str] | None = None
        self.backend = ""
        self.options: dict[str, Any] = {}
        self.starts = 0  # engines started (a client's own restarts after a crash are not counted)
        self.last_error = ""
        self._lanes: list[EngineLane] = []
        self._owner: dict[str, EngineLane] = {}  # job id -> lane, for jobs in the engine
        self._pending: list[tuple[Job, EngineLane]] = []  # waiting for the engine to start
        self._held: deque[tuple[Job, EngineLane]] = deque()  # render jobs waiting for room in the window
        # held jobs taken back from the engine for a priority job, until the engine confirms (cancelled)
        self._returning: dict[str, EngineLane] = {}
        self._start: Future[tuple[Any, str]] | None = None
        self._stopping: list[threading.Thread] = []  # engines being shut down in the background
        self._idle_since = time.monotonic()
        self._closed = False

    # ---- lanes -------------------------------------------------------------------------------
    def lane(self, name: str, *, priority: bool = False, keep_alive: bool = False) -> EngineLane:
        """A new lane. ``priority`` jobs skip the held-back queue; a ``keep_alive`` lane (an open
        project's render queue) keeps the engine up while it is open, even when idle."""
        lane = EngineLane(self, name, priority, keep_alive)
        self._lanes.append(lane)
        return lane

    def close_lane(self, lane: EngineLane) -> None:
        self.cancel(lane, set(lane.jobs))
        for job_id in [j for j, owner in self._owner.items() if owner is lane]:
            del self._owner[job_id]  # its late events are dropped: they no longer keep the engine busy
        lane.jobs.clear()
        lane.closed = True
        lane.chunk_listener = None
        lane._events.clear()
        if lane in self._lanes:
            self._lanes.remove(lane)
        if lane.keep_alive and not self._keep_alive() and not self._has_work():
            self._retire()  # the project closed: free the model now

    # ---- state -------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        if self._start is not None:
            return STARTING
        return RUNNING if self.client is not None else STOPPED

    @property
    def held(self) -> int:
        """Render jobs waiting here for room in the engine's window."""
        return len(self._held)

    def window(self) -> int:
        if self.window_override is not None:
            return max(1, self.window_override)
        client = self.client
        caps = getattr(client, "capabilities", None) if client is not None else None
        return window_for(caps if isinstance(caps, Mapping) else {})

    def _keep_alive(self) -> bool:
        return any(lane.keep_alive for lane in self._lanes)

    def _has_work(self) -> bool:
        return bool(self._owner or self._pending or self._held)

    # ---- requests ----------------------------------------------------------------------------
    def submit(
        self, lane: EngineLane, jobs: list[Job], backend: str, options: Mapping[str, Any] | None
    ) -> None:
        if self._closed or lane.closed:
            for job in jobs:
                lane._deliver({"type": "cancelled", "job_id": job.job_id})
            return
        if not jobs:
            return
        key = settings_key(backend, options)
        if self.key is not None and self.key != key:
            LOG.info("engine settings changed (%s → %s): replacing the engine", self.key[0], key[0])
            self._retire()
        client = self.client
        if client is not None and not getattr(client, "running", True):
            self._retire()  # it gave up after repeated crashes: a fresh one
        for job in jobs:
            lane.jobs.pop(job.job_id, None)
            lane.jobs[job.job_id] = job
            lane.started.discard(job.job_id)
        self._idle_since = time.monotonic()
        if self.client is None:
            self._pending.extend((job, lane) for job in jobs)
            if self._start is None:
                self._begin_start(key, dict(options or {}))
            lane._deliver({"type": "engine_starting", "backend": key[0]})
            return
        self._dispatch([(job, lane) for job in jobs])

    def _dispatch(self, items: list[tuple[Job, EngineLane]]) -> None:
        """Hand jobs to the running engine: priority lanes' and transcribe jobs now, the rest held."""
        now = [(j, lane) for j, lane in items if lane.priority or not isinstance(j, RenderJob)]
        self._held.extend(
            (j, lane) for j, lane in items if not (lane.priority or not isinstance(j, RenderJob))
        )
        if now:
            if any(lane.priority and isinstance(j, RenderJob) for j, lane in now):
                self._take_back_queued()
            self._send(now)
        self._fill_window()

    def _take_back_queued(self) -> None:
        """Make way for a priority job: the held lanes' render jobs in the engine that have not started
        go back to the front of the held queue (not for a continuous backend: its running batch pulls
        the priority job in as soon as a place frees)."""
        client = self.client
        caps = getattr(client, "capabilities", None) if client is not None else None
        if client is None or not isinstance(caps, Mapping) or caps.get("continuous"):
            return
        back = [
            (job_id, lane)
            for job_id, lane in self._owner.items()
            if not lane.priority
            and job_id not in lane.started
            and isinstance(lane.jobs.get(job_id), RenderJob)
        ]
        if not back:
            return
        for job_id, lane in back:
            del self._owner[job_id]
            self._returning[job_id] = lane
        self._held.extendleft(reversed([(lane.jobs[job_id], lane) for job_id, lane in back]))
        with contextlib.suppress(Exception):
            client.cancel([job_id for job_id, _ in back])

    def _fill_window(self) -> None:
        if self.client is None or not self._held:
            return
        in_engine = sum(
            1
            for job_id, lane in self._owner.items()
            if not lane.priority and isinstance(lane.jobs.get(job_id), RenderJob)
        )
        room = self.window() - in_engine
        batch: list[tuple[Job, EngineLane]] = []
        while room > 0 and self._held and self._held[0][0].job_id not in self._returning:
            batch.append(self._held.popleft())  # in order: a job taken back waits for its confirmation
            room -= 1
        if batch:
            self._send(batch)

    def _send(self, items: list[tuple[Job, EngineLane]]) -> None:
        for job, lane in items:
            self._owner[job.job_id] = lane
        try:
            self.client.submit([job for job, _ in items])
        except Exception as exc:  # EngineNotRunning: it gave up meanwhile; start a fresh one
            LOG.warning("engine refused jobs (%s); starting a fresh one", exc)
            for job, _ in items:
                self._owner.pop(job.job_id, None)
            key, options = self.key, dict(self.options)
            self._retire(cancel=False)
            self._pending.extend(items)
            if self._start is None and key is not None:
                self._begin_start(key, options)

    def cancel(self, lane: EngineLane, job_ids: set[str]) -> None:
        """Cancel ``job_ids`` of ``lane`` only (the ones it does not own are ignored)."""
        targets = job_ids & set(lane.jobs)
        if not targets:
            return
        for queue_ in (self._pending, self._held):
            dropped = [job for job, owner in queue_ if owner is lane and job.job_id in targets]
            if dropped:
                kept = [
                    (job, owner) for job, owner in queue_ if not (owner is lane and job.job_id in targets)
                ]
                queue_.clear()
                queue_.extend(kept)
                for job in dropped:
                    self._final(lane, {"type": "cancelled", "job_id": job.job_id})
        in_engine = [job_id for job_id in targets if self._owner.get(job_id) is lane]
        if in_engine and self.client is not None:
            with contextlib.suppress(Exception):
                self.client.cancel(in_engine)  # explicit ids: an empty list would cancel everyone's

    # ---- events ------------------------------------------------------------------------------
    def pump(self) -> None:
        """Collect the engine's start and events and route them to the lanes; feed held jobs; stop an
        engine idle too long. Every lane's ``poll`` calls it."""
        start = self._start
        if start is not None and start.done():
            self._start = None
            self._on_started(*start.result())
        client = self.client
        if client is not None:
            for event in client.poll(0):
                self._route(event)
                if self.client is not client:
                    break
            self._fill_window()
        self.tick()

    def tick(self, now: float | None = None) -> None:
        """Stop the engine once it has had nothing to do for ``idle_stop_s`` and no project keeps it."""
        now = time.monotonic() if now is None else now
        if self._has_work() or self._keep_alive() or self._start is not None:
            self._idle_since = now
        elif self.client is not None and now - self._idle_since > self.idle_stop_s:
            LOG.info("stopping the idle %s engine", self.backend)
            self._retire()

    def _route(self, event: Event) -> None:
        kind = event.get("type")
        if kind in JOB_EVENTS:
            job_id = str(event.get("job_id", ""))
            if job_id in self._returning:
                self._came_back(job_id, event)
                return
            lane = self._owner.get(job_id)
            if lane is None:
                return  # a late event of a job already final (or of a closed lane)
            if kind in FINAL_EVENTS:
                self._owner.pop(job_id, None)
                self._final(lane, event)
                return
            if kind == "started":
                lane.started.add(job_id)
            lane._deliver(event)
            return
        if kind == "accepted":
            by_lane: dict[int, list[str]] = {}
            for job_id in event.get("job_ids", []) or []:
                lane = self._owner.get(str(job_id))
                if lane is not None:
                    by_lane.setdefault(id(lane), []).append(str(job_id))
            for lane in self._lanes:
                if id(lane) in by_lane:
                    lane._deliver({**event, "job_ids": by_lane[id(lane)]})
            return
        if kind == "engine_restarted":
            resubmitted = [str(j) for j in event.get("resubmitted", []) or []]
            for lane in self._lanes:
                mine = [j for j in resubmitted if self._owner.get(j) is lane]
                lane.started.difference_update(mine)
                lane._deliver({**event, "resubmitted": mine})
            return
        for lane in self._lanes:
            lane._deliver(dict(event))
        if kind == "engine_gave_up":
            reason = str(event.get("reason", "")) or "the engine kept failing"
            self.last_error = reason
            self._retire(cancel=False, reason=reason)

    def _came_back(self, job_id: str, event: Event) -> None:
        """An event of a job taken back for a priority job: ``cancelled`` confirms it (it is sent again
        in its turn); a job that finished or failed before the cancel reached it is done after all."""
        kind = event.get("type")
        if kind not in FINAL_EVENTS:
            return  # it had just started: the cancel aborts it
        lane = self._returning.pop(job_id)
        if kind == "cancelled":
            return
        kept = [(job, owner) for job, owner in self._held if job.job_id != job_id]
        self._held.clear()
        self._held.extend(kept)
        if job_id in lane.jobs:  # not cancelled by its lane meanwhile
            self._final(lane, event)

    @staticmethod
    def _final(lane: EngineLane, event: Event) -> None:
        job_id = str(event.get("job_id", ""))
        lane.jobs.pop(job_id, None)
        lane.started.discard(job_id)
        lane._deliver(event)

    def _on_chunk(self, job_id: str, samples: np.ndarray, sample_rate: int) -> None:
        """Client reader thread: hand a chunk to the lane that owns the job (no lock: dict reads)."""
        lane = self._owner.get(job_id)
        listener = lane.chunk_listener if lane is not None and not lane.closed else None
        if listener is not None:
            listener(job_id, samples, sample_rate)

    # ---- the engine's lifecycle --------------------------------------------------------------
    def _begin_start(self, key: tuple[str, str], options: dict[str, Any]) -> None:
        self.key = key
        self.backend = key[0]
        self.options = dict(options)
        self.starts += 1
        future: Future[tuple[Any, str]] = Future()
        self._start = future
        threading.Thread(
            target=_start_client,
            args=(self.client_factory, key[0], options, future),
            name="chorus-engine-start",
            daemon=True,
        ).start()

    def _on_started(self, client: Any, error: str) -> None:
        pending, self._pending = self._pending, []
        if self._closed:
            if client is not None:
                self._stop_later(client)
            return
        if client is None:
            self.key = None
            reason = f"The render engine did not start: {error}"
            self.last_error = reason
            lanes = {id(lane): lane for _, lane in pending}
            for job, lane in pending:
                self._final(lane, {"type": "failed", "job_id": job.job_id, "reason": reason})
            for lane in self._lanes:
                if id(lane) in lanes or lane.keep_alive:
                    lane._deliver({"type": "engine_failed", "reason": reason})
            return
        self.client = client
        self.last_error = ""
        if hasattr(client, "set_chunk_listener"):
            client.set_chunk_listener(self._on_chunk)
        hello = getattr(client, "hello", {}) or {}
        started = {"type": "engine_started", "backend": str(hello.get("backend", self.backend))}
        for lane in self._lanes:
            lane._deliver(dict(started))
        pending.sort(key=lambda item: not item[1].priority)  # auditions first
        if pending:
            self._dispatch(pending)

    def _retire(self, *, cancel: bool = True, reason: str = "") -> None:
        """Stop using the current engine: apply what it already reported, end what it still had
        (``cancelled``, or ``failed`` with ``reason``), and shut it down in the background."""
        client, self.client = self.client, None
        start, self._start = self._start, None
        self.key = None
        if client is not None:
            with contextlib.suppress(Exception):
                for event in client.poll(0):
                    self._route(event)
        if cancel or reason:
            leftovers = [(job_id, lane) for job_id, lane in self._owner.items()]
            leftovers += [(job.job_id, lane) for job, lane in (*self._pending, *self._held)]
            self._owner.clear()
            self._returning.clear()
            self._pending.clear()
            self._held.clear()
            for job_id, lane in leftovers:
                final = {"type": "failed", "job_id": job_id, "reason": reason} if reason else None
                self._final(lane, final or {"type": "cancelled", "job_id": job_id})
        else:
            self._owner.clear()
            self._returning.clear()  # a new engine has none of them: they go again from the held queue
        if client is not None:
            self._stop_later(client)
        if start is not None:
            start.add_done_callback(_shutdown_started)

    def shutdown(self, wait: bool = True, timeout: float = 5.0) -> None:
        """Stop the engine and end every lane's jobs (``cancelled``). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        client, self.client = self.client, None
        start, self._start = self._start, None
        for job_id, lane in list(self._owner.items()):
            self._final(lane, {"type": "cancelled", "job_id": job_id})
        for job, lane in (*self._pending, *self._held):
            self._final(lane, {"type": "cancelled", "job_id": job.job_id})
        self._owner.clear()
        self._returning.clear()
        self._pending.clear()
        self._held.clear()
        if start is not None:
            start.add_done_callback(_shutdown_started)
        if client is not None:
            if wait:
                _shutdown_quietly(client, timeout)
            else:
                self._stop_later(client)
        if wait:  # engines retired earlier (other settings, idle, the project closed) exit first
            deadline = time.monotonic() + timeout
            for thread in self._stopping:
                thread.join(max(0.0, deadline - time.monotonic()))
        self._stopping = [t for t in self._stopping if t.is_alive()]

    def _stop_later(self, client: Any) -> None:
        """Shut ``client`` down on a thread (it waits for the process); ``shutdown`` joins it."""
        thread = threading.Thread(
            target=_shutdown_quietly, args=(client,), name="chorus-engine-stop", daemon=True
        )
        self._stopping = [t for t in self._stopping if t.is_alive()]
        self._stopping.append(thread)
        thread.start()


def _start_client(
    factory: ClientFactory, backend: str, options: dict[str, Any], result: Future[tuple[Any, str]]
) -> None:
    """Worker thread: build and start a client (waits for its handshake); ``pump`` picks ``result`` up."""
    client = None
    try:
        client = factory(backend, options)
        client.start()
        error = ""
    except Exception as exc:
        error = str(exc) or type(exc).__name__
        if client is not None:
            _shutdown_quietly(client, 2.0)
        client = None
    result.set_result((client, error))


def _shutdown_quietly(client: Any, timeout: float = 10.0) -> None:
    with contextlib.suppress(Exception):
        client.shutdown(timeout=timeout)


def _shutdown_started(future: Future[tuple[Any, str]]) -> None:
    client, _error = future.result()
    if client is not None:
        _shutdown_quietly(client, 2.0)
