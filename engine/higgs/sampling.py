"""Generation control hooks for ``HiggsAudioV2ForConditionalGeneration.generate``.

- :func:`frame_window` — a logits processor holding each row of a batch between a minimum and a
  maximum number of content frames: before the minimum the audio end-of-stream code is banned in every
  codebook; at the maximum it is forced in codebook 0, which starts the model's own delay-pattern
  ending (the other codebooks follow over 7 steps). This is the per-line runaway cap, and (with
  min = max) the fixed-length mode used by tests and benchmarks.
- :func:`frame_picker` — a logits processor that picks each row's frame with Chorus's own sampler
  (:mod:`engine.higgs.sampler`: per-row seeds, RAS) and hands ``generate`` a one-hot score, so the plain
  path and the fast path (:mod:`engine.higgs.slots`) pick the same codes. ``generate``'s own RAS must be
  off and its temperature/top-k/top-p neutral (the picker applies the row's settings itself).
- :func:`job_watch` — a stopping criterion that stops the rows whose job was cancelled and reports
  per-job progress.

Why the odd base class: HiggsAudioV2's ``generate`` accepts only logits processors that are instances
of temperature/top-k/top-p/InfNan processors (others would index text-vocabulary logits), so ours
subclass ``InfNanRemoveLogitsProcessor``. They run after the delay-pattern processor, on scores shaped
(batch × codebooks, codebook_size), and before temperature/top-k/top-p. Checked against transformers
5.17 and 5.24.

torch/transformers are imported inside the factories. The objects are used by the thread that calls
``generate``; the callbacks they hold are called from that thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

PROGRESS_EVERY_STEPS = 5


def frame_window(
    min_frames: Sequence[int],
    max_frames: Sequence[int],
    *,
    num_codebooks: int,
    codebook_size: int,
    eos_id: int,
) -> Any:
    """A logits processor keeping row ``b`` between ``min_frames[b]`` and ``max_frames[b]`` content frames."""
    return _classes()[0](min_frames, max_frames, num_codebooks, codebook_size, eos_id)


def frame_picker(settings: Any, history: Any, *, num_codebooks: int, codebook_size: int) -> Any:
    """A logits processor picking every row's frame with :func:`engine.higgs.sampler.pick`.

    ``settings`` is a :class:`engine.higgs.sampler.Settings` for the rows, ``history`` their starting
    RAS history (:func:`engine.higgs.sampler.start_history`). Must run after :func:`frame_window`.
    """
    return _classes()[2](settings, history, num_codebooks, codebook_size)


def job_watch(
    job_ids: Sequence[str],
    steps: Sequence[int],
    progress: Callable[[str, float], None],
    cancelled: Callable[[str], bool],
    *,
    span: tuple[float, float] = (0.0, 1.0),
) -> Any:
    """A stopping criterion: True for rows whose job is cancelled; reports progress within ``span``.

    ``steps[b]`` is the number of steps row ``b`` is expected to take at most (for the fraction).
    After generation, ``.cancelled_rows`` holds the indices of the rows stopped by a cancel.
    """
    return _classes()[1](job_ids, steps, progress, cancelled, span)


@cache
def _classes() -> tuple[type, type, type]:
    import torch
    from transformers.generation.logits_process import InfNanRemoveLogitsProcessor
    from transformers.generation.stopping_criteria import StoppingCriteria

    class FrameWindow(InfNanRemoveLogitsProcessor):
        def __init__(
            self,
            min_frames: Sequence[int],
            max_frames: Sequence[int],
            num_codebooks: int,
            codebook_size: int,
            eos_id: int,
        ) -> None:
            super().__init__()
            self.min_frames = torch.tensor(list(min_frames), dtype=torch.long)
            self.max_frames = torch.tensor(list(max_frames), dtype=torch.long)
            self.num_codebooks = num_codebooks
            self.codebook_size = codebook_size
            self.eos_id = eos_id
            # Index of the frame being sampled. Frame 0 is the all-BOS frame; when codebook 0 first
            # samples the stream EOS at frame s, the take has s content frames (the other codebooks
            # end over the following 8 steps, see HiggsAudioV2DelayPatternLogitsProcessor).
            self.step = 0

        def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
            frame = self.step
            self.step += 1
            if frame == 0:
                return scores
            view = scores.view(-1, self.num_codebooks, self.codebook_size)
            device = scores.device
            ban = self.min_frames > frame  # on the CPU: deciding costs no GPU sync
            if bool(ban.any()):
                view[ban.to(device), :, self.eos_id] = -float("inf")
                # Never leave a codebook with nothing to sample: where the model's own ending already
                # forces the EOS code (the ban crossed it), give EOS back.
                dead = torch.isinf(scores).all(dim=-1)
                scores[:, self.eos_id] = torch.where(dead, 0.0, scores[:, self.eos_id])
            force = self.max_frames == frame
            if bool(force.any()):
                rows = force.to(device)
                view[rows, 0, :] = -float("inf")
                view[rows, 0, self.eos_id] = 0.0
            return scores

    class JobWatch(StoppingCriteria):
        def __init__(
            self,
            job_ids: Sequence[str],
            steps: Sequence[int],
            progress: Callable[[str, float], None],
            cancelled: Callable[[str], bool],
            span: tuple[float, float],
        ) -> None:
            self.job_ids = list(job_ids)
            self.steps = [max(1, s) for s in steps]
            self.progress = progress
            self.cancelled = cancelled
            self.span = span
            self.step = 0
            self.cancelled_rows: set[int] = set()

        def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
            self.step += 1
            if self.step % PROGRESS_EVERY_STEPS == 0:
                low, high = self.span
                for row, job_id in enumerate(self.job_ids):
                    if row in self.cancelled_rows:
                        continue
                    if self.cancelled(job_id):
                        self.cancelled_rows.add(row)
                        continue
                    done = min(1.0, self.step / self.steps[row])
                    self.progress(job_id, low + (high - low) * done)
            stop = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
            for row in self.cancelled_rows:
                stop[row] = True
            return stop  # type: ignore[return-value]

    class FramePicker(InfNanRemoveLogitsProcessor):
        def __init__(self, settings: Any, history: Any, num_codebooks: int, codebook_size: int) -> None:
            super().__init__()
            self.settings = settings
            self.history = history
            self.num_codebooks = num_codebooks
            self.codebook_size = codebook_size
            self.step = 0

        def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
            from engine.higgs import sampler

            view = scores.view(-1, self.num_codebooks, self.codebook_size).float()
            frames = torch.full((view.shape[0],), self.step, dtype=torch.long, device=view.device)
            codes = sampler.pick(view, self.settings, frames, self.history)
            self.history = sampler.push(self.history, codes)
            self.step += 1
            chosen = torch.full_like(scores, -float("inf"))
            return chosen.view_as(view).scatter_(-1, codes[..., None], 0.0).view_as(scores)

    return FrameWindow, JobWatch, FramePicker
