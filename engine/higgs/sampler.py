"""Chorus's one sampler for Higgs audio frames, shared by the plain (``generate``) and the fast path.

A frame is picked per row from scores shaped (rows, codebooks, codebook_size) that already carry the
delay-pattern and frame-window masks: temperature, then top-k, then top-p (transformers' order), then
a Gumbel-max draw — which picks exactly as ``torch.multinomial`` on the softmax would, in
distribution. The random numbers come from a counter-based hash of (seed, frame, codebook, code), not
from torch's generator, so:

- a line's take depends on its own seed only — never on the lines that share its batch, its slot in
  a continuous batch, or the order lines join and leave;
- the plain and the fast path pick the same codes from the same scores;
- it runs inside a captured CUDA graph (no host syncs, no generator state).

Repetition-aware sampling (RAS, Boson's): when the picked code repeats ``ras_max`` times or more in the
row's last ``ras_win`` frames (stream BOS/EOS codes not counted), the code is drawn again from the
masked scores at temperature 1 without top-k/top-p. transformers redraws from the raw logits, which can
break the delay pattern (a stream BOS code inside the audio); Chorus keeps the masks.

Temperature 0 means greedy (argmax; RAS still applies, as in the reference).
All functions take and return torch tensors on one device; nothing here syncs with the host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

M32 = 0xFFFFFFFF
_MULT = 0x45D9F3B  # a 32-bit integer hash multiplier (< 2**31, so products stay inside int64)
_GOLDEN = 0x9E3779B1
HISTORY = 16  # frames of history kept per row for RAS (windows longer than this are cut to it)


def _mix(x: Any) -> Any:
    """A 32-bit avalanche hash of int64 values in [0, 2**32)."""
    x = x ^ (x >> 16)
    x = (x * _MULT) & M32
    x = x ^ (x >> 16)
    x = (x * _MULT) & M32
    return x ^ (x >> 16)


def uniform(seeds: Any, frames: Any, shape: tuple[int, int]) -> Any:
    """Uniform noise in (0, 1), (rows, *shape) float32, from (seed, frame, position) of each row."""
    import torch

    rows = seeds.shape[0]
    key = _mix((_mix(seeds & M32) + (frames & M32) * 0x27D4EB2F) & M32)
    index = torch.arange(shape[0] * shape[1], device=seeds.device, dtype=torch.long)
    bits = _mix((key[:, None] + index[None, :] * _GOLDEN) & M32)
    noise = ((bits >> 8).to(torch.float32) + 0.5) * (1.0 / (1 << 24))
    return noise.view(rows, *shape)


def gumbel(seeds: Any, frames: Any, shape: tuple[int, int]) -> Any:
    import torch

    return -torch.log(-torch.log(uniform(seeds, frames, shape)))


@dataclass
class Settings:
    """Per-row sampling settings as tensors on the scores' device (rows,)."""

    temperature: Any  # float32; 0 = greedy
    top_k: Any  # int64; 0 = off
    top_p: Any  # float32; 1 = off
    ras_win: Any  # int64; 0 = RAS off
    ras_max: Any  # int64
    seeds: Any  # int64

    @classmethod
    def of(cls, params: list[tuple[float, int, float, int, int, int]], device: Any) -> Settings:
        """From (temperature, top_k, top_p, ras_win, ras_max, seed) per row."""
        import torch

        columns = list(zip(*params, strict=True)) if params else [()] * 6
        return cls(
            temperature=torch.tensor(columns[0], dtype=torch.float32, device=device),
            top_k=torch.tensor(columns[1], dtype=torch.long, device=device),
            top_p=torch.tensor(columns[2], dtype=torch.float32, device=device),
            ras_win=torch.tensor(columns[3], dtype=torch.long, device=device).clamp(0, HISTORY),
            ras_max=torch.tensor(columns[4], dtype=torch.long, device=device).clamp(min=1),
            seeds=torch.tensor(columns[5], dtype=torch.long, device=device),
        )


def filtered(scores: Any, settings: Settings) -> Any:
    """``scores`` / temperature with everything outside top-k and top-p at -inf (rows, C, V)."""
    import torch

    rows, books, size = scores.shape
    greedy = settings.temperature <= 0
    temperature = torch.where(greedy, torch.ones_like(settings.temperature), settings.temperature)
    logits = scores / temperature[:, None, None]
    ordered, order = logits.sort(dim=-1, descending=True)
    rank = torch.arange(size, device=scores.device)
    k = torch.where(settings.top_k > 0, settings.top_k, torch.full_like(settings.top_k, size))
    keep = rank[None, None, :] < k[:, None, None]
    probs = torch.softmax(torch.where(keep, ordered, torch.full_like(ordered, -float("inf"))), dim=-1)
    before = probs.cumsum(dim=-1) - probs
    keep = keep & ((before < settings.top_p[:, None, None]) | (rank[None, None, :] == 0))
    unsorted = torch.zeros_like(keep).scatter(-1, order, keep)
    return torch.where(unsorted, logits, torch.full_like(logits, -float("inf")))


def pick(scores: Any, settings: Settings, frames: Any, history: Any) -> Any:
    """The codes of one frame per row (rows, C) int64 from masked ``scores`` (rows, C, V) float32.

    ``frames`` (rows,) is the index of the frame being picked (0 = the stream-BOS frame); ``history``
    (rows, HISTORY, C) holds each row's last frames (most recent last; -1 = none) for RAS.
    """
    import torch

    rows, books, size = scores.shape
    greedy = (settings.temperature <= 0)[:, None]
    noise = gumbel(settings.seeds, frames, (2 * books, size))  # the draw's and a RAS redraw's, at once
    drawn = (filtered(scores, settings) + noise[:, :books]).argmax(dim=-1)
    codes = torch.where(greedy, scores.argmax(dim=-1), drawn)
    # RAS: count the picked code in the row's window of recent frames.
    window = torch.arange(HISTORY, device=scores.device)[None, :] >= (HISTORY - settings.ras_win)[:, None]
    counted = (history >= 0) & (history < size - 2)  # stream BOS/EOS (the last two codes) don't count
    same = (history == codes[:, None, :]) & counted & window[:, :, None]
    redraw = same.sum(dim=1) >= settings.ras_max[:, None]
    again = (scores + noise[:, books:]).argmax(dim=-1)
    return torch.where(redraw, again, codes)


def push(history: Any, codes: Any) -> Any:
    """``history`` with ``codes`` (rows, C) appended as the most recent frame (oldest dropped)."""
    import torch

    return torch.cat([history[:, 1:], codes[:, None, :]], dim=1)


def start_history(tails: list[Any], books: int, device: Any) -> Any:
    """(rows, HISTORY, C) history from each row's prompt audio tail (frames, C) (empty = none)."""
    import torch

    history = torch.full((len(tails), HISTORY, books), -1, dtype=torch.long, device=device)
    for row, tail in enumerate(tails):
        if tail is not None and len(tail):
            last = tail[-HISTORY:].to(device=device, dtype=torch.long)
            history[row, HISTORY - len(last) :] = last
    return history


def frame_masks(
    scores: Any,
    frames: Any,
    delay: Any,
    min_frames: Any,
    max_frames: Any,
    *,
    bos: int,
    eos: int,
) -> Any:
    """``scores`` (rows, C, V) with the delay pattern and the frame window applied, as ``generate`` does.

    The delay pattern (transformers' ``HiggsAudioV2DelayPatternLogitsProcessor`` for a prompt ending in
    ``<|audio_out_bos|>``): at frame f codebooks k ≥ f can only be stream BOS; ``delay`` (rows,) counts
    the frames since a stream EOS was first picked in the row — codebooks k < delay can only be EOS.
    Then Chorus's frame window (:func:`engine.higgs.sampling.frame_window`): from frame 1, EOS is
    banned everywhere while ``frames < min_frames`` (a codebook left with nothing gets EOS back) and
    codebook 0 is forced to EOS at ``frames == max_frames``.
    """
    import torch

    rows, books, size = scores.shape
    neg = -float("inf")
    book = torch.arange(books, device=scores.device)[None, :]
    code = torch.arange(size, device=scores.device)[None, None, :]
    only_bos = (book >= frames[:, None])[:, :, None] & (code != bos)
    only_eos = (book < delay[:, None])[:, :, None] & (code != eos)
    scores = scores.masked_fill(only_bos | only_eos, neg)
    started = (frames > 0)[:, None, None]
    ban = started & (frames < min_frames)[:, None, None] & (code == eos)
    banned = scores.masked_fill(ban, neg)
    dead = torch.isinf(banned).all(dim=-1, keepdim=True) & (code == eos)
    scores = torch.where(dead, torch.zeros_like(banned), banned)
    force = (started & (frames == max_frames)[:, None, None]) & (book == 0)[:, :, None]
    return torch.where(force & (code != eos), torch.full_like(scores, neg), torch.where(force, 0.0, scores))
