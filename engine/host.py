"""The engine's main loop: requests in, one backend, takes out (see ``engine.protocol``).

Threads:
  * the *reader* (the thread that calls :meth:`EngineHost.serve`) reads requests from stdin, answers
    ``ping``/``status`` at once — so a busy engine is never mistaken for a hung one — queues jobs and
    records cancel/stop/shutdown;
  * one *worker* thread (:class:`engine.runner.JobRunner`, shared with ``chorus engine serve``) loads
    the backend once and renders the queue: batching by the backend's capabilities (continuous
    batching, concurrent runs, groups), scene-continuity jobs after the lines they carry as context.
    Each outcome becomes a take file (written atomically by :mod:`engine.takefile`) and a
    ``finished`` event, or a ``failed``/``cancelled`` event; partial audio of ``stream`` jobs becomes
    ``chunk`` events. No exception escapes the loop: a failure fails its job(s) only.

  * the *transcribe* thread (:class:`engine.asr.worker.TranscribeWorker`) runs ``TranscribeJob`` s on the
    speech recogniser, loaded on the first such job, beside rendering.

Events are written by :meth:`EngineHost.send` under one lock, so any thread may send.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from engine.asr.recognizer import Recognizer
from engine.asr.worker import TranscribeWorker
from engine.backends.base import Backend, JobOutcome
from engine.protocol import (
    PROTOCOL_VERSION,
    ProtocolError,
    RenderJob,
    TranscribeJob,
    decode,
    encode,
    pcm16_encode,
)
from engine.runner import MAX_RUN, PROGRESS_INTERVAL_S, JobRunner, RunnerListener
from engine.takefile import CODES_SUFFIX, SUBTYPES, TakeWriteError, write_array, write_take

SHUTDOWN_GRACE_S = 10.0


class EngineHost:
    """Serves one backend over a request stream and an event stream (both binary, JSON lines).

    ``hang_after_finished`` is a test hook: after that many ``finished`` events the host stops
    reading and rendering, like a hung process (the client must detect it and restart).
    """

    def __init__(
        self,
        backend: Backend,
        events: BinaryIO,
        *,
        take_subtype: str = "FLOAT",
        progress_interval_s: float = PROGRESS_INTERVAL_S,
        max_run: int = MAX_RUN,
        protocol_version: int = PROTOCOL_VERSION,
        hang_after_finished: int | None = None,
        recognizer: Recognizer | None = None,
    ) -> None:
        if take_subtype not in SUBTYPES:
            raise ValueError(f"take_subtype must be one of {SUBTYPES}")
        self.backend = backend
        self._events = events
        self._take_subtype = take_subtype
        self._protocol_version = protocol_version
        self._hang_after = hang_after_finished
        self._write_lock = threading.Lock()
        self._shutdown = threading.Event()
        self._finished_count = 0
        self._hung = threading.Event()
        self._broken_pipe = False
        self._runner = JobRunner(
            backend, _HostEvents(self), max_run=max_run, progress_interval_s=progress_interval_s
        )
        self._asr = TranscribeWorker(self.send, recognizer)

    # ---------------------------------------------------------------------------------- output

    def send(self, message_type: str, **payload: Any) -> None:
        """Write one event (any thread). A closed pipe means the studio is gone: shut down."""
        data = encode(message_type, **payload)
        with self._write_lock:
            if self._broken_pipe:
                return
            try:
                self._events.write(data)
                self._events.flush()
            except (BrokenPipeError, OSError, ValueError):
                self._broken_pipe = True
        if self._broken_pipe:
            self._begin_shutdown()

    # ---------------------------------------------------------------------------------- reader

    def serve(self, requests: BinaryIO) -> int:
        """Handshake, then read requests until ``shutdown`` or end of input; returns the exit code."""
        caps = self.backend.capabilities()
        self.send(
            "hello",
            version=self._protocol_version,
            backend=self.backend.name,
            model_id=self.backend.model_id,
            backend_version=self.backend.version,
            device=self.backend.device,
            pid=os.getpid(),
            capabilities=asdict(caps),
        )
        self._runner.start()
        try:
            while True:
                raw = requests.readline()
                if not raw:
                    break  # the studio closed our stdin: it is gone
                if self._hung.is_set():
                    threading.Event().wait()  # test hook: never answer again
                line = raw.strip()
                if not line:
                    continue
                try:
                    if self._handle(decode(line)):
                        break
                except ProtocolError as exc:
                    self.send("error", reason=str(exc))
                except Exception as exc:  # never let one request kill the engine
                    self.send(
                        "error", reason=f"the engine could not handle a request: {type(exc).__name__}: {exc}"
                    )
        except KeyboardInterrupt:
            pass
        self._begin_shutdown()
        self._runner.join(SHUTDOWN_GRACE_S)
        with contextlib.suppress(Exception):
            self.backend.close()
        return 0

    def _handle(self, message: dict[str, Any]) -> bool:
        """Handle one request; True means stop reading (shutdown)."""
        kind = message["type"]
        if kind == "ping":
            self.send("pong", n=message.get("n", 0))
        elif kind == "submit":
            self._submit(message.get("jobs"))
        elif kind == "cancel":
            ids = message.get("job_ids") or []
            if not isinstance(ids, list):
                raise ProtocolError("cancel needs a list of job_ids")
            self._cancel_jobs({str(i) for i in ids} if ids else None)
        elif kind == "stop":
            self._stop()
        elif kind == "status":
            self._send_status()
        elif kind == "shutdown":
            return True
        else:
            raise ProtocolError(f"unknown request type {kind!r}")
        return False

    def _submit(self, raw_jobs: Any) -> None:
        if not isinstance(raw_jobs, list):
            raise ProtocolError("submit needs a list of jobs")
        jobs: list[RenderJob] = []
        transcribe: list[TranscribeJob] = []
        for raw in raw_jobs:
            job_id = str(raw.get("job_id", "")) if isinstance(raw, dict) else ""
            if isinstance(raw, dict) and raw.get("task") == "transcribe":
                self._submit_transcribe(raw, job_id, transcribe)
                continue
            try:
                if not isinstance(raw, dict) or not job_id:
                    raise ProtocolError("a render job needs a job_id")
                job = RenderJob.from_dict(raw)
                reason = _job_problem(job)
            except ProtocolError as exc:
                job, reason = None, str(exc)
            if job is None or reason:
                if job_id:
                    self.send("failed", job_id=job_id, reason=reason)
                else:
                    self.send("error", reason=reason)
                continue
            jobs.append(job)
        known = self._runner.known() | self._asr.known()
        fresh_asr: list[TranscribeJob] = []
        for asr_job in transcribe:
            if asr_job.job_id in known:
                self.send(
                    "error", reason=f"job {asr_job.job_id} is already queued; the duplicate was ignored"
                )
                continue
            known.add(asr_job.job_id)
            fresh_asr.append(asr_job)
        announced: list[bool] = []

        def announce(accepted: list[RenderJob]) -> None:
            # accepted goes out before the worker can announce any of these jobs as started
            announced.append(True)
            self.send("accepted", job_ids=[j.job_id for j in accepted] + [j.job_id for j in fresh_asr])

        taken = self._asr.known() | {j.job_id for j in fresh_asr}
        duplicates = self._runner.submit(jobs, taken=taken, announce=announce)
        for job in duplicates:
            self.send("error", reason=f"job {job.job_id} is already queued; the duplicate was ignored")
        if not announced:  # shutting down: the runner cancelled the render jobs
            for asr_job in fresh_asr:
                self.send("cancelled", job_id=asr_job.job_id)
        elif fresh_asr:
            self._asr.submit(fresh_asr)

    def _submit_transcribe(self, raw: dict[str, Any], job_id: str, into: list[TranscribeJob]) -> None:
        """Check one transcribe job; a malformed one fails at once."""
        try:
            if not job_id:
                raise ProtocolError("a transcribe job needs a job_id")
            job = TranscribeJob.from_dict(raw)
            if not isinstance(job.audio_path, str) or not Path(job.audio_path).is_absolute():
                raise ProtocolError(f"the audio path {job.audio_path!r} must be absolute")
        except ProtocolError as exc:
            if job_id:
                self.send("failed", job_id=job_id, reason=str(exc))
            else:
                self.send("error", reason=str(exc))
            return
        into.append(job)

    def _cancel_jobs(self, ids: set[str] | None) -> None:
        """Cancel these jobs (None = all): queued ones at once, running ones at their next check."""
        self._runner.cancel(ids)
        self._asr.cancel(ids)

    def _stop(self) -> None:
        """Finish the running job(s), drop everything not started."""
        self._runner.stop()
        self._asr.stop()

    def _begin_shutdown(self) -> None:
        if self._shutdown.is_set():
            return
        self._shutdown.set()
        self._runner.shutdown()
        self._asr.shutdown(timeout=0.0)

    def _send_status(self) -> None:
        self.send(
            "engine_status",
            backend=self.backend.name,
            device=self.backend.device,
            model_loaded=bool(self.backend.loaded),
            queue_length=self._runner.queued + self._asr.queued(),
            running=self._runner.running + self._asr.running(),
            detail=self._runner.load_error or (self.backend.status_detail() if self.backend.loaded else ""),
        )

    # ---------------------------------------------------------------------------------- worker

    def _deliver(self, job: RenderJob, outcome: JobOutcome) -> None:
        """One job's outcome (worker thread): a take file and ``finished``, or ``failed``/``cancelled``."""
        if outcome.cancelled:
            self.send("cancelled", job_id=job.job_id)
            return
        if outcome.error or outcome.result is None:
            self.send("failed", job_id=job.job_id, reason=outcome.error or "the backend returned no audio")
            return
        result = outcome.result
        audio = np.asarray(result.audio, dtype=np.float32).reshape(-1)
        if audio.size == 0:
            self.send("failed", job_id=job.job_id, reason="the backend produced no audio for this line")
            return
        if not np.all(np.isfinite(audio)):
            self.send(
                "failed", job_id=job.job_id, reason="the backend produced invalid audio (NaN) for this line"
            )
            return
        if result.sample_rate <= 0:
            self.send(
                "failed",
                job_id=job.job_id,
                reason=f"the backend reported a bad sample rate {result.sample_rate}",
            )
            return
        try:
            path = write_take(job.out_path, audio, result.sample_rate, self._take_subtype)
            codes_path = ""
            if isinstance(result.codes, np.ndarray):
                codes_path = str(write_array(str(path) + CODES_SUFFIX, result.codes))
        except TakeWriteError as exc:
            self.send("failed", job_id=job.job_id, reason=str(exc))
            return
        self.send(
            "finished",
            job_id=job.job_id,
            path=str(path),
            duration=round(audio.size / result.sample_rate, 4),
            sample_rate=int(result.sample_rate),
            suspect=bool(result.suspect),
            note=result.note,
            codes_path=codes_path,
        )
        self._finished_count += 1
        if self._hang_after is not None and self._finished_count >= self._hang_after:
            self._hung.set()
            threading.Event().wait()  # test hook: this thread never comes back, like a deadlock


class _HostEvents(RunnerListener):
    """The runner's reports as protocol events (see :class:`engine.runner.RunnerListener`)."""

    def __init__(self, host: EngineHost) -> None:
        self.host = host

    def loading(self, fraction: float, detail: str) -> None:
        self.host.send("load_progress", fraction=fraction, detail=detail)

    def loaded(self, error: str) -> None:
        if error:
            self.host.send("error", reason=f"the {self.host.backend.name} backend could not start: {error}")
        self.host._send_status()

    def started(self, job: RenderJob) -> None:
        self.host.send("started", job_id=job.job_id)

    def progress(self, job: RenderJob, fraction: float) -> None:
        self.host.send("progress", job_id=job.job_id, fraction=fraction)

    def chunk(self, job: RenderJob, seq: int, samples: np.ndarray, sample_rate: int) -> None:
        self.host.send(
            "chunk", job_id=job.job_id, seq=seq, sample_rate=sample_rate, pcm16=pcm16_encode(samples)
        )

    def done(self, job: RenderJob, outcome: JobOutcome) -> None:
        self.host._deliver(job, outcome)

    def idle(self) -> None:
        self.host._send_status()


def _job_problem(job: RenderJob) -> str:
    """A reason this job cannot be run at all (malformed), else ""."""
    if not isinstance(job.text, str):
        return "the line's text must be a string"
    if not isinstance(job.out_path, str) or not job.out_path:
        return "the job has no out_path for its take"
    if not Path(job.out_path).is_absolute():
        return f"the take path {job.out_path!r} must be absolute"
    if not job.speakers or not isinstance(job.speaker, int) or not 0 <= job.speaker < len(job.speakers):
        return f"speaker {job.speaker!r} is not one of the job's {len(job.speakers)} voices"
    return ""


def run_host(backend: Backend, requests: BinaryIO, events: BinaryIO, **options: Any) -> int:
    """Serve ``backend`` until shutdown (convenience for ``engine.__main__`` and tests)."""
    return EngineHost(backend, events, **options).serve(requests)
