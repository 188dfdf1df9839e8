"""Model inputs from conversations, and audio codes back out of ``generate``.

The processor's own ``apply_chat_template(tokenize=True)`` loads and encodes every audio item on every
call. Chorus renders many lines against the same reference clips and carries generated chunks as
codes, so it renders the prompt text with the chat template and assembles the audio stream itself,
exactly as ``HiggsAudioV2Processor.__call__`` does (stream BOS/EOS around each clip, delay pattern,
``<|AUDIO_OUT|>`` × (n − 7) + delay token × 7 per clip, text left-padded, audio right-padded with EOS
and masked), from codes that come from a cache of encoded files or from earlier chunks. Unlike the
processor it also accepts a batch in which some rows have no audio at all.

Thread contract: a :class:`CodeCache` and these functions are used from the engine's worker thread
only (they run the codec on the model's device).
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.higgs.guard import SAMPLE_RATE

CACHE_ENTRIES = 256


class AudioInputError(ValueError):
    """A reference or context clip that cannot be read (message names the file)."""


def load_audio(path: str | os.PathLike[str], sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A file as mono float32 at ``sample_rate`` (mixed down and resampled as needed)."""
    import soundfile as sf

    try:
        data, rate = sf.read(os.fspath(path), dtype="float32", always_2d=True)
    except FileNotFoundError:
        raise AudioInputError(f"audio file not found: {path}") from None
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise AudioInputError(f"cannot read audio file {path}: {exc}") from None
    mono = data.mean(axis=1)
    if rate != sample_rate:
        import soxr

        mono = soxr.resample(mono, rate, sample_rate, quality="HQ")
    if not len(mono):
        raise AudioInputError(f"audio file is empty: {path}")
    return np.ascontiguousarray(mono, dtype=np.float32)


def encode_waveform(processor: Any, waveform: np.ndarray) -> Any:
    """Codes (num_codebooks, frames) for a 24 kHz mono waveform, as the processor computes them."""
    import torch

    codec = processor.audio_tokenizer
    features = processor.feature_extractor(
        waveform, sampling_rate=SAMPLE_RATE, padding=False, return_tensors="pt"
    )
    features.pop("padding_mask", None)
    with torch.inference_mode():
        codes = codec.encode(**{k: v.to(codec.device) for k, v in features.items()}).audio_codes
    return codes[0].to("cpu", torch.long)


class CodeCache:
    """Encoded codes of audio files, keyed by path + size + mtime (a changed file is re-encoded)."""

    def __init__(self, entries: int = CACHE_ENTRIES) -> None:
        self._entries = entries
        self._codes: OrderedDict[tuple[str, int, int], Any] = OrderedDict()
        self.encoded = 0  # files encoded so far (for tests and stats)

    def codes(self, processor: Any, path: str) -> Any:
        try:
            stat = os.stat(path)
        except OSError:
            raise AudioInputError(f"audio file not found: {path}") from None
        key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
        if key in self._codes:
            self._codes.move_to_end(key)
            return self._codes[key]
        codes = encode_waveform(processor, load_audio(path))
        self.encoded += 1
        self._codes[key] = codes
        while len(self._codes) > self._entries:
            self._codes.popitem(last=False)
        return codes

    def clear(self) -> None:
        self._codes.clear()


def resolve_audio(
    processor: Any, items: Sequence[Mapping[str, Any]], cache: CodeCache, chunks: Mapping[int, Any]
) -> list[Any]:
    """Codes (num_codebooks, frames) for each audio item: files via ``cache``, chunks from ``chunks``."""
    out = []
    for item in items:
        if "chunk" in item:
            out.append(chunks[item["chunk"]])
        elif "path" in item:
            out.append(cache.codes(processor, item["path"]))
        else:
            raise AudioInputError(f"audio item without a source: {dict(item)!r}")
    return out


def build_inputs(processor: Any, prompts: Sequence[str], audio: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """Tensors for ``generate``: rendered ``prompts`` (one per row) and each row's audio codes in order.

    ``audio[b]`` holds (num_codebooks, frames) code tensors, one per ``<|AUDIO_OUT|>`` in ``prompts[b]``.
    """
    import torch
    import torch.nn.functional as F

    token = processor.audio_token
    texts: list[str] = []
    streams: list[Any] = []
    for prompt, codes_list in zip(prompts, audio, strict=True):
        found = prompt.count(token)
        if found != len(codes_list):
            raise ValueError(
                f"prompt has {found} audio placeholder(s) but {len(codes_list)} clip(s) were given"
            )
        delayed = [_delayed(processor, codes) for codes in codes_list]
        texts.append(_expand(processor, prompt, [len(d) for d in delayed]))
        width = int(codes_list[0].shape[0]) if codes_list else _num_codebooks(processor)
        streams.append(torch.cat(delayed, dim=0) if delayed else torch.zeros((0, width), dtype=torch.long))

    data = dict(
        processor.tokenizer(
            texts, padding=True, padding_side="left", return_tensors="pt", add_special_tokens=False
        )
    )
    if any(len(s) for s in streams):
        lengths = [len(s) for s in streams]
        longest = max(lengths)
        eos = processor.audio_stream_eos_id
        data["audio_input_ids"] = torch.stack(
            [F.pad(s, (0, 0, 0, longest - len(s)), value=eos) for s in streams], dim=0
        )
        data["audio_input_ids_mask"] = torch.arange(longest)[None, :] < torch.tensor(lengths)[:, None]
    return data


def _expand(processor: Any, prompt: str, lengths: list[int]) -> str:
    """Each ``<|AUDIO_OUT|>`` of ``prompt`` → the clip's audio tokens + delay tokens (as the processor does)."""
    sizes = iter(lengths)
    return re.sub(re.escape(processor.audio_token), lambda _: processor.get_audio_tokens(next(sizes)), prompt)


def _delayed(processor: Any, codes: Any) -> Any:
    """(frames + 9, num_codebooks): stream BOS + codes + stream EOS in the delay pattern."""
    import torch

    codes = codes.to(torch.long)[None]  # (1, nq, T)
    bos = codes.new_full((*codes.shape[:2], 1), processor.audio_stream_bos_id)
    eos = codes.new_full((*codes.shape[:2], 1), processor.audio_stream_eos_id)
    return processor.build_delay_pattern(torch.cat([bos, codes, eos], dim=2))[0].transpose(0, 1)


def _num_codebooks(processor: Any) -> int:
    return int(processor.audio_tokenizer.config.num_quantizers)


def extract_codes(sequences: Any, prompt_width: int, *, bos: int, eos: int) -> list[np.ndarray]:
    """Per row, the generated content codes (frames, num_codebooks) with the delay pattern undone.

    ``sequences`` is what ``generate`` returns (batch, audio_frames, num_codebooks): prompt audio
    (``prompt_width`` frames, right-padded) then the generated frames, which start with an all-BOS
    frame and end at the first all-EOS frame. Mirrors ``HiggsAudioV2Processor.batch_decode``.
    """
    generated = sequences[:, prompt_width:].to("cpu")
    out: list[np.ndarray] = []
    num_codebooks = generated.shape[-1]
    for row in generated:
        ended = (row == eos).all(dim=-1).nonzero()
        end = int(ended[0, 0]) if len(ended) else row.shape[0]
        body = row[1:end]  # drop the all-BOS frame
        if body.shape[0] < num_codebooks:
            out.append(np.zeros((0, num_codebooks), dtype=np.int64))
            continue
        frames = body.shape[0] - (num_codebooks - 1)
        reverted = np.stack(
            [body[k : k + frames, k].numpy() for k in range(num_codebooks)], axis=1
        )  # same as processor.revert_delay_pattern
        out.append(np.clip(reverted, 0, bos - 1).astype(np.int64))
    return out


def decode_codes(processor: Any, codes: np.ndarray) -> np.ndarray:
    """A 24 kHz mono float32 waveform for content codes (frames, num_codebooks)."""
    import torch

    if codes.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    codec = processor.audio_tokenizer
    tensor = torch.from_numpy(np.ascontiguousarray(codes.T))[None].to(codec.device)
    with torch.inference_mode():
        audio = codec.decode(tensor).audio_values
    waveform: np.ndarray = audio.float().cpu().numpy().reshape(-1).astype(np.float32)
    return waveform
