"""The engine's transcribe queue: :class:`~engine.protocol.TranscribeJob` s run on one recogniser.

Transcription runs on its own thread beside rendering, so a long render queue never holds up a take
check (and a check never holds up rendering). The recogniser loads on the first job (``load_progress``
events with a "speech recogniser" detail); a load failure fails every transcribe job with its reason
and is tried again on the next job.

Events (through the host's ``send``): ``started``, ``finished`` with ``task:
"transcribe"``, ``transcript``, ``expected`` and ``heard``, ``failed`` or ``cancelled`` — see
:mod:`engine.protocol`.

Thread contract: ``submit``, ``cancel``, ``stop``, ``shutdown`` and ``queued`` may be called from any
thread; the work happens on the worker's own thread.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from engine.asr.recognizer import Recognizer, Transcript
from engine.asr.text import expected_speech, heard_speech
from engine.backends.base import BackendError, Cancelled
from engine.protocol import TranscribeJob

SendFn = Callable[..., None]
LINGER_S = 1.5  # a take check (a job with a line_id) waits this long for more to pack with
MAX_PACK = (
    16  # queued jobs run together (short takes share Whisper windows, see Recognizer.transcribe_packed)
)
CONFIRM_RECALL = 0.7  # a packed take that heard fewer of its words is transcribed again alone
_WORD = re.compile(r"[a-z0-9']+")


class TranscribeWorker:
    def __init__(self, send: SendFn, recognizer: Recognizer | None = None) -> None:
        self._send = send
        self.recognizer = recognizer or Recognizer()
        self._lock = threading.Condition()
        self._queue: deque[TranscribeJob] = deque()
        self._running: set[str] = set()
        self._cancel: set[str] = set()
        self._shutdown = False
        self._thread: threading.Thread | None = None

    def known(self) -> set[str]:
        with self._lock:
            return {j.job_id for j in self._queue} | self._running

    def queued(self) -> int:
        with self._lock:
            return len(self._queue)

    def running(self) -> list[str]:
        with self._lock:
            return sorted(self._running)

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
            self._cancel |= {r for r in self._running if ids is None or r in ids}
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
            self._cancel |= self._running
            dropped = list(self._queue)
            self._queue.clear()
            self._lock.notify_all()
            thread = self._thread
        for job in dropped:
            self._send("cancelled", job_id=job.job_id)
        if timeout > 0 and thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # ------------------------------------------------------------------------------ worker thread

    def _next(self) -> list[TranscribeJob] | None:
        """The next jobs to run together (up to MAX_PACK queued ones), or None at shutdown."""
        with self._lock:
            while not self._queue and not self._shutdown:
                self._lock.wait()
            # Take checks arrive one by one as takes finish: wait a moment for company to pack with.
            deadline = time.monotonic() + LINGER_S
            while (
                not self._shutdown
                and 0 < len(self._queue) < MAX_PACK
                and self._queue[0].line_id
                and (remaining := deadline - time.monotonic()) > 0
            ):
                self._lock.wait(remaining)
            if self._shutdown:
                return None
            jobs = [self._queue.popleft() for _ in range(min(MAX_PACK, len(self._queue)))]
            self._running = {job.job_id for job in jobs}
            return jobs

    def _work(self) -> None:
        while True:
            jobs = self._next()
            if jobs is None:
                return
            try:
                self._run(jobs)
            except Exception as exc:  # the queue must survive anything
                for job in jobs:
                    self._send(
                        "failed",
                        job_id=job.job_id,
                        reason=f"transcription failed: {type(exc).__name__}: {exc}",
                    )
            finally:
                with self._lock:
                    self._cancel -= self._running
                    self._running = set()

    def _is_cancelled(self, job_id: str) -> bool:
        with self._lock:
            return self._shutdown or job_id in self._cancel

    def _run(self, jobs: list[TranscribeJob]) -> None:
        for job in jobs:
            self._send("started", job_id=job.job_id)
        try:
            if not self.recognizer.loaded:
                self.recognizer.load(
                    lambda fraction, detail: self._send("load_progress", fraction=fraction, detail=detail)
                )
        except BackendError as exc:
            for job in jobs:
                self._send("failed", job_id=job.job_id, reason=str(exc))
            return
        languages = {
            job.job_id: job.language or ("en" if not job.text.strip() else _language_of(job.text))
            for job in jobs
        }
        packable = [j for j in jobs if languages[j.job_id] == "en"] if len(jobs) > 1 else []
        results: dict[str, Transcript | BackendError] = {}
        if len(packable) > 1:
            try:
                packed = self.recognizer.transcribe_packed(
                    [j.audio_path for j in packable],
                    "en",
                    lambda: all(self._is_cancelled(j.job_id) for j in packable),
                )
            except Cancelled:
                packed = [Cancelled()] * len(packable)  # type: ignore[list-item]
            for job, result in zip(packable, packed, strict=True):
                if (
                    isinstance(result, Transcript)
                    and job.text.strip()
                    and _recall(job.text, result.text) < CONFIRM_RECALL
                ):
                    continue  # heard poorly beside other takes: transcribed alone below, to be sure
                if not isinstance(result, Cancelled):
                    results[job.job_id] = result
        for job in jobs:
            if self._is_cancelled(job.job_id):
                self._send("cancelled", job_id=job.job_id)
                continue
            found = results.get(job.job_id)
            if found is not None:
                result = found
            else:
                try:
                    result = self.recognizer.transcribe(
                        job.audio_path,
                        languages[job.job_id],
                        functools.partial(self._is_cancelled, job.job_id),
                    )
                except Cancelled:
                    self._send("cancelled", job_id=job.job_id)
                    continue
                except BackendError as exc:
                    result = exc
            self._deliver(job, result)

    def _deliver(self, job: TranscribeJob, result: Transcript | BackendError) -> None:
        if isinstance(result, BackendError):
            self._send("failed", job_id=job.job_id, reason=str(result))
            return
        expected = expected_speech(job.text, job.language) if job.text.strip() else ""
        data: dict[str, Any] = result.to_dict()
        self._send(
            "finished",
            job_id=job.job_id,
            task="transcribe",
            transcript=data,
            expected=expected,
            heard=heard_speech(result.text, result.language),
        )


def _recall(expected: str, heard: str) -> float:
    """Share of the expected words (letters only, numbers ignored) that were heard at all."""
    want = [w for w in _WORD.findall(expected.lower()) if not w.isdigit()]
    if not want:
        return 1.0
    got = set(_WORD.findall(heard.lower()))
    return sum(1 for w in want if w in got) / len(want)


def _language_of(text: str) -> str:
    from engine.higgs.text import line_language

    return line_language(text)
