"""The Higgs memory plan (issue #20): options, arithmetic against the real full-size config, auto, refusals.

No weights are loaded: the full-size model is built on torch's ``meta`` device for its true parameter
counts, and free memory is passed in.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from engine.backends.base import BackendError
from engine.higgs import memory, quantize

GB = 1e9
CODEC = 805_602_212  # the full-size codec's float32 bytes (checked below against a meta build)


@functools.cache
def full_config() -> Any:
    from engine.higgs import random_model

    return random_model.model_config(random_model.text_tokenizer(), "full")


@functools.cache
def meta_model() -> Any:
    import torch
    from transformers import HiggsAudioV2ForConditionalGeneration

    model_class: Any = HiggsAudioV2ForConditionalGeneration
    with torch.device("meta"):
        return model_class._from_config(full_config(), dtype=torch.bfloat16)


def plan(free: float | None, **options: Any) -> memory.MemoryPlan:
    return memory.plan_memory(full_config(), CODEC, free=None if free is None else int(free * GB), **options)


# ------------------------------------------------------------------ options


def test_precision_and_codec_options_parse() -> None:
    assert quantize.parse_precision(None) == "auto"
    assert quantize.parse_precision("") == "auto"
    assert quantize.parse_precision(" INT8 ") == "int8"
    assert quantize.parse_precision("4") == "int4"
    assert quantize.parse_precision("bfloat16") == "bf16"
    with pytest.raises(BackendError, match="precision must be one of auto, bf16, int8, int4, not 'int3'"):
        quantize.parse_precision("int3")
    assert quantize.parse_codec_device(None) == "auto"
    assert quantize.parse_codec_device("CUDA") == "gpu"
    assert quantize.parse_codec_device("cpu") == "cpu"
    with pytest.raises(BackendError, match="codec_device must be one of auto, gpu, cpu"):
        quantize.parse_codec_device("tpu")
    # the audio adapter keeps int8 when the rest is 4-bit, else follows the rest; an explicit one wins
    assert quantize.adapter_precision("int4") == "int8"
    assert quantize.adapter_precision("int8") == "int8"
    assert quantize.adapter_precision("bf16") == "bf16"
    assert quantize.adapter_precision("int4", "int4") == "int4"
    assert quantize.adapter_precision("int4", "auto") == "int8"


# ------------------------------------------------------------------ arithmetic


def test_parameter_counts_from_the_config_match_the_real_full_size_model() -> None:
    counts = memory.param_counts(full_config())
    model = meta_model()
    assert counts.total == sum(p.numel() for p in model.parameters()) == 5_377_281_024  # 5.38 B
    parts = {"attention": 0, "text_mlp": 0, "audio_mlp": 0, "norms": 0}
    for name, p in model.named_parameters():
        if ".self_attn." in name:
            parts["attention"] += p.numel()
        elif ".audio_mlp." in name:
            parts["audio_mlp"] += p.numel()
        elif ".mlp." in name:
            parts["text_mlp"] += p.numel()
        elif "norm" in name:
            parts["norms"] += p.numel()
    assert parts == {k: getattr(counts, k) for k in parts}
    assert counts.embed == model.model.embed_tokens.weight.numel()
    assert counts.audio_head == model.audio_lm_head.weight.numel()
    assert counts.per_frame == 2_843_787_264  # 2.84 B read per audio frame
    # the same counts from the config.json dict a checkpoint folder holds
    assert memory.param_counts(full_config().to_dict()) == counts


def test_weight_bytes_per_precision_of_the_full_size_model() -> None:
    counts = memory.param_counts(full_config())
    kept = counts.embed + counts.audio_embed + counts.norms + counts.audio_head  # stays bf16
    attention_out = 28 * (3072 + 1024 + 1024 + 3072)  # output channels (one scale each in int8)
    mlp_out = 28 * (8192 + 8192 + 3072)
    assert memory.weights_bytes(counts, "bf16") == 2 * counts.total  # 10.75 GB
    int8 = (
        counts.attention + counts.text_mlp + counts.audio_mlp + 2 * (attention_out + 2 * mlp_out) + 2 * kept
    )
    assert memory.weights_bytes(counts, "int8") == int8

    # int4: half a byte a weight + a bf16 scale and zero per group of 128 along K
    def int4(params: int) -> int:
        return params // 2 + (params // 128) * 4

    int4_rest = int4(counts.attention) + int4(counts.text_mlp)
    assert memory.weights_bytes(counts, "int4") == int4_rest + counts.audio_mlp + 2 * mlp_out + 2 * kept
    assert memory.weights_bytes(counts, "int4", "int4") == int4_rest + int4(counts.audio_mlp) + 2 * kept
    gb = {p: round(memory.weights_bytes(counts, p) / GB, 2) for p in ("bf16", "int8", "int4")}
    assert gb == {"bf16": 10.75, "int8": 5.82, "int4": 4.5}
    assert round(memory.weights_bytes(counts, "int4", "int4") / GB, 2) == 3.51


def test_cache_per_line_is_what_the_slot_decoder_allocates() -> None:
    from engine.higgs.slots import cache_bytes_per_token

    config = full_config()
    per_token = cache_bytes_per_token(config, 2)
    assert per_token == 2 * 28 * 8 * 128 * 2  # keys and values, 28 layers, 8 KV heads of 128
    assert memory.cache_bytes_per_line(config, 2048) == 2048 * per_token + 2048 * 8 * 8
    assert memory.cache_bytes_per_line(config, 2000) == memory.cache_bytes_per_line(config, 2048)  # 256 steps


def test_codec_bytes_are_counted_from_its_config() -> None:
    from engine.higgs import random_model

    assert memory.codec_bytes(random_model.codec_config("full")) == CODEC  # ~0.81 GB in float32


# ------------------------------------------------------------------ the plan


def test_the_plan_line_says_weights_codec_cache_and_batch() -> None:
    chosen = plan(12, precision="int8", codec_device="gpu")
    assert chosen.line() == (
        "weights 5.82 GB (int8) + codec 0.81 GB on the GPU + cache per line 235 MB (2048 positions) "
        "→ batch 10 fits on this card (12.0 GB free, 2.1 GB kept for activations)"
    )
    spare = 12 * GB - chosen.weights - chosen.codec - memory.HEADROOM_BYTES
    assert (
        chosen.batch == int(spare * memory.CACHE_SHARE) // chosen.cache_per_line
    )  # as slot_memory_budget shares it
    unknown = plan(None)
    assert unknown.precision == "bf16" and unknown.batch is None
    assert unknown.line().endswith("→ no memory check on cuda (free memory unknown)")


@pytest.mark.parametrize(
    ("free_gb", "expected"),
    [
        (40, ("bf16", "bf16", "gpu")),
        (16, ("bf16", "bf16", "cpu")),  # moving the codec off keeps full precision on a 16 GB card
        (12, ("int8", "int8", "gpu")),
        (10, ("int4", "int8", "gpu")),
        (8, ("int4", "int8", "cpu")),
        (6, ("int4", "int4", "cpu")),  # last resort: the adapter in 4-bit too
    ],
)
def test_auto_picks_the_best_precision_that_fits(free_gb: float, expected: tuple[str, str, str]) -> None:
    chosen = plan(free_gb)
    assert (chosen.precision, chosen.adapter, chosen.codec_device) == expected
    assert (chosen.batch or 0) >= 1


def test_auto_wants_room_for_the_batch() -> None:
    assert plan(14.1, want_batch=8).precision == "int8"
    one = plan(14.1, want_batch=1)  # room for one line beside the bf16 weights
    assert (one.precision, one.codec_device, one.batch) == ("bf16", "gpu", 1)


def test_an_explicit_choice_that_cannot_fit_is_refused_naming_one_that_would() -> None:
    with pytest.raises(BackendError) as raised:
        plan(12, precision="bf16", codec_device="gpu")
    message = str(raised.value)
    assert "does not fit" in message and "precision=bf16 codec_device=gpu" in message
    assert "= 13.9 GB, and 12.0 GB is free" in message
    assert "set precision=int8 codec_device=gpu instead (weights 5.82 GB → batch 10 fits)" in message
    with pytest.raises(BackendError, match="set precision=int8 codec_device=cpu instead"):
        plan(9, precision="int8", codec_device="gpu")


def test_nothing_fits_says_so() -> None:
    with pytest.raises(BackendError) as raised:
        plan(3)
    message = str(raised.value)
    assert "any precision" in message and "weights 3.51 GB" in message
    assert "switch to a remote (OpenAI-compatible) server" in message


def test_an_explicit_choice_that_fits_is_kept_even_if_tight() -> None:
    chosen = plan(14.1, precision="bf16", codec_device="gpu")
    assert (chosen.precision, chosen.codec_device) == ("bf16", "gpu")
    assert chosen.batch == 1
    assert (
        chosen.accepts("auto", "auto")
        and chosen.accepts("bf16", "gpu")
        and not chosen.accepts("int8", "auto")
    )
