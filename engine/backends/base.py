"""The backend interface every engine backend implements.

A backend is created once per engine process (``load()`` loads its model once), declares what it can
do (:class:`Capabilities`) and renders :class:`~engine.protocol.RenderJob` s to audio arrays. The host
(``engine.host``) writes the files, so backends never touch the take store.

Thread contract: the host calls ``load`` and ``render_batch``/``render_stream`` from its single worker thread; the
``progress`` and ``cancelled`` callbacks it passes are safe to call from that thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.protocol import RenderJob


class BackendError(RuntimeError):
    """A failure the user can act on (message says what to do). Fails one job, not the engine."""


class Cancelled(Exception):
    """Raised inside a backend when the host asked to cancel the job."""


@dataclass(frozen=True)
class Capabilities:
    voice_cloning: bool = False
    text_profiles: bool = False
    smart_voice: bool = False
    multi_speaker_context: bool = False
    tags: tuple[str, ...] = ()
    languages: tuple[str, ...] = ("en",)
    batch_size: int = 1
    sample_rate: int = 22050
    # Independent jobs the backend renders at once (e.g. a process pool). When > 1 the host hands
    # ``render_stream`` a run of queued jobs in order regardless of ``group``; the backend starts
    # them as it has room and reports each start with ``progress(job_id, 0.0)``.
    concurrency: int = 1
    # The backend keeps a running batch and pulls more jobs into it as lines finish (continuous
    # batching): ``render_stream``'s ``more`` is called whenever it has free places.
    continuous: bool = False
    # The backend sends partial audio of running jobs through ``render_stream``'s ``chunk``.
    streaming: bool = False


@dataclass
class RenderResult:
    """Audio for one job: float32 mono in [-1, 1] at ``sample_rate``."""

    audio: np.ndarray
    sample_rate: int
    suspect: bool = False
    note: str = ""
    codes: Any = None  # backend-specific tokens (Higgs audio codes) for tests/reproducibility


@dataclass
class JobOutcome:
    """A result or a per-job error; one bad job never fails the batch."""

    job_id: str
    result: RenderResult | None = None
    error: str = ""
    cancelled: bool = False


ProgressFn = Callable[[str, float], None]  # (job_id, fraction 0..1)
CancelledFn = Callable[[str], bool]  # job_id -> should stop?
# Partial audio of a running job: (job_id, the new samples since its last chunk as float32 mono, sample
# rate). The chunks of a job, joined, are its audio before the take check trims it. Called from the
# worker thread that runs ``render_stream``.
ChunkFn = Callable[[str, np.ndarray, int], None]
# More jobs for a running continuous batch: called with the number of free places, returns at most
# that many queued jobs (maybe none) and never blocks. Called from the worker thread.
JobSource = Callable[[int], list[RenderJob]]


@dataclass
class Backend:
    """Base class: subclasses set ``name`` and override ``capabilities``/``load``/``render``."""

    name: str = "base"
    model_id: str = ""
    version: str = ""
    device: str = "cpu"
    loaded: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    def capabilities(self) -> Capabilities:
        return Capabilities()

    def load(self, progress: Callable[[float, str], None] | None = None) -> None:
        """Load the model once. Raise BackendError with an actionable message on failure."""
        self.loaded = True

    def check(self, job: RenderJob) -> str:
        """Return a reason this backend cannot honour ``job``, or "" if it can."""
        caps = self.capabilities()
        if not job.text.strip():
            return "the line has no text to speak"
        voice = job.voice
        if voice.kind == "clip" and not caps.voice_cloning:
            return f"the {self.name} backend cannot clone a voice from a reference clip; pick a {self.name} voice or another backend"
        if voice.kind == "profile" and not caps.text_profiles:
            return f"the {self.name} backend cannot voice a text profile; pick a {self.name} voice or another backend"
        if voice.kind == "smart" and not caps.smart_voice:
            return f"the {self.name} backend has no smart voice; pick a {self.name} voice or another backend"
        return ""

    def render(self, job: RenderJob, progress: ProgressFn, cancelled: CancelledFn) -> RenderResult:
        raise NotImplementedError

    def render_batch(
        self, jobs: Sequence[RenderJob], progress: ProgressFn, cancelled: CancelledFn
    ) -> list[JobOutcome]:
        """Render several jobs; the default renders them one by one. Never raises for one bad job."""
        outcomes: list[JobOutcome] = []
        for job in jobs:
            outcomes.append(render_one(self, job, progress, cancelled))
        return outcomes

    def render_stream(
        self,
        jobs: Sequence[RenderJob],
        progress: ProgressFn,
        cancelled: CancelledFn,
        *,
        more: JobSource | None = None,
        chunk: ChunkFn | None = None,
    ) -> Iterator[JobOutcome]:
        """Render ``jobs``, yielding each outcome as soon as it is ready (any order, one per job).

        The host uses this so a finished take is announced at once. The default yields per job when
        ``render_batch`` is not overridden, else the batch's outcomes when it returns. Backends with
        ``Capabilities.concurrency`` > 1 override it. Never raises for one bad job.
        ``more`` (used by backends with ``Capabilities.continuous``): jobs pulled in while the batch
        runs; their outcomes are yielded too. ``chunk`` (``Capabilities.streaming``): partial audio.
        Backends without those capabilities ignore both.
        """
        if type(self).render_batch is Backend.render_batch:
            for job in jobs:
                yield render_one(self, job, progress, cancelled)
        else:
            yield from self.render_batch(jobs, progress, cancelled)

    def status_detail(self) -> str:
        """One line for the engine status when all is well (paths, plans, fallbacks); "" = nothing to say."""
        return ""

    def close(self) -> None:
        """Release the model and any worker processes."""


def result_of(outcome: JobOutcome, fallback: str) -> RenderResult:
    """The result of a one-job outcome, or the Cancelled/BackendError it stands for."""
    if outcome.cancelled:
        raise Cancelled()
    if outcome.result is None:
        raise BackendError(outcome.error or fallback)
    return outcome.result


def render_one(backend: Backend, job: RenderJob, progress: ProgressFn, cancelled: CancelledFn) -> JobOutcome:
    """Check and render one job, turning its failure into a per-job outcome."""
    reason = backend.check(job)
    if reason:
        return JobOutcome(job.job_id, error=reason)
    try:
        return JobOutcome(job.job_id, result=backend.render(job, progress, cancelled))
    except Cancelled:
        return JobOutcome(job.job_id, cancelled=True)
    except BackendError as exc:
        return JobOutcome(job.job_id, error=str(exc))
    except Exception as exc:  # a backend bug must fail the line, not the engine
        return JobOutcome(job.job_id, error=f"{type(exc).__name__}: {exc}")


BACKENDS: dict[str, str] = {
    "piper": "engine.backends.piper:PiperBackend",
    "higgs": "engine.backends.higgs:HiggsBackend",
    "openai": "engine.backends.openai_speech:OpenAISpeechBackend",
}


def create_backend(name: str, options: dict[str, Any] | None = None) -> Backend:
    """Instantiate a backend by name (lazily importing its module)."""
    import importlib

    target = BACKENDS.get(name)
    if target is None:
        raise BackendError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    module_name, class_name = target.split(":")
    module = importlib.import_module(module_name)
    backend: Backend = getattr(module, class_name)(options=dict(options or {}))
    return backend
