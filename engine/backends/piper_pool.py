"""A pool of Piper worker processes, each holding its own synthesiser (one process per core).

Jobs are dispatched one per idle worker; a worker that dies is replaced, and its job fails with a
reason. Cancellation of a running job goes through a shared flag checked between sentences.

Thread contract: a :class:`WorkerPool` is used from one thread (the host's worker thread).
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from engine.backends.base import BackendError, Cancelled, CancelledFn, JobOutcome, ProgressFn, RenderResult
from engine.backends.piper_synth import Synthesizer, SynthSettings
from engine.protocol import RenderJob

WORKER_READY_TIMEOUT_S = 120.0
_POLL_S = 0.05


def _worker_main(conn: Any, cancel_flag: Any, settings: SynthSettings) -> None:
    """Pool worker entry point (runs in a spawned process).

    Protocol over ``conn``: receives ("job", job_id, text, model, variant, variant_style) or ("quit",); sends
    ("ready", sample_rate) | ("load_error", reason) once, then per job ("progress", id, fraction)*
    followed by one of ("done", id, audio, sample_rate, note) | ("error", id, reason) | ("cancelled", id).
    ``cancel_flag`` (shared int) is set by the parent to abort the running job between sentences.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        synth = Synthesizer(settings)
        sample_rate = int(synth.voice("").config.sample_rate)
    except BackendError as exc:
        _send(conn, ("load_error", str(exc)))
        return
    except Exception as exc:
        _send(conn, ("load_error", f"{type(exc).__name__}: {exc}"))
        return
    if not _send(conn, ("ready", sample_rate)):
        return
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the engine is gone
        if message[0] != "job":
            return
        _, job_id, text, model, variant, style = message

        def report(fraction: float, job_id: str = job_id) -> None:
            _send(conn, ("progress", job_id, fraction))

        try:
            audio, rate, note = synth.render(
                text, model, variant, report, lambda: bool(cancel_flag.value), style
            )
            reply: tuple[Any, ...] = ("done", job_id, audio, rate, note)
        except Cancelled:
            reply = ("cancelled", job_id)
        except BackendError as exc:
            reply = ("error", job_id, str(exc))
        except Exception as exc:  # a bug fails the line, not the worker
            reply = ("error", job_id, f"{type(exc).__name__}: {exc}")
        if not _send(conn, reply):
            return


def _send(conn: Any, message: tuple[Any, ...]) -> bool:
    try:
        conn.send(message)
    except (BrokenPipeError, EOFError, OSError):
        return False
    return True


class _Worker:
    def __init__(self, process: Any, conn: Any, flag: Any) -> None:
        self.process = process
        self.conn = conn
        self.flag = flag
        self.job: RenderJob | None = None
        self.sample_rate = 0


class WorkerPool:
    """Processes that each hold a synthesiser; jobs are dispatched one per idle worker.

    Thread contract: used from one thread (the host's worker thread).
    """

    def __init__(self, settings: SynthSettings, size: int) -> None:
        self.settings = settings
        self.size = max(1, int(size))
        self._workers: list[_Worker] = []
        import multiprocessing

        self._context = multiprocessing.get_context("spawn")

    def start(self, progress: Callable[[float, str], None] | None = None) -> int:
        """Start the workers and wait until each has loaded the default voice; returns its sample rate."""
        starting = [self._spawn() for _ in range(self.size)]
        sample_rate = 0
        try:
            for index, worker in enumerate(starting):
                sample_rate = self._await_ready(worker)
                self._workers.append(worker)
                if progress is not None:
                    progress((index + 1) / len(starting), f"Piper worker {index + 1}/{len(starting)} ready")
        except BaseException:
            for worker in starting:
                self._stop(worker)
            self._workers.clear()
            raise
        return sample_rate

    def _spawn(self) -> _Worker:
        parent_conn, child_conn = self._context.Pipe(duplex=True)
        flag = self._context.RawValue("i", 0)
        process = self._context.Process(
            target=_worker_main,
            args=(child_conn, flag, self.settings),
            name="chorus-piper-worker",
            daemon=True,
        )
        process.start()
        child_conn.close()  # so the worker's death reads as EOF here
        return _Worker(process, parent_conn, flag)

    def _await_ready(self, worker: _Worker) -> int:
        deadline = time.monotonic() + WORKER_READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if worker.conn.poll(0.1):
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    break
                if message[0] == "ready":
                    worker.sample_rate = int(message[1])
                    return worker.sample_rate
                raise BackendError(str(message[1]))
            if not worker.process.is_alive() and not worker.conn.poll(0):
                break
        code = worker.process.exitcode
        self._stop(worker)
        raise BackendError(
            f"a Piper worker process did not start (exit code {code}); check the engine log, "
            "or set the Piper option workers to 0"
        )

    def _stop(self, worker: _Worker, timeout: float = 2.0) -> None:
        with contextlib.suppress(OSError, ValueError):
            worker.conn.send(("quit",))
        worker.process.join(timeout)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(timeout)
        with contextlib.suppress(OSError):
            worker.conn.close()

    def _replace(self, dead: _Worker) -> None:
        self._stop(dead, timeout=0.5)
        self._workers.remove(dead)
        with contextlib.suppress(BackendError):
            worker = self._spawn()
            self._await_ready(worker)
            self._workers.append(worker)

    def run(
        self,
        jobs: Sequence[RenderJob],
        check: Callable[[RenderJob], str],
        progress: ProgressFn,
        cancelled: CancelledFn,
    ) -> Iterator[JobOutcome]:
        """Render ``jobs`` on the pool, yielding outcomes as they finish (not in order).

        A job starts (``progress(id, 0.0)``) only when a worker is free; a pending job that is cancelled
        is yielded as cancelled at once; a running one is aborted between sentences.
        """
        pending: deque[RenderJob] = deque(jobs)
        try:
            while pending or any(w.job is not None for w in self._workers):
                if not self._workers:
                    for job in pending:
                        yield JobOutcome(
                            job.job_id, error="the Piper worker processes keep failing; see the engine log"
                        )
                    pending.clear()
                    break
                if any(cancelled(job.job_id) for job in pending):
                    for job in [j for j in pending if cancelled(j.job_id)]:
                        pending.remove(job)
                        yield JobOutcome(job.job_id, cancelled=True)
                for worker in list(self._workers):  # a dead idle worker is replaced below
                    while worker.job is None and pending:
                        job = pending.popleft()
                        reason = check(job)
                        if reason:
                            yield JobOutcome(job.job_id, error=reason)
                            continue
                        worker.flag.value = 0
                        try:
                            worker.conn.send(
                                (
                                    "job",
                                    job.job_id,
                                    job.text,
                                    job.voice.piper_model,
                                    job.voice.variant,
                                    job.voice.variant_style,
                                )
                            )
                        except (OSError, ValueError):  # it died while idle: replace it, retry the job
                            pending.appendleft(job)
                            self._replace(worker)
                            break
                        worker.job = job
                        progress(job.job_id, 0.0)
                busy = [w for w in self._workers if w.job is not None]
                if not busy:
                    continue
                for worker in busy:
                    if worker.job is not None and cancelled(worker.job.job_id):
                        worker.flag.value = 1
                import multiprocessing.connection

                ready = multiprocessing.connection.wait([w.conn for w in busy], timeout=_POLL_S)
                for worker in busy:
                    if worker.conn not in ready:
                        continue
                    outcome = self._receive(worker, progress)
                    if outcome is not None:
                        yield outcome
        finally:
            self._abandon_running()

    def _receive(self, worker: _Worker, progress: ProgressFn) -> JobOutcome | None:
        job = worker.job
        assert job is not None
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            code = worker.process.exitcode
            worker.job = None
            self._replace(worker)
            return JobOutcome(
                job.job_id,
                error=f"the Piper worker process stopped while rendering this line (exit code {code}); try again",
            )
        kind = message[0]
        if message[1] != job.job_id:
            return None  # a late message from an abandoned job
        if kind == "progress":
            progress(job.job_id, float(message[2]))
            return None
        worker.job = None
        if kind == "done":
            return JobOutcome(
                job.job_id,
                result=RenderResult(audio=message[2], sample_rate=int(message[3]), note=message[4]),
            )
        if kind == "cancelled":
            return JobOutcome(job.job_id, cancelled=True)
        return JobOutcome(job.job_id, error=str(message[2]))

    def _abandon_running(self) -> None:
        """Abort jobs still running (the caller stopped iterating) and wait for their workers to be idle."""
        for worker in list(self._workers):
            if worker.job is None:
                continue
            worker.flag.value = 1
            job_id = worker.job.job_id
            deadline = time.monotonic() + 10.0
            while time.monotonic() < deadline:
                if not worker.conn.poll(0.1):
                    continue
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    break
                if message[0] != "progress" and message[1] == job_id:
                    worker.job = None
                    break
            if worker.job is not None:
                worker.job = None
                self._replace(worker)

    def close(self) -> None:
        for worker in self._workers:
            with contextlib.suppress(OSError, ValueError):
                worker.conn.send(("quit",))
        for worker in self._workers:
            self._stop(worker, timeout=2.0)
        self._workers.clear()
