"""Higgs renders through the fast path: jobs → slot lines → the continuous scheduler → takes.

:class:`ContinuousRender` turns render jobs into :class:`engine.higgs.slots.SlotLine` s (a long line
becomes its chunks, each prompted with the previous chunks' audio: the next chunk joins the queue's
front when the one before finishes), runs them through :class:`engine.scheduler.ContinuousScheduler`
on the backend's :class:`~engine.higgs.slots.HiggsSlots`, pulls more jobs from the engine's queue as
slots free up, streams partial audio of the jobs that ask for it (``RenderJob.stream``), and yields each job's outcome when its last chunk ends.

Thread contract: created and run by the engine's worker thread (the backend's ``render_stream``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.backends.base import BackendError, CancelledFn, ChunkFn, JobOutcome, JobSource, ProgressFn
from engine.higgs import guard
from engine.higgs.chunking import TurnBuffer, chunk_text, context_turns
from engine.higgs.inputs import AudioInputError, build_inputs, decode_codes, extract_codes
from engine.higgs.prompt import PriorTurn, PromptError
from engine.higgs.slots import HiggsSlots, SlotLine
from engine.higgs.text import normalize_text
from engine.protocol import RenderJob
from engine.scheduler import BatchFailed, ContinuousScheduler

GENERATION_SHARE = 0.95
DEFAULT_SLOTS_CUDA = 128  # max_slots 0 = auto (fewer when the free memory cannot hold their cache)
DEFAULT_SLOTS_CPU = 8
STREAM_EVERY_FRAMES = 25  # partial audio goes out about once a second of audio
STREAM_MARGIN_SAMPLES = 2 * guard.SAMPLES_PER_FRAME  # the codec's edge is held back until more frames come


@dataclass(eq=False)
class _Job:
    job: RenderJob
    chunks: list[str]
    buffer: TurnBuffer
    index: int = 0
    parts: list[np.ndarray] = field(default_factory=list)
    generated: dict[int, Any] = field(default_factory=dict)
    budget: int = 0
    capped: bool = False
    streamed: int = 0  # samples already sent as partial audio
    streamed_frames: int = 0


class ContinuousRender:
    def __init__(self, backend: Any, slots: HiggsSlots, *, poll_every: int = 4) -> None:
        self.backend = backend
        self.slots = slots
        self.scheduler = ContinuousScheduler(slots, poll_every=poll_every)
        self._ready: list[JobOutcome] = []

    def run(
        self,
        jobs: Sequence[RenderJob],
        progress: ProgressFn,
        cancelled: CancelledFn,
        *,
        more: JobSource | None = None,
        chunk: ChunkFn | None = None,
    ) -> Iterator[JobOutcome]:
        """Render ``jobs`` (and what ``more`` hands out); yield each outcome as soon as it is ready."""
        first = [line for job in jobs if (line := self._start(job)) is not None]
        self.slots.expect_more = more is not None

        def pull(places: int) -> list[SlotLine]:
            if more is None:
                return []
            return [line for job in more(places) if (line := self._start(job)) is not None]

        def on_progress(line: SlotLine, frames: int) -> None:
            state: _Job = line.key
            done = min(1.0, frames / max(1, line.max_steps))
            progress(state.job.job_id, GENERATION_SHARE * (state.index + done) / len(state.chunks))
            if chunk is not None and state.job.stream and frames - state.streamed_frames >= STREAM_EVERY_FRAMES:
                state.streamed_frames = frames
                self._stream(state, self.slots.partial(line), chunk, final=False)

        try:
            yield from self._drain()
            for event in self.scheduler.run(
                first,
                more=pull,
                cancelled=lambda line: cancelled(line.key.job.job_id),
                progress=on_progress,
                follow=self._follow,
            ):
                state = event.line.key
                if event.cancelled:
                    yield JobOutcome(state.job.job_id, cancelled=True)
                elif state.index == len(state.chunks):
                    outcome = self._finish(state, chunk)
                    if outcome.result is not None:
                        progress(state.job.job_id, 1.0)
                    yield outcome
                yield from self._drain()
        except BatchFailed as failure:
            reason = self.backend.failure_message(failure.__cause__ or failure, len(failure.unfinished))
            seen: set[str] = set()
            for line in failure.unfinished:
                job_id = line.key.job.job_id
                if job_id not in seen:
                    seen.add(job_id)
                    yield JobOutcome(job_id, error=reason)
        yield from self._drain()

    def _drain(self) -> Iterator[JobOutcome]:
        ready, self._ready = self._ready, []
        yield from ready

    def _start(self, job: RenderJob) -> SlotLine | None:
        """The first line of ``job``, or None with its error outcome queued."""
        reason = self.backend.check(job)
        if reason:
            self._ready.append(JobOutcome(job.job_id, error=reason))
            return None
        backend = self.backend
        turns = backend.context_turn_count()
        chunks = chunk_text(normalize_text(job.text, job.language), backend.chunk_words())
        state = _Job(job, chunks, TurnBuffer(turns, context_turns(job, turns)))
        try:
            return self._line(state)
        except (PromptError, AudioInputError, BackendError) as exc:
            self._ready.append(JobOutcome(job.job_id, error=str(exc)))
            return None

    def _line(self, state: _Job) -> SlotLine:
        backend = self.backend
        text = state.chunks[state.index]
        row = backend.prompt_row(state.job, text, state.buffer.turns(), state.generated)
        processor = backend.processor
        prompt = processor.apply_chat_template(row.conversation, add_generation_prompt=True, tokenize=False)
        inputs = build_inputs(processor, [prompt], [row.audio])
        audio = inputs["audio_input_ids"][0] if "audio_input_ids" in inputs else None
        steps = guard.steps_for(row.budget)
        params = backend.sampler_params(state.job, state.job.params.seed + state.index)
        return SlotLine(state, inputs["input_ids"][0], audio, params, row.min_frames, row.budget, steps)

    def _follow(self, line: SlotLine, frames: Any) -> list[SlotLine]:
        """Keep a finished chunk's codes; the job's next chunk, if any, comes next."""
        import torch

        state: _Job = line.key
        config = self.slots.config
        [codes] = extract_codes(
            frames[None], 0, bos=config.audio_stream_bos_id, eos=config.audio_stream_eos_id
        )
        state.capped = state.capped or codes.shape[0] >= line.max_frames
        state.budget += line.max_frames
        state.parts.append(codes)
        state.generated[state.index] = torch.from_numpy(np.ascontiguousarray(codes.T))
        text = state.chunks[state.index]
        state.buffer.append(
            PriorTurn(text=text, audio=state.index, speaker=state.job.speaker, normalized=True)
        )
        state.index += 1
        if state.index == len(state.chunks):
            return []
        try:
            return [self._line(state)]
        except (PromptError, AudioInputError, BackendError) as exc:
            self._ready.append(JobOutcome(state.job.job_id, error=str(exc)))
            return []

    def _finish(self, state: _Job, chunk: ChunkFn | None) -> JobOutcome:
        job = state.job
        codes = np.concatenate(state.parts, axis=0) if state.parts else np.zeros((0, 8), dtype=np.int64)
        try:
            result = self.backend.finish_take(job, codes, capped=state.capped, budget=state.budget)
        except Exception as exc:  # noqa: BLE001 - a decode failure fails one line
            return JobOutcome(job.job_id, error=f"{type(exc).__name__}: {exc}")
        if chunk is not None and job.stream:
            self._stream(state, None, chunk, final=True)
        return JobOutcome(job.job_id, result=result)

    def _stream(self, state: _Job, partial: Any, chunk: ChunkFn, *, final: bool) -> None:
        """Send the audio of ``state`` made since its last chunk (all of it when ``final``)."""
        config = self.slots.config
        parts = list(state.parts)
        if partial is not None:
            [codes] = extract_codes(
                partial[None], 0, bos=config.audio_stream_bos_id, eos=config.audio_stream_eos_id
            )
            parts.append(codes)
        if not parts or not sum(len(p) for p in parts):
            return
        audio = decode_codes(self.backend.processor, np.concatenate(parts, axis=0))
        end = len(audio) if final else len(audio) - STREAM_MARGIN_SAMPLES
        if end > state.streamed:
            chunk(
                state.job.job_id, np.asarray(audio[state.streamed : end], dtype=np.float32), guard.SAMPLE_RATE
            )
            state.streamed = end


def slots_for(model: Any, options: dict[str, Any]) -> HiggsSlots:
    """A :class:`HiggsSlots` for ``model`` sized by the backend options and the free device memory."""
    from engine.higgs.memory import slot_memory_budget

    graphs_option = str(options.get("graphs", "auto")).lower()
    graphs = None if graphs_option == "auto" else graphs_option in ("on", "true", "1", "yes")
    max_slots = int(options.get("max_slots", 0) or 0) or (DEFAULT_SLOTS_CUDA if model.device.type == "cuda" else DEFAULT_SLOTS_CPU)
    return HiggsSlots(model, max_slots=max_slots, memory_bytes=slot_memory_budget(model), graphs=graphs)
