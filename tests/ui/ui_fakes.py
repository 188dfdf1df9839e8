"""Stand-ins for the studio's widget tests: synthetic takes, a fake engine client, a fake sound card.

* ``fake_render`` renders lines with synthetic takes through the real RenderSession (no TTS);
* ``FakeEngineClient`` speaks the EngineClient API and "renders" speech-like noise on a thread;
* ``FakeStream`` stands in for a sounddevice OutputStream: tests pull blocks through the callback.
"""

from __future__ import annotations

import functools
import io
import threading
import time
from pathlib import Path
from typing import Any

import soundfile as sf
from fakes import CallbackStream


@functools.lru_cache(maxsize=64)
def _take_bytes(seconds: float, seed: int, rate: int) -> bytes:
    from studio.audio.synthetic import speechlike

    buffer = io.BytesIO()
    sf.write(buffer, speechlike(seconds, rate, seed=seed), rate, subtype="FLOAT", format="WAV")
    return buffer.getvalue()


def write_take(path: Path, seconds: float, seed: int, rate: int = 24000) -> None:
    """A speech-like take file, written atomically (made once per length and seed, then copied:
    the real engine renders in another process, so the studio only sees a file appear)."""
    data = _take_bytes(round(seconds, 2), seed % 8, rate)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    tmp.replace(path)


def fake_render(project_file: Any, line_ids: list[str] | None = None) -> int:
    """Render lines with synthetic takes through the real RenderSession (no engine)."""
    from studio.render.session import RenderSession

    session = RenderSession(project_file)
    jobs = session.prepare(line_ids)
    for i, job in enumerate(jobs):
        seconds = max(0.8, 0.3 * len(job.text.split()))
        write_take(Path(job.out_path), seconds, seed=i)
        session.handle({"type": "started", "job_id": job.job_id})
        session.handle(
            {
                "type": "finished",
                "job_id": job.job_id,
                "path": job.out_path,
                "duration": seconds,
                "sample_rate": 24000,
            }
        )
    return len(jobs)


# ---- a fake engine -----------------------------------------------------------------------------


class FakeEngineClient:
    """The EngineClient API over a thread that writes synthetic takes (``delay`` seconds per job)."""

    instances: list[FakeEngineClient] = []

    def __init__(
        self, backend: str = "piper", options: dict[str, Any] | None = None, delay: float = 0.005
    ) -> None:
        self.backend = backend
        self.options = options or {}
        self.delay = delay
        self.hello = {"type": "hello", "version": 1, "backend": backend}
        self.running = False
        self.submitted: list[Any] = []
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._queue: list[Any] = []
        self._cancel: set[str] = set()
        self._open: dict[str, None] = {}  # ordered set of jobs without a final event
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.mishear: dict[str, str] = {}  # line id -> what its takes are heard to say (default: the script)
        FakeEngineClient.instances.append(self)

    @property
    def outstanding(self) -> tuple[str, ...]:
        """Submitted jobs without a final event (queued or running), like EngineClient.outstanding."""
        with self._lock:
            return tuple(self._open)

    def start(self) -> dict[str, Any]:
        self.running = True
        self._thread = threading.Thread(target=self._work, daemon=True)
        self._thread.start()
        return self.hello

    def submit(self, jobs: Any) -> None:
        jobs = list(jobs)
        with self._lock:
            self.submitted.extend(jobs)
            self._queue.extend(jobs)
            self._open.update(dict.fromkeys(j.job_id for j in jobs))
            self._events.append({"type": "accepted", "job_ids": [j.job_id for j in jobs]})
        self._wake.set()

    def cancel(self, job_ids: Any = None) -> None:
        with self._lock:
            ids = set(job_ids or [j.job_id for j in self._queue])
            self._cancel |= ids

    def stop(self) -> None:
        self.cancel(None)

    def request_status(self) -> None:
        with self._lock:
            self._events.append(
                {
                    "type": "engine_status",
                    "backend": self.backend,
                    "device": "cpu",
                    "model_loaded": True,
                    "queue_length": len(self._queue),
                }
            )

    def poll(self, timeout: float = 0.0, limit: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            n = len(self._events) if limit is None else min(limit, len(self._events))
            out, self._events = self._events[:n], self._events[n:]
        return out

    def shutdown(self, timeout: float = 10.0) -> None:
        self.running = False
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            for job in self._queue:
                self._final({"type": "cancelled", "job_id": job.job_id})
            self._queue = []

    def _final(self, event: dict[str, Any]) -> None:
        """Record a final event (call with the lock held)."""
        self._events.append(event)
        self._open.pop(event["job_id"], None)

    def _work(self) -> None:
        i = 0
        while self.running:
            with self._lock:
                job = self._queue.pop(0) if self._queue else None
                cancelled = job is not None and job.job_id in self._cancel
            if job is None:
                self._wake.wait(0.05)
                self._wake.clear()
                continue
            if cancelled:
                with self._lock:
                    self._final({"type": "cancelled", "job_id": job.job_id})
                continue
            if not hasattr(job, "out_path"):  # a TranscribeJob: "hears" the script (see transcribed())
                with self._lock:
                    self._final(transcribed(job, self.mishear.get(job.line_id, "")))
                continue
            with self._lock:
                self._events.append({"type": "started", "job_id": job.job_id})
                self._events.append({"type": "progress", "job_id": job.job_id, "fraction": 0.5})
            time.sleep(self.delay)
            seconds = max(0.8, 0.3 * len(job.text.split()))
            write_take(Path(job.out_path), seconds, seed=i)
            i += 1
            with self._lock:
                self._final(
                    {
                        "type": "finished",
                        "job_id": job.job_id,
                        "path": job.out_path,
                        "duration": seconds,
                        "sample_rate": 24000,
                    }
                )


def transcribed(job: Any, heard: str = "") -> dict[str, Any]:
    """The ``finished`` event of a TranscribeJob whose audio says ``heard`` (default: the job's text),
    words spread evenly over the file."""
    import soundfile as sf

    text = heard or job.text
    words = text.split()
    seconds = sf.info(job.audio_path).duration
    step = seconds / max(1, len(words))
    timed = [[w, round(i * step, 3), round((i + 1) * step, 3)] for i, w in enumerate(words)]
    transcript = {"text": text, "words": timed, "model": "fake"}
    return {"type": "finished", "job_id": job.job_id, "transcript": transcript, "expected": job.text, "heard": text}


# ---- a fake sound card --------------------------------------------------------------------------


class FakeStream(CallbackStream):
    """A sounddevice.OutputStream stand-in; ``pull(n)`` runs the callback for n blocks and returns audio."""

    last: FakeStream | None = None

    def __init__(self, samplerate: int, channels: int, blocksize: int, dtype: str, callback: Any) -> None:
        super().__init__(samplerate, channels, blocksize, callback)
        FakeStream.last = self


def fake_stream_factory() -> Any:
    return FakeStream


def no_device_factory() -> Any:
    from studio.ui.qt_playback import PlaybackUnavailable

    raise PlaybackUnavailable("No audio output: PortAudio library not found (test).")
