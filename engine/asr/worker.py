"""The engine's transcribe queue: :class:`~engine.protocol.TranscribeJob` s run on one recogniser.

Transcription runs on its own thread beside rendering, so a long render queue never holds up a take
check (and a check never holds up rendering). The recogniser loads on the first job (``load_progress``
events with a "speech recogniser" detail); a load failure fails every transcribe job with its reason
and is tried again on the next job.

Events (through the host's ``send``): ``started``, ``progress``, ``finished`` with ``task:
"transcribe"``, ``transcript``, ``expected`` and ``heard``, ``failed`` or ``cancelled`` — see
:mod:`engine.protocol`.

Thread contract: ``submit``, ``cancel``, ``stop``, ``shutdown`` and ``queued`` may be called from any
thread; the work happens on the worker's own thread.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from engine.asr.recognizer import Recognizer
from engine.asr.text import expected_speech, heard_speech
from engine.backends.base import BackendError, Cancelled
from engine.protocol import TranscribeJob

SendFn = Callable[..., None]
PROGRESS_INTERVAL_S = 0.25


class TranscribeWorker:
    def __init__(self, send: SendFn, recognizer: Recognizer | None = None) -> None:
        self._send = send
        self.recognizer = recognizer or Recognizer()
        self._lock = threading.Condition()
        self._queue: deque[TranscribeJob] = deque()
        self._running: str = ""
        self._cancel: set[str] = set()
        self._shutdown = False
        self._thread: threading.Thread | None = None

    def known(self) -> set[str]:
        with self._lock:
            return {j.job_id for j in self._queue} | ({self._running} if self._running else set())

    def queued(self) -> int:
        with self._lock:
            return len(self._queue)

    def running(self) -> list[str]:
        with self._lock:
            return [self._running] if self._running else []

    def submit(self, jobs: list[TranscribeJob]) -> None:
        with self._lock:
            if self._shutdown:
                for job in jobs:
                    self._send("cancelled", job_id=job.job_id)
                return
            for job in jobs:
                self._cancel.discard(job.job_id)
            self._queue.extend(jobs)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="engine-transcribe", daemon=True)
                self._thread.start()
            self._lock.notify_all()

    def cancel(self, ids: set[str] | None) -> None:
        """Drop queued jobs at once, abort the running one between segments (None = all)."""
        with self._lock:
            dropped = [j for j in self._queue if ids is None or j.job_id in ids]
            gone = {j.job_id for j in dropped}
            self._queue = deque(j for j in self._queue if j.job_id not in gone)
            if self._running and (ids is None or self._running in ids):
                self._cancel.add(self._running)
        for job in dropped:
            self._send("cancelled", job_id=job.job_id)

    def stop(self) -> None:
        """Finish the running job, drop the queue."""
        with self._lock:
            dropped = list(self._queue)
            self._queue.clear()
        for job in dropped:
            self._send("cancelled", job_id=job.job_id)

    def shutdown(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._shutdown = True
            if self._running:
                self._cancel.add(self._running)
            dropped = list(self._queue)
            self._queue.clear()
            self._lock.notify_all()
            thread = self._thread
        for job in dropped:
            self._send("cancelled", job_id=job.job_id)
        if timeout > 0 and thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # ------------------------------------------------------------------------------ worker thread

    def _next(self) -> TranscribeJob | None:
        with self._lock:
            while not self._queue and not self._shutdown:
                self._lock.wait()
            if self._shutdown:
                return None
            job = self._queue.popleft()
            self._running = job.job_id
            return job

    def _work(self) -> None:
        while True:
            job = self._next()
            if job is None:
                return
            try:
                self._run(job)
            except Exception as exc:  # the queue must survive anything
                self._send(
                    "failed", job_id=job.job_id, reason=f"transcription failed: {type(exc).__name__}: {exc}"
                )
            finally:
                with self._lock:
                    self._running = ""
                    self._cancel.discard(job.job_id)

    def _is_cancelled(self, job_id: str) -> bool:
        with self._lock:
            return self._shutdown or job_id in self._cancel

    def _run(self, job: TranscribeJob) -> None:
        self._send("started", job_id=job.job_id)
        last = [time.monotonic()]

        def progress(fraction: float) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_INTERVAL_S and fraction < 1.0:
                last[0] = now
                self._send("progress", job_id=job.job_id, fraction=round(fraction, 3))

        try:
            if not self.recognizer.loaded:
                self.recognizer.load(
                    lambda fraction, detail: self._send("load_progress", fraction=fraction, detail=detail)
                )
            expected = expected_speech(job.text, job.language) if job.text.strip() else ""
            language = job.language or ("en" if not job.text.strip() else _language_of(job.text))
            transcript = self.recognizer.transcribe(
                job.audio_path, language, lambda: self._is_cancelled(job.job_id), progress
            )
        except Cancelled:
            self._send("cancelled", job_id=job.job_id)
            return
        except BackendError as exc:
            self._send("failed", job_id=job.job_id, reason=str(exc))
            return
        if self._is_cancelled(job.job_id):
            self._send("cancelled", job_id=job.job_id)
            return
        data: dict[str, Any] = transcript.to_dict()
        self._send(
            "finished",
            job_id=job.job_id,
            task="transcribe",
            transcript=data,
            expected=expected,
            heard=heard_speech(transcript.text, transcript.language),
        )


def _language_of(text: str) -> str:
    from engine.higgs.text import line_language

    return line_language(text)
