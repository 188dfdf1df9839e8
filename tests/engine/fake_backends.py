"""A fake continuous-batching, streaming backend for the runner, host, client and server tests.

:class:`SteppedBackend` behaves like a slot decoder: up to ``slots`` jobs run at once, every step makes
one frame (``FRAME`` samples) for each running job, a job leaves as soon as its frames are made, and
with ``continuous`` it pulls queued jobs through ``render_stream``'s ``more`` into free places. With
``streaming`` each frame goes out through ``chunk``. A job's length in frames is its text when that is
a number, else one frame per word. A job whose text starts with "hold" makes one frame, then waits
(without holding up the others) until the test calls :meth:`SteppedBackend.release`, then makes the
rest (at least one more frame). A job whose text starts with "fail" makes one frame, then fails.

Run as a script it is an engine process (``EngineHost`` on stdin/stdout) serving this backend, so the
studio's client can be tested against a real process: pass a launcher made by
:func:`engine_launcher` as the client's ``python``.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.backends.base import (
    Backend,
    CancelledFn,
    Capabilities,
    ChunkFn,
    JobOutcome,
    JobSource,
    ProgressFn,
    RenderResult,
)
from engine.protocol import RenderJob

RATE = 8000
FRAME = 80  # samples per frame (10 ms)


def frame_of(job_id: str, index: int) -> np.ndarray:
    """The samples of frame ``index`` of ``job_id`` (deterministic, so tests can compare)."""
    level = 0.05 + (sum(job_id.encode()) % 10) / 20.0
    sign = 1.0 if index % 2 == 0 else -1.0
    return np.full(FRAME, sign * level, np.float32)


def frames_for(job: RenderJob) -> int:
    text = job.text.strip()
    if text.isdigit():
        return int(text)
    return max(2 if text.startswith("hold") else 1, len(text.split()))


class SteppedBackend(Backend):
    """See the module docstring. ``log`` records ("admit"|"leave", job_id, call) in order, under ``lock``."""

    def __init__(
        self,
        slots: int = 4,
        *,
        continuous: bool = True,
        streaming: bool = True,
        concurrency: int = 1,
        step_s: float = 0.002,
    ) -> None:
        super().__init__(name="stepped")
        self.slots = slots
        self.step_s = step_s
        self._caps = Capabilities(
            batch_size=slots,
            sample_rate=RATE,
            continuous=continuous,
            streaming=streaming,
            concurrency=concurrency,
        )
        self.lock = threading.Lock()
        self.log: list[tuple[str, str, int]] = []
        self.calls = 0
        self.most_running = 0
        self.cancelled: list[str] = []  # jobs that left because the runner cancelled them
        self._released: set[str] = set()

    def capabilities(self) -> Capabilities:
        return self._caps

    def release(self, job_id: str = "*") -> None:
        """Let the held job ``job_id`` (default: every held job, now and later) go on."""
        with self.lock:
            self._released.add(job_id)

    def admitted(self) -> list[str]:
        with self.lock:
            return [job_id for what, job_id, _ in self.log if what == "admit"]

    def record(self, what: str, job_id: str) -> None:
        with self.lock:
            self.log.append((what, job_id, self.calls))

    def render_stream(
        self,
        jobs: Sequence[RenderJob],
        progress: ProgressFn,
        cancelled: CancelledFn,
        *,
        more: JobSource | None = None,
        chunk: ChunkFn | None = None,
    ) -> Iterator[JobOutcome]:
        with self.lock:
            self.calls += 1
        pending: deque[RenderJob] = deque(jobs)
        running: dict[str, tuple[RenderJob, list[np.ndarray]]] = {}
        while True:
            free = self.slots - len(running) - len(pending)
            if more is not None and free > 0:
                pending.extend(more(free))
            while pending and len(running) < self.slots:
                job = pending.popleft()
                reason = self.check(job)
                if reason:
                    yield JobOutcome(job.job_id, error=reason)
                    continue
                running[job.job_id] = (job, [])
                self.record("admit", job.job_id)
                progress(job.job_id, 0.0)
            self.most_running = max(self.most_running, len(running))
            if not running:
                return
            for job_id, (job, frames) in list(running.items()):
                if cancelled(job_id):
                    del running[job_id]
                    self.record("leave", job_id)
                    with self.lock:
                        self.cancelled.append(job_id)
                    yield JobOutcome(job_id, cancelled=True)
                    continue
                if job.text.startswith("fail") and frames:
                    del running[job_id]
                    self.record("leave", job_id)
                    yield JobOutcome(job_id, error="the fake decoder failed mid-line")
                    continue
                with self.lock:
                    held = job.text.startswith("hold") and bool(frames) and not {job_id, "*"} & self._released
                if held:
                    continue
                frame = frame_of(job_id, len(frames))
                frames.append(frame)
                if chunk is not None and self._caps.streaming:
                    chunk(job_id, frame, RATE)
                total = frames_for(job)
                progress(job_id, len(frames) / total)
                if len(frames) >= total:
                    del running[job_id]
                    self.record("leave", job_id)
                    yield JobOutcome(job_id, result=RenderResult(np.concatenate(frames), RATE))
            time.sleep(self.step_s)


def engine_launcher(folder: Path, **backend_options: Any) -> str:
    """An executable that starts this module as an engine process (use as ``EngineClient(python=...)``)."""
    launcher = folder / "stepped-engine"
    repo = Path(__file__).resolve().parents[2]
    launcher.write_text(
        "#!/bin/sh\n"
        f'cd "{repo}" && PYTHONPATH="{repo}" exec "{sys.executable}" "{Path(__file__).resolve()}" '
        f"'{json.dumps(backend_options)}'\n"
    )
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR)
    return str(launcher)


def _serve(argv: list[str]) -> int:
    from engine.host import EngineHost

    options = json.loads(argv[0]) if argv else {}
    events = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    host = EngineHost(SteppedBackend(**options), events, progress_interval_s=0.0)
    return host.serve(sys.stdin.buffer)


if __name__ == "__main__":
    sys.exit(_serve(sys.argv[1:]))
