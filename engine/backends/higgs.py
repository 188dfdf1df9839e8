"""The Higgs Audio v2 backend: expressive speech, voice cloning and multi-speaker scenes (transformers, GPU).

Runs Boson AI's Higgs Audio v2 through transformers' native implementation
(``HiggsAudioV2ForConditionalGeneration`` + ``HiggsAudioV2Processor`` + ``HiggsAudioV2TokenizerModel``).
Output: 24 kHz mono; 25 audio frames per second, one model step per frame.

Options (all optional):
  ``model``        HF repo id or local folder of a transformers-native checkpoint
                   (default ``eustlb/higgs-audio-v2-generation-3B-base``)
  ``tokenizer``    audio tokenizer (codec) repo id or folder (default: the one the model folder names)
  ``device``       auto (cuda → mps → cpu) | cuda | cuda:N | mps | cpu
  ``dtype``        auto (bf16 on CUDA, fp32 elsewhere) | bf16 | fp16 | fp32
  ``precision``    auto | bf16 | int8 | int4: weights of the LM's decoder linears (attention, MLPs); embeddings,
                   norms and the audio head stay in ``dtype`` (:mod:`engine.higgs.quantize`). auto: the best
                   that fits the free GPU memory with room for ``batch_size`` lines (no quantising off CUDA)
  ``adapter_precision`` auto | bf16 | int8 | int4: the audio adapter (DualFFN MLPs); auto = int8 under int4
                   (int4 too only as auto's last resort), else as ``precision``
  ``codec_device`` auto | gpu | cpu: where the audio tokenizer runs (auto: the CPU when the GPU is short)
                   A memory plan is made before loading (:mod:`engine.higgs.memory`, shown by
                   ``memory_plan_status``); a load that cannot fit fails first, naming options that would.
  ``local_files_only``  never download (default False); ``cache_dir`` HF cache folder
  ``batch_size``   lines generated together in independent mode (default 8)
  ``chunk_words``  long lines are generated in chunks of at most this many words (default 60)
  ``context_turns`` earlier lines/chunks kept as context (default 3)
  ``references``   where reference clips go in the prompt: auto | turns | scene
  ``trim_silence`` trim silence at the ends of takes (default True)
  ``cudnn_attention`` let PyTorch pick cuDNN attention on CUDA (default False: it re-plans every new
                   shape, which made generation ~3x slower on an H100; see ``_attention_kernels``)
  ``fixed_frames`` tests/benchmarks only: every take is exactly this many frames
  ``fast``         auto | on | off: render through the fast path (:mod:`engine.higgs.slots`: static KV
                   cache, continuous batching, CUDA graphs where CUDA is) — the default; off = ``generate``
  ``graphs``       auto | on | off: capture the fast path's step as a CUDA graph (auto: on CUDA)
  ``max_slots``    lines decoded at once on the fast path (default 128 on CUDA, 8 elsewhere; fewer when
                   the free GPU memory cannot hold their cache)

Generation: temperature / top-k / top-p / RAS window and repeats / max_new_tokens come from the job's
:class:`~engine.protocol.GenerationParams` (temperature 0 = greedy). RAS is switched off for humming and
music lines. Frames are picked by :mod:`engine.higgs.sampler` from per-line seeds (chunk i of a long
line uses seed + i): the same job with the same seed gives the same codes whatever lines share its
batch, on the plain path (``render_batch``: one ``generate`` call per batch) and on the fast path
(``render_stream``) alike.

Modes: independent lines with the same non-empty ``group`` are batched (left-padded text, right-padded
audio) up to ``batch_size``; scene continuity comes in as ``job.context`` (earlier lines' text + audio,
the last ``context_turns`` kept); a long line is chunked with the previous chunks' audio carried along.
Every line is capped by :func:`engine.higgs.guard.frame_budget` and every take checked by
:func:`engine.higgs.guard.check_take` (runaway, long silences → ``suspect`` with a note).

Thread contract: as :class:`engine.backends.base.Backend` — ``load``, ``render``, ``render_batch`` and
``close`` are called from the host's single worker thread.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

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
    result_of,
)
from engine.higgs import guard, loading, sampler
from engine.higgs.chunking import (
    DEFAULT_CHUNK_WORDS,
    DEFAULT_CONTEXT_TURNS,
    TurnBuffer,
    chunk_text,
    context_turns,
)
from engine.higgs.inputs import (
    AudioInputError,
    CodeCache,
    build_inputs,
    decode_codes,
    extract_codes,
    resolve_audio,
)
from engine.higgs.prompt import (
    PLACEMENTS,
    Conversation,
    PriorTurn,
    PromptError,
    audio_items,
    build_conversation,
    check_job,
)
from engine.higgs.sampling import frame_picker, frame_window, job_watch
from engine.higgs.text import TAG_NAMES, is_musical, normalize_text
from engine.protocol import RenderJob

SAMPLE_RATE = guard.SAMPLE_RATE
LANGUAGES = ("en", "zh", "de", "ko")
DEFAULT_BATCH_SIZE = 8
GENERATION_SHARE = 0.95  # of a job's progress; decoding and checks take the rest
RAS_OFF = (1, 2)  # (window, repeats): a window of one frame never holds two repeats

_LOADED: dict[tuple[str, str, str, str], tuple[Any, Any, str]] = {}
_LOAD_LOCK = threading.Lock()


@dataclass(eq=False)  # rows are told apart by identity (their audio codes are tensors)
class _Row:
    """One generation row: a job (or one chunk of it) and its prompt."""

    job: RenderJob
    conversation: Conversation
    audio: list[Any]  # codes (num_codebooks, frames) of each audio item, in prompt order
    budget: int
    min_frames: int


@dataclass
class HiggsBackend(Backend):
    name: str = "higgs"
    model_id: str = loading.DEFAULT_MODEL
    last_prompts: list[str] = field(default_factory=list, repr=False)  # rendered prompts of the last generate
    last_stats: dict[str, Any] = field(default_factory=dict, repr=False)  # timings of the last generate
    _model: Any = field(default=None, init=False, repr=False)
    _processor: Any = field(default=None, init=False, repr=False)
    _codes: CodeCache = field(default_factory=CodeCache, init=False, repr=False)
    _cache_key: tuple[str, str, str, str] | None = field(default=None, init=False, repr=False)
    _slots: Any = field(default=None, init=False, repr=False)  # the fast path's HiggsSlots, made on first use

    # ------------------------------------------------------------------ setup

    @classmethod
    def from_model(cls, model: Any, processor: Any, options: dict[str, Any] | None = None) -> HiggsBackend:
        """A ready backend around an already-built model and processor (benchmarks, tests)."""
        backend = cls(options=dict(options or {}))
        backend._model = model.eval()
        backend._processor = processor
        backend.device = str(model.device)
        backend.model_id = str(getattr(model.config, "_name_or_path", "") or "in-memory")
        backend.version = "in-memory"
        backend.loaded = True
        return backend

    def capabilities(self) -> Capabilities:
        return Capabilities(
            voice_cloning=True,
            text_profiles=True,
            smart_voice=True,
            multi_speaker_context=True,
            tags=TAG_NAMES,
            languages=LANGUAGES,
            batch_size=self._batch_size(),
            sample_rate=SAMPLE_RATE,
            continuous=self._fast(),
            streaming=self._fast(),
        )

    def load(self, progress: Callable[[float, str], None] | None = None) -> None:
        """Find (download if needed), check and load the model once; later calls return at once."""
        if self.loaded:
            return
        report = progress or (lambda fraction, detail: None)
        options = self.options
        spec = str(options.get("model") or loading.DEFAULT_MODEL)
        if options.get("revision") and not loading.is_local(spec) and "@" not in spec:
            spec = f"{spec}@{options['revision']}"
        offline = bool(options.get("local_files_only", False))
        cache_dir = options.get("cache_dir") or None
        report(0.0, f"looking for the Higgs Audio model {spec}")
        model_dir = loading.resolve_source(
            spec,
            what="Higgs Audio model",
            local_files_only=offline,
            progress=report,
            span=(0.0, 0.7),
            cache_dir=cache_dir,
        )
        loading.check_model_folder(model_dir)
        codec_spec = str(
            options.get("tokenizer") or loading.codec_reference(model_dir) or loading.DEFAULT_TOKENIZER
        )
        codec_dir = loading.resolve_source(
            codec_spec,
            what="Higgs audio tokenizer",
            local_files_only=offline,
            progress=report,
            span=(0.7, 0.8),
            cache_dir=cache_dir,
        )
        loading.check_codec_folder(codec_dir)
        device = loading.pick_device(str(options.get("device", "auto")))
        dtype = loading.pick_dtype(str(options.get("dtype", "auto")), device)
        from engine.higgs.quantize import parse_codec_device, parse_precision

        choice = (
            parse_precision(options.get("precision")),
            parse_codec_device(options.get("codec_device")),
            str(options.get("adapter_precision") or "auto"),
        )
        with _LOAD_LOCK:
            # the memory plan is made before loading; a model already loaded keeps the plan it was loaded by
            plan = loading.held_plan(model_dir, codec_dir, device, dtype, *choice, loaded=_LOADED)
            if plan is None:
                plan = loading.plan_load(
                    model_dir,
                    codec_dir,
                    device,
                    dtype,
                    precision=choice[0],
                    codec_device=choice[1],
                    adapter=choice[2],
                    want_batch=self._batch_size(),
                )
            key = loading.load_key(model_dir, codec_dir, device, dtype, plan)
            loading.PLANS[key] = plan
            codec_device = device if plan.codec_on_device else "cpu"
            if key not in _LOADED:
                report(0.8, f"loading Higgs Audio onto {device}: {plan.line()}")
                codec = loading.load_codec(codec_dir, codec_device)
                processor = loading.load_processor(model_dir, codec)
                model = loading.load_model(
                    model_dir, device, dtype, precision=plan.precision, adapter=plan.adapter, plan=plan
                )
                _LOADED[key] = (model, processor, _version(model_dir))
            self._model, self._processor, self.version = _LOADED[key]
        self._cache_key = key
        self.memory_plan = plan
        self.model_id = spec
        self.device = device
        self.loaded = True
        weights = "" if plan.precision == "bf16" else f", {plan.precision} weights"
        codec_note = "" if plan.codec_on_device else ", codec on the CPU"
        dtype_name = str(dtype).removeprefix("torch.")
        report(1.0, f"Higgs Audio ready on {device} ({dtype_name}{weights}{codec_note})")

    def memory_plan_status(self) -> str:
        """One line for the engine status and the serve log: the memory plan made before loading."""
        plan = getattr(self, "memory_plan", None)
        if plan is None:
            if self.loaded:
                return "memory plan: none (model given in memory)"
            return "memory plan: none yet (made when the model loads)"
        return f"memory plan: {plan.line()}"

    def close(self) -> None:
        if self._cache_key is not None:
            with _LOAD_LOCK:
                _LOADED.pop(self._cache_key, None)
        self._model = self._processor = self._slots = None
        self._codes.clear()
        self.loaded = False
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001 - freeing memory is best effort
            pass

    # ------------------------------------------------------------------ checks

    def check(self, job: RenderJob) -> str:
        try:
            check_job(job)
        except PromptError as exc:
            return str(exc)
        if job.kind not in ("dialogue", "humming", "music"):
            return f"unknown line kind {job.kind!r}; use dialogue, humming or music"
        if not normalize_text(job.text, job.language):
            return "the line has no text to speak"
        p = job.params
        if p.temperature < 0:
            return f"temperature must be 0 (greedy) or more, not {p.temperature}"
        if not 0 < p.top_p <= 1:
            return f"top-p must be above 0 and at most 1, not {p.top_p}"
        if p.max_new_tokens <= guard.STEP_OVERHEAD:
            return f"max new tokens must be more than {guard.STEP_OVERHEAD} (25 make one second), not {p.max_new_tokens}"
        return super().check(job)

    # ------------------------------------------------------------------ rendering

    def render(self, job: RenderJob, progress: ProgressFn, cancelled: CancelledFn) -> RenderResult:
        return result_of(self.render_batch([job], progress, cancelled)[0], "the line could not be rendered")

    def render_stream(
        self,
        jobs: Sequence[RenderJob],
        progress: ProgressFn,
        cancelled: CancelledFn,
        *,
        more: JobSource | None = None,
        chunk: ChunkFn | None = None,
    ) -> Iterator[JobOutcome]:
        """The fast path (continuous batching, partial audio) unless ``fast`` is off. Never raises."""
        if not self._fast() or not self.loaded:
            yield from super().render_stream(jobs, progress, cancelled)
            return
        from engine.higgs.continuous import ContinuousRender, slots_for

        if self._slots is None:
            self._slots = slots_for(self._model, self.options)
        yield from ContinuousRender(self, self._slots).run(jobs, progress, cancelled, more=more, chunk=chunk)

    def status_detail(self) -> str:
        """The render path and, when the model was planned and loaded here, its memory plan."""
        if getattr(self, "memory_plan", None) is None:
            return self.fast_path_status()
        return f"{self.fast_path_status()}; {self.memory_plan_status()}"

    def fast_path_status(self) -> str:
        """One line for the engine status: which path renders, and whether CUDA graphs are on and why."""
        if not self._fast():
            return "fast path off (option): lines render through generate()"
        if self._slots is not None:
            return f"fast path on; {self._slots.graph_reason}"
        on_cuda = str(self.device).startswith("cuda")
        return "fast path on; " + ("CUDA graphs on" if on_cuda else "CUDA graphs off: no CUDA device")

    def render_batch(
        self, jobs: Sequence[RenderJob], progress: ProgressFn, cancelled: CancelledFn
    ) -> list[JobOutcome]:
        """The plain path: same-group single-chunk lines batched into one ``generate``, long lines chunk by chunk. Never raises."""
        if not self.loaded:
            return [JobOutcome(j.job_id, error="the Higgs model is not loaded") for j in jobs]
        outcomes: dict[int, JobOutcome] = {}
        batchable: dict[tuple[Any, ...], list[tuple[int, _Row]]] = {}
        long_jobs: list[tuple[int, list[str]]] = []
        for index, job in enumerate(jobs):
            reason = self.check(job)
            if reason:
                outcomes[index] = JobOutcome(job.job_id, error=reason)
                continue
            chunks = chunk_text(
                normalize_text(job.text, job.language), self._int_option("chunk_words", DEFAULT_CHUNK_WORDS)
            )
            if len(chunks) > 1:
                long_jobs.append((index, chunks))
                continue
            try:
                row = self._row(job, chunks[0], context_turns(job, self._context_turns()), {})
            except (PromptError, AudioInputError, BackendError) as exc:
                outcomes[index] = JobOutcome(job.job_id, error=str(exc))
                continue
            key = (job.group or f"\0{index}", *_settings(job))
            batchable.setdefault(key, []).append((index, row))

        size = self._batch_size()
        for members in batchable.values():
            for start in range(0, len(members), size):
                part = members[start : start + size]
                for index, outcome in zip(
                    [i for i, _ in part],
                    self._render_rows([r for _, r in part], progress, cancelled),
                    strict=True,
                ):
                    outcomes[index] = outcome
        for index, chunks in long_jobs:
            outcomes[index] = self._render_long(jobs[index], chunks, progress, cancelled)
        return [outcomes[i] for i in range(len(jobs))]

    def _render_rows(
        self, rows: list[_Row], progress: ProgressFn, cancelled: CancelledFn
    ) -> list[JobOutcome]:
        live = [r for r in rows if not cancelled(r.job.job_id)]
        results: dict[str, JobOutcome] = {
            r.job.job_id: JobOutcome(r.job.job_id, cancelled=True) for r in rows if r not in live
        }
        if live:
            try:
                generated = self._generate(
                    live,
                    seeds=[r.job.params.seed for r in live],
                    progress=progress,
                    cancelled=cancelled,
                    span=(0.0, GENERATION_SHARE),
                )
            except Exception as exc:  # one failed generate fails its batch, never the engine
                message = _failure(exc, len(live))
                return [results.get(r.job.job_id) or JobOutcome(r.job.job_id, error=message) for r in rows]
            for row, (codes, was_cancelled) in zip(live, generated, strict=True):
                if was_cancelled:
                    results[row.job.job_id] = JobOutcome(row.job.job_id, cancelled=True)
                    continue
                try:
                    result = self._finish(
                        row.job, codes, capped=codes.shape[0] >= row.budget, budget=row.budget
                    )
                except Exception as exc:  # noqa: BLE001 - a decode failure fails one line
                    results[row.job.job_id] = JobOutcome(row.job.job_id, error=f"{type(exc).__name__}: {exc}")
                    continue
                progress(row.job.job_id, 1.0)
                results[row.job.job_id] = JobOutcome(row.job.job_id, result=result)
        return [results[r.job.job_id] for r in rows]

    def _render_long(
        self, job: RenderJob, chunks: list[str], progress: ProgressFn, cancelled: CancelledFn
    ) -> JobOutcome:
        """A long line chunk by chunk, each chunk prompted with the previous ones' audio."""
        buffer = TurnBuffer(self._context_turns(), context_turns(job, self._context_turns()))
        generated: dict[int, Any] = {}
        parts: list[np.ndarray] = []
        budget = 0
        capped = False
        try:
            import torch

            for i, chunk in enumerate(chunks):
                if cancelled(job.job_id):
                    return JobOutcome(job.job_id, cancelled=True)
                row = self._row(job, chunk, buffer.turns(), generated)
                span = (GENERATION_SHARE * i / len(chunks), GENERATION_SHARE * (i + 1) / len(chunks))
                [(codes, was_cancelled)] = self._generate(
                    [row], seeds=[job.params.seed + i], progress=progress, cancelled=cancelled, span=span
                )
                if was_cancelled:
                    return JobOutcome(job.job_id, cancelled=True)
                capped = capped or codes.shape[0] >= row.budget
                budget += row.budget
                parts.append(codes)
                generated[i] = torch.from_numpy(np.ascontiguousarray(codes.T))
                buffer.append(PriorTurn(text=chunk, audio=i, speaker=job.speaker, normalized=True))
            codes = np.concatenate(parts, axis=0)
            result = self._finish(job, codes, capped=capped, budget=budget)
        except PromptError as exc:
            return JobOutcome(job.job_id, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - a backend bug fails the line, not the engine
            return JobOutcome(job.job_id, error=_failure(exc, 1))
        progress(job.job_id, 1.0)
        return JobOutcome(job.job_id, result=result)

    def _row(self, job: RenderJob, text: str, prior: Sequence[PriorTurn], chunks: dict[int, Any]) -> _Row:
        references = str(self.options.get("references", "auto"))
        if references not in PLACEMENTS:
            raise BackendError(
                f"unknown references setting {references!r}; use one of {', '.join(PLACEMENTS)}"
            )
        conversation = build_conversation(job, text=text, prior=prior, references=references, normalized=True)
        audio = resolve_audio(self._processor, audio_items(conversation), self._codes, chunks)
        fixed = self._int_option("fixed_frames", 0)
        if fixed > 0:
            return _Row(job, conversation, audio, budget=fixed, min_frames=fixed)
        budget = guard.frame_budget(text, max_new_tokens=job.params.max_new_tokens, kind=job.kind)
        return _Row(job, conversation, audio, budget=budget, min_frames=0)

    def _generate(
        self,
        rows: list[_Row],
        *,
        seeds: list[int],
        progress: ProgressFn,
        cancelled: CancelledFn,
        span: tuple[float, float],
    ) -> list[tuple[np.ndarray, bool]]:
        """One ``generate`` call for ``rows``: per row the content codes (frames, 8) and whether it was cancelled."""
        import torch
        from transformers import LogitsProcessorList, StoppingCriteriaList

        model, processor = self._model, self._processor
        prompts = [
            processor.apply_chat_template(r.conversation, add_generation_prompt=True, tokenize=False)
            for r in rows
        ]
        inputs = build_inputs(processor, prompts, [r.audio for r in rows])
        prompt_width = int(inputs["audio_input_ids"].shape[1]) if "audio_input_ids" in inputs else 0
        inputs = {k: v.to(model.device) for k, v in inputs.items()}

        config = model.config
        steps = [guard.steps_for(r.budget) for r in rows]
        generation_config = _generation_config(model.generation_config, rows[0].job, max(steps))
        window = frame_window(
            [r.min_frames for r in rows],
            [r.budget for r in rows],
            num_codebooks=config.num_codebooks,
            codebook_size=config.codebook_size,
            eos_id=config.audio_stream_eos_id,
        )
        picker = frame_picker(
            sampler.Settings.of(
                [self.sampler_params(r.job, seed) for r, seed in zip(rows, seeds, strict=True)], model.device
            ),
            sampler.start_history(_prompt_streams(inputs, len(rows)), config.num_codebooks, model.device),
            num_codebooks=config.num_codebooks,
            codebook_size=config.codebook_size,
        )
        watch = job_watch([r.job.job_id for r in rows], steps, progress, cancelled, span=span)
        self.last_prompts = prompts
        started = time.perf_counter()
        with torch.inference_mode(), self._attention_kernels(model.device.type):
            sequences = model.generate(
                **inputs,
                generation_config=generation_config,
                logits_processor=LogitsProcessorList([window, picker]),
                stopping_criteria=StoppingCriteriaList([watch]),
            )
        if model.device.type == "cuda":
            torch.cuda.synchronize(model.device)
        elapsed = time.perf_counter() - started
        codes = extract_codes(
            sequences, prompt_width, bos=config.audio_stream_bos_id, eos=config.audio_stream_eos_id
        )
        self.last_stats = {
            "rows": len(rows),
            "prompt_tokens": int(inputs["input_ids"].shape[1]),
            # audio frames in each row's prompt: every clip's frames + BOS/EOS + 7 delay frames
            "prompt_audio_frames": [
                sum(int(a.shape[1]) + guard.STEP_OVERHEAD for a in r.audio) for r in rows
            ],
            "steps": int(sequences.shape[1]) - prompt_width,
            "frames": [int(c.shape[0]) for c in codes],
            "generate_s": elapsed,
            "seeds": list(seeds),
        }
        return [(c, i in watch.cancelled_rows) for i, c in enumerate(codes)]

    def _finish(self, job: RenderJob, codes: np.ndarray, *, capped: bool, budget: int) -> RenderResult:
        """Decode a job's codes and run the take check (no trimming or cap note in fixed-length mode)."""
        started = time.perf_counter()
        audio = decode_codes(self._processor, codes)
        self.last_stats["decode_s"] = self.last_stats.get("decode_s", 0.0) + time.perf_counter() - started
        fixed = self._int_option("fixed_frames", 0) > 0
        check = guard.check_take(
            audio,
            SAMPLE_RATE,
            capped=capped and not fixed,
            limit_s=budget / guard.FRAME_RATE,
            trim=bool(self.options.get("trim_silence", True)) and not fixed,
        )
        return RenderResult(
            audio=check.audio, sample_rate=SAMPLE_RATE, suspect=check.suspect, note=check.note, codes=codes
        )

    def _attention_kernels(self, device_type: str) -> Any:
        """Attention kernels for ``generate``: on CUDA, everything but cuDNN unless ``cudnn_attention``.

        cuDNN's attention (PyTorch's first choice on Hopper) builds an execution plan for every new
        (batch, length) shape, and a generation meets a new length at every step: measured on an H100
        with the full-size model, a batch's first render ran at 67-81 ms/step with it and 19-26 ms/step
        without it (the same shapes again: 22-31 ms/step with it).
        """
        import contextlib

        if device_type != "cuda" or self.options.get("cudnn_attention", False):
            return contextlib.nullcontext()
        from torch.nn.attention import SDPBackend, sdpa_kernel

        return sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH])

    # ------------------------------------------------------------------ hooks of the fast path

    @property
    def processor(self) -> Any:
        return self._processor

    def prompt_row(
        self, job: RenderJob, text: str, prior: Sequence[PriorTurn], chunks: dict[int, Any]
    ) -> _Row:
        return self._row(job, text, prior, chunks)

    def finish_take(self, job: RenderJob, codes: np.ndarray, *, capped: bool, budget: int) -> RenderResult:
        return self._finish(job, codes, capped=capped, budget=budget)

    def failure_message(self, exc: BaseException, rows: int) -> str:
        return _failure(exc, rows)

    def chunk_words(self) -> int:
        return self._int_option("chunk_words", DEFAULT_CHUNK_WORDS)

    def context_turn_count(self) -> int:
        return self._context_turns()

    def sampler_params(self, job: RenderJob, seed: int) -> tuple[float, int, float, int, int, int]:
        """The job's row for :class:`engine.higgs.sampler.Settings` (RAS off for humming and music)."""
        p = job.params
        temperature = float(p.temperature) if p.temperature > 0 else 0.0
        top_k = int(p.top_k) if p.top_k > 0 else 0
        top_p = float(p.top_p) if 0 < p.top_p < 1 else 1.0
        if is_musical(job.text, job.kind) or p.ras_win_len <= 0:
            ras = (0, 1)
        else:
            ras = (int(p.ras_win_len), max(1, int(p.ras_max_num_repeat)))
        return (temperature, top_k, top_p, *ras, int(seed))

    # ------------------------------------------------------------------ options

    def _fast(self) -> bool:
        value = str(self.options.get("fast", "auto")).lower()
        if value not in ("auto", "on", "off", "true", "false", "1", "0", "yes", "no"):
            raise BackendError(f"the Higgs option fast must be auto, on or off, not {value!r}")
        return value not in ("off", "false", "0", "no")

    def _int_option(self, name: str, default: int) -> int:
        value = self.options.get(name, default)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise BackendError(f"the Higgs option {name} must be a whole number, not {value!r}") from None

    def _batch_size(self) -> int:
        return max(1, self._int_option("batch_size", DEFAULT_BATCH_SIZE))

    def _context_turns(self) -> int:
        return max(0, self._int_option("context_turns", DEFAULT_CONTEXT_TURNS))


def _failure(exc: BaseException, rows: int) -> str:
    """A message for a failed ``generate`` call."""
    if isinstance(exc, (BackendError, AudioInputError)):
        return str(exc)
    if type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower():
        try:
            import torch

            torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001 - freeing memory is best effort
            pass
        return (
            f"the GPU ran out of memory generating {rows} line(s) together; lower the Higgs batch size "
            "or shorten the context (fewer context turns, shorter reference clips)"
        )
    return f"{type(exc).__name__}: {exc}"


def _settings(job: RenderJob) -> tuple[Any, ...]:
    """What must match for lines to share one ``generate`` call (everything but seed and length)."""
    p = job.params
    musical = is_musical(job.text, job.kind)
    return (p.temperature, p.top_k, p.top_p, musical, p.ras_win_len, p.ras_max_num_repeat)


def _prompt_streams(inputs: dict[str, Any], rows: int) -> list[Any]:
    """Each row's prompt audio stream (frames, C) without the batch's right padding (None = no audio)."""
    if "audio_input_ids" not in inputs:
        return [None] * rows
    ids, mask = inputs["audio_input_ids"], inputs["audio_input_ids_mask"]
    return [ids[b][mask[b]] for b in range(rows)]


def _generation_config(base: Any, job: RenderJob, max_new_tokens: int) -> Any:
    """The model's generation config made neutral: :func:`engine.higgs.sampling.frame_picker` picks.

    Temperature 1, top-k 0, top-p 1 and greedy selection over the picker's one-hot scores; RAS off —
    ``None`` would not do: generate() refills None settings from the checkpoint's generation config
    (top-k 50, top-p 0.95, RAS 7/2); two repeats can never fit a window of one frame.
    """
    config = copy.deepcopy(base)
    config.max_new_tokens = max_new_tokens
    config.min_new_tokens = None
    config.max_length = None
    config.do_sample = False
    config.temperature = 1.0
    config.top_k = 0
    config.top_p = 1.0
    config.ras_win_len, config.ras_win_max_num_repeat = RAS_OFF
    return config


def _version(model_dir: Path) -> str:
    """The checkpoint's revision: the commit hash of a Hugging Face cache snapshot, else "local"."""
    if model_dir.parent.name == "snapshots":
        return model_dir.name
    return "local"
