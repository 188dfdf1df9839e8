"""One queue and one worker thread between render requests and a backend, for both engine front ends.

:class:`JobRunner` is shared by :mod:`engine.host` (the studio's engine, JSON lines on stdin/stdout) and
:mod:`engine.serve` (``chorus engine serve``, HTTP). It loads the backend once, then hands it queued
:class:`~engine.protocol.RenderJob` s as its :class:`~engine.backends.base.Capabilities` ask:

* ``continuous``: a first run of up to ``batch_size`` jobs, then whatever the backend pulls through
  ``render_stream``'s ``more`` while it runs (jobs submitted meanwhile join the running batch);
* ``concurrency`` > 1: runs of up to ``max_run`` queued jobs in order, whatever their ``group``;
* else jobs sharing a non-empty ``group`` together (up to ``batch_size``), else one at a time.

Always first in, first out — with one exception, scene continuity: a job whose ``context`` turns name
the ``out_path`` of a job submitted before it that has not finished yet (queued or running) waits until
that job has been delivered (its take is on disk), and later independent jobs go ahead of it. That is
how ``studio.render.takes.plan_renders`` chains a scene's lines: each line's context holds the take
paths its previous lines will be written to. A dependency only points backwards (to an earlier
submission), so waiting can never deadlock; a dependency that failed or was cancelled releases its
dependants too (the backend then meets a missing context file and fails or skips that turn).

Every accepted job gets exactly one :meth:`RunnerListener.done` (a result, an error or cancelled); no
exception escapes the worker: a failure fails its job(s) only.

Thread contract: ``submit``, ``cancel``, ``stop``, ``shutdown`` and the read-only properties may be
called from any thread. The backend is touched by the worker thread alone (``load``, ``check``,
``render_stream``; its ``more``/``progress``/``cancelled``/``chunk`` callbacks come back on it). The
listener is called on the worker thread, except ``done`` for queued jobs that ``cancel``/``stop``/
``shutdown``/``submit`` drop, which runs on the caller's thread; it is never called with the runner's
lock held, so it may call back into the runner.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable

import numpy as np

from engine.backends.base import Backend, BackendError, Capabilities, JobOutcome
from engine.protocol import RenderJob

PROGRESS_INTERVAL_S = 0.25
MAX_RUN = 256
LOADING, READY, FAILED, STOPPING = "loading", "ready", "failed", "stopping"


class QueueFull(RuntimeError):
    """``submit`` would queue more than the runner's ``max_queue`` jobs."""


class RunnerListener:
    """What a :class:`JobRunner` reports; override what you need (the defaults do nothing)."""

    def loading(self, fraction: float, detail: str) -> None:
        """The backend's load progress."""

    def loaded(self, error: str) -> None:
        """The backend finished loading ("" = ready; else why it could not start). Called once."""

    def started(self, job: RenderJob) -> None:
        """The backend began ``job``."""

    def progress(self, job: RenderJob, fraction: float) -> None:
        """``job`` is ``fraction`` done (throttled to one call per ``progress_interval_s``; never 1.0)."""

    def chunk(self, job: RenderJob, seq: int, samples: np.ndarray, sample_rate: int) -> None:
        """New partial audio of a running ``stream`` job (``seq`` counts its chunks from 0)."""

    def rejected(self, job: RenderJob, reason: str) -> None:
        """The backend cannot honour ``job`` as asked (only with ``check_jobs``); ends the job."""
        self.done(job, JobOutcome(job.job_id, error=reason))

    def done(self, job: RenderJob, outcome: JobOutcome) -> None:
        """``job``'s one final outcome. Jobs that wait on ``job`` are handed out only after this returns."""

    def idle(self) -> None:
        """A run ended and nothing is queued."""


class JobRunner:
    """Queue, dependency order, batching, cancel, progress and delivery around one backend.

    ``check_jobs``: ask ``backend.check`` before handing a job out (a refusal goes to
    ``listener.rejected``); without it the backend checks inside ``render_stream`` as usual.
    ``max_queue``: ``submit`` raises :class:`QueueFull` beyond that many queued jobs (None = no limit).
    """

    def __init__(
        self,
        backend: Backend,
        listener: RunnerListener,
        *,
        max_run: int = MAX_RUN,
        progress_interval_s: float = PROGRESS_INTERVAL_S,
        check_jobs: bool = False,
        max_queue: int | None = None,
        name: str = "engine-worker",
    ) -> None:
        self.backend = backend
        self.listener = listener
        self.state = LOADING
        self.load_error = ""
        self._max_run = max(1, max_run)
        self._progress_interval = progress_interval_s
        self._check_jobs = check_jobs
        self._max_queue = max_queue
        self._lock = threading.Condition()  # guards everything below
        self._queue: deque[RenderJob] = deque()
        self._seq: dict[str, int] = {}  # submission order of queued and handed jobs
        self._next_seq = 0
        self._producers: dict[str, set[str]] = {}  # out_path -> ids of pending jobs writing it
        self._handed: dict[str, RenderJob] = {}  # given to the backend, not yet delivered
        self._started: set[str] = set()
        self._cancel: set[str] = set()
        self._last_progress: dict[str, float] = {}
        self._chunks: dict[str, int] = {}
        self._shutdown = False
        self._caps = Capabilities()
        self._loaded = threading.Event()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)

    # ------------------------------------------------------------------------------ any thread

    def start(self) -> None:
        """Start the worker: it loads the backend, then runs what is queued."""
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.ident is not None:
            self._thread.join(timeout)

    def wait_loaded(self, timeout: float | None = None) -> bool:
        """Block until the backend loaded or failed (True), or ``timeout`` passed (False)."""
        return self._loaded.wait(timeout)

    @property
    def queued(self) -> int:
        """Jobs waiting: queued, or handed to the backend but not started."""
        with self._lock:
            return len(self._queue) + sum(1 for j in self._handed if j not in self._started)

    @property
    def running(self) -> list[str]:
        """Ids of the jobs the backend is working on."""
        with self._lock:
            return sorted(self._started)

    def known(self) -> set[str]:
        """Ids of the jobs queued or running (a new job may not reuse one)."""
        with self._lock:
            return {j.job_id for j in self._queue} | set(self._handed)

    def submit(
        self,
        jobs: Iterable[RenderJob],
        *,
        taken: Collection[str] = (),
        announce: Callable[[list[RenderJob]], None] | None = None,
    ) -> list[RenderJob]:
        """Queue ``jobs``; returns the duplicates left out (an id already queued, running or ``taken``).

        ``announce(accepted)`` runs before the worker can see them (e.g. the host's ``accepted`` event,
        which must precede ``started``). After ``shutdown`` the jobs end at once as cancelled.
        Raises :class:`QueueFull` (queuing nothing) when ``max_queue`` would be exceeded.
        """
        fresh: list[RenderJob] = []
        duplicates: list[RenderJob] = []
        dropped: list[RenderJob] = []
        with self._lock:
            seen = {j.job_id for j in self._queue} | set(self._handed) | set(taken)
            for job in jobs:
                if job.job_id in seen:
                    duplicates.append(job)
                    continue
                seen.add(job.job_id)
                fresh.append(job)
            if self._max_queue is not None and len(self._queue) + len(fresh) > self._max_queue:
                raise QueueFull(f"the queue holds {len(self._queue)} jobs already")
            if self._shutdown:
                dropped = fresh
            else:
                for job in fresh:
                    self._cancel.discard(job.job_id)
                    self._seq[job.job_id] = self._next_seq
                    self._next_seq += 1
                    if job.out_path:
                        self._producers.setdefault(job.out_path, set()).add(job.job_id)
                    self._queue.append(job)
                if announce is not None:
                    announce(fresh)
                self._lock.notify_all()
        for job in dropped:
            self.listener.done(job, JobOutcome(job.job_id, cancelled=True))
        return duplicates

    def cancel(self, ids: Collection[str] | None = None) -> None:
        """Cancel these jobs (None = all): queued ones end at once, running ones at their next check."""
        with self._lock:
            dropped = self._drop_queued(lambda job: ids is None or job.job_id in ids)
            self._cancel.update(j for j in self._handed if ids is None or j in ids)
        self._end_dropped(dropped)

    def stop(self) -> None:
        """Let the running job(s) finish; drop everything not started."""
        with self._lock:
            dropped = self._drop_queued(lambda job: True)
            self._cancel.update(j for j in self._handed if j not in self._started)
        self._end_dropped(dropped)

    def shutdown(self) -> None:
        """Drop the queue, cancel what runs and let the worker end after its current run."""
        with self._lock:
            if self._shutdown:
                return
            self._shutdown = True
            if self.state != FAILED:
                self.state = STOPPING
            dropped = self._drop_queued(lambda job: True)
            self._cancel.update(self._handed)
            self._lock.notify_all()
        self._end_dropped(dropped)

    def is_cancelled(self, job_id: str) -> bool:
        with self._lock:
            return self._shutdown or job_id in self._cancel

    # ------------------------------------------------------------------------------ worker

    def _work(self) -> None:
        self._load()
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self._run(batch)
            except Exception as exc:  # belt and braces: the loop must survive anything
                self._fail_left(f"the engine failed on this line: {type(exc).__name__}: {exc}")
            with self._lock:
                idle = not self._queue and not self._shutdown
            if idle:
                self.listener.idle()

    def _load(self) -> None:
        error = ""
        try:
            self.backend.load(self.listener.loading)
        except BackendError as exc:
            error = str(exc)
        except Exception as exc:  # a load bug is reported, not raised into the void
            error = f"{type(exc).__name__}: {exc}"
        try:
            self._caps = self.backend.capabilities()
        except Exception as exc:
            error = error or f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.load_error = error
            if self.state == LOADING:
                self.state = FAILED if error else READY
        self._loaded.set()
        self.listener.loaded(error)

    def _next_batch(self) -> list[RenderJob] | None:
        caps = self._caps
        with self._lock:
            while True:
                if self._shutdown:
                    return None
                if self._queue:
                    if caps.continuous:
                        batch = self._pick(max(1, caps.batch_size))
                    elif caps.concurrency > 1:
                        batch = self._pick(self._max_run)
                    else:
                        batch = self._pick(1)
                        if batch and batch[0].group and caps.batch_size > 1:
                            batch += self._pick(caps.batch_size - 1, group=batch[0].group)
                    if batch:
                        return batch
                self._lock.wait(0.5)  # nothing runnable (cannot last: nothing is handed between runs)

    def _pick(self, count: int, group: str | None = None) -> list[RenderJob]:
        """Take up to ``count`` runnable queued jobs in order (of ``group`` if given); lock held."""
        picked: list[RenderJob] = []
        for job in self._queue:
            if len(picked) >= count:
                break
            if (group is None or job.group == group) and not self._waits(job):
                picked.append(job)
        if picked:
            taken = {j.job_id for j in picked}
            self._queue = deque(j for j in self._queue if j.job_id not in taken)
            for job in picked:
                self._handed[job.job_id] = job
        return picked

    def _waits(self, job: RenderJob) -> bool:
        """Whether a context turn of ``job`` is the take of an earlier job not yet delivered; lock held."""
        mine = self._seq.get(job.job_id, -1)
        for turn in job.context:
            for other in self._producers.get(turn.audio, ()):
                if other != job.job_id and self._seq.get(other, mine) < mine:
                    return True
        return False

    def _run(self, batch: list[RenderJob]) -> None:
        if self.load_error:
            for job in batch:
                self._finish(
                    job,
                    JobOutcome(
                        job.job_id,
                        error=f"the {self.backend.name} backend could not start: {self.load_error}",
                    ),
                )
            return
        jobs = self._checked(batch)
        if not jobs:
            return
        if self._caps.concurrency <= 1:
            for job in jobs:
                self._mark_started(job.job_id)
        failure = ""
        try:
            stream = self.backend.render_stream(
                jobs,
                self._on_progress,
                self.is_cancelled,
                more=self._more if self._caps.continuous else None,
                chunk=self._on_chunk if self._caps.streaming else None,
            )
            for outcome in stream:
                with self._lock:
                    target = self._handed.get(outcome.job_id)
                if target is not None:  # an unknown id or a second outcome is ignored
                    self._finish(target, outcome)
        except BackendError as exc:
            failure = str(exc)
        except Exception as exc:
            failure = f"the {self.backend.name} backend failed: {type(exc).__name__}: {exc}"
        self._fail_left(failure or "the backend returned nothing for this line")

    def _checked(self, jobs: list[RenderJob]) -> list[RenderJob]:
        """``jobs`` the backend accepts (with ``check_jobs``); the others are rejected and delivered."""
        if not self._check_jobs:
            return jobs
        kept = []
        for job in jobs:
            try:
                reason = self.backend.check(job)
            except Exception as exc:
                reason = f"the {self.backend.name} backend could not check this line: {exc}"
            if reason:
                self._finish(job, None, rejected=reason)
            else:
                kept.append(job)
        return kept

    def _more(self, free: int) -> list[RenderJob]:
        """``render_stream``'s job source for continuous backends (worker thread; never blocks)."""
        if free <= 0:
            return []
        with self._lock:
            if self._shutdown:
                return []
            picked = self._pick(free)
        jobs = self._checked(picked)
        if self._caps.concurrency <= 1:
            for job in jobs:
                self._mark_started(job.job_id)
        return jobs

    def _fail_left(self, reason: str) -> None:
        """Deliver every handed job that got no outcome: cancelled if asked, else failed."""
        with self._lock:
            left = list(self._handed.values())
        for job in left:
            self._finish(job, JobOutcome(job.job_id, error=reason))

    def _finish(self, job: RenderJob, outcome: JobOutcome | None, rejected: str = "") -> None:
        """Tell the listener, then forget the job (its dependants may go from now on)."""
        if outcome is not None and (outcome.cancelled or self.is_cancelled(job.job_id)):
            outcome = JobOutcome(job.job_id, cancelled=True)
        try:
            if outcome is None:
                self.listener.rejected(job, rejected)
            else:
                self.listener.done(job, outcome)
        finally:
            with self._lock:
                self._forget(job)
                self._lock.notify_all()

    def _forget(self, job: RenderJob) -> None:
        """Drop every trace of a delivered job; lock held."""
        job_id = job.job_id
        self._handed.pop(job_id, None)
        self._started.discard(job_id)
        self._cancel.discard(job_id)
        self._last_progress.pop(job_id, None)
        self._chunks.pop(job_id, None)
        self._seq.pop(job_id, None)
        writers = self._producers.get(job.out_path)
        if writers is not None:
            writers.discard(job_id)
            if not writers:
                del self._producers[job.out_path]

    def _drop_queued(self, which: Callable[[RenderJob], bool]) -> list[RenderJob]:
        """Remove the queued jobs ``which`` selects (lock held); they are ended by ``_end_dropped``."""
        dropped = [j for j in self._queue if which(j)]
        if dropped:
            gone = {j.job_id for j in dropped}
            self._queue = deque(j for j in self._queue if j.job_id not in gone)
        return dropped

    def _end_dropped(self, dropped: list[RenderJob]) -> None:
        for job in dropped:
            try:
                self.listener.done(job, JobOutcome(job.job_id, cancelled=True))
            finally:
                with self._lock:
                    self._forget(job)
                    self._lock.notify_all()

    def _mark_started(self, job_id: str) -> None:
        with self._lock:
            job = self._handed.get(job_id)
            if job is None or job_id in self._started:
                return
            self._started.add(job_id)
            self._last_progress[job_id] = time.monotonic()
        self.listener.started(job)

    def _on_progress(self, job_id: str, fraction: float) -> None:
        """Backend progress (worker thread): the first call means started, then throttled progress."""
        with self._lock:
            started = job_id in self._started
        if not started:
            self._mark_started(job_id)
            if fraction <= 0.0:
                return
        now = time.monotonic()
        with self._lock:
            job = self._handed.get(job_id)
            last = self._last_progress.get(job_id, 0.0)
            if job is None or now - last < self._progress_interval or fraction >= 1.0:
                return
            self._last_progress[job_id] = now
        self.listener.progress(job, round(min(max(float(fraction), 0.0), 1.0), 3))

    def _on_chunk(self, job_id: str, samples: np.ndarray, sample_rate: int) -> None:
        """Backend partial audio (worker thread): passed on for running ``stream`` jobs only."""
        with self._lock:
            job = self._handed.get(job_id)
            if job is None or not job.stream or self._shutdown or job_id in self._cancel:
                return
        self._mark_started(job_id)
        audio = np.asarray(samples, dtype=np.float32).reshape(-1)
        if audio.size == 0 or sample_rate <= 0 or not np.all(np.isfinite(audio)):
            return
        with self._lock:
            seq = self._chunks.get(job_id, 0)
            self._chunks[job_id] = seq + 1
        self.listener.chunk(job, seq, audio, int(sample_rate))
