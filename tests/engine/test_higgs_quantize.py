"""Quantised Higgs weights on the tiny random model (CPU): quality guard, plan = real bytes, loading options.

The same seeds must give the same token sequences in full precision (fp32 on the CPU) and in the
quantised path where the arithmetic allows: when the weights sit exactly on the int8 / int4 grid, the
quantised model computes the same weights and every pick matches. With arbitrary random weights
they cannot: the tiny model's logits are nearly flat (random init), so the ~0.5 % weight error of
int8 flips some samples; there the guard is the per-weight error bound instead.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from higgs_tiny import FRAMES, backend, job, never, no_progress

from engine.backends.base import BackendError
from engine.backends.higgs import HiggsBackend
from engine.higgs import loading, memory, quantize, random_model
from engine.protocol import GenerationParams

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
torch = pytest.importorskip("torch")


def tiny() -> tuple[Any, Any]:
    torch.set_num_threads(1)
    return random_model.build("tiny")


def weight_bytes(model: Any) -> int:
    """The model's weight bytes as the plan counts them (rotary tables and code offsets are not weights)."""
    skip = sum(
        b.numel() * b.element_size()
        for name, b in model.named_buffers()
        if "rotary_emb" in name or "audio_tokens_offsets" in name
    )
    return quantize.model_bytes(model) - skip


@pytest.mark.parametrize(
    ("precision", "adapter"), [("bf16", None), ("int8", None), ("int4", None), ("int4", "int4")]
)
def test_the_plan_counts_the_bytes_the_quantised_model_holds(precision: str, adapter: str | None) -> None:
    model, _ = tiny()
    counts = memory.param_counts(model.config)
    report = quantize.quantize_model(model, precision, adapter=adapter, device="cpu")
    assert weight_bytes(model) == memory.weights_bytes(counts, precision, adapter, dtype_bytes=4)
    expected_adapter = quantize.adapter_precision(precision, adapter)
    assert report.adapter == expected_adapter
    layer = model.model.layers[0]
    kinds = {"bf16": "Linear", "int8": "Int8Linear", "int4": "Int4Linear"}
    assert type(layer.self_attn.q_proj).__name__ == kinds[precision]
    assert type(layer.mlp.up_proj).__name__ == kinds[precision]
    assert type(layer.audio_mlp.up_proj).__name__ == kinds[expected_adapter]
    assert type(model.audio_lm_head).__name__ == "Linear"  # the audio head, embeddings and norms stay
    assert model.model.embed_tokens.weight.dtype == torch.float32


def test_quantised_weights_are_within_half_a_step_of_the_originals() -> None:
    model, _ = tiny()
    originals = {
        n: m.weight.detach().clone() for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)
    }
    quantize.quantize_model(model, "int4", device="cpu")
    checked = set()
    for name, module in model.named_modules():
        kind = type(module).__name__
        if kind not in ("Int8Linear", "Int4Linear"):
            continue
        weight = originals[name]
        error = (quantize.dequantized(module) - weight).abs()
        if kind == "Int8Linear":
            step = weight.abs().amax(dim=1, keepdim=True) / 127
            assert bool((error <= step / 2 + 1e-6).all()), name
        else:
            groups = weight.reshape(weight.shape[0], -1, module.group)
            step = (groups.amax(-1, keepdim=True) - groups.amin(-1, keepdim=True)) / 15
            # half a step, plus the bf16 rounding of the group's scale and zero
            bound = (step * (0.5 + 2**-7 * 9) + groups.abs().amax(-1, keepdim=True) * 2**-8).expand_as(groups)
            assert bool((error.reshape_as(groups) <= bound + 1e-6).all()), name
        checked.add(kind)
        x = torch.randn(3, 5, module.in_features)
        assert torch.allclose(module(x), x @ quantize.dequantized(module).t(), atol=1e-4)
    assert checked == {"Int8Linear", "Int4Linear"}


def snap_int8(linear: Any) -> None:
    """Put a linear's weights on the per-channel int8 grid (so int8 quantisation is exact)."""
    w = linear.weight.data
    scale = w.abs().amax(dim=1) / 127
    linear.weight.data = torch.round(w / scale[:, None]).clamp(-127, 127) * scale[:, None]


def snap_int4(linear: Any) -> None:
    """Put a linear's weights on the int4 grid of its groups (bf16 scale and zero; 0 and 15 both used)."""
    w = linear.weight.data
    group = quantize.int4_group(w.shape[1])
    assert group is not None
    g = w.reshape(-1, group)
    scale = ((g.amax(1, keepdim=True) - g.amin(1, keepdim=True)) / 15).to(torch.bfloat16).float()
    zero = (g.amin(1, keepdim=True) + 8 * scale).to(torch.bfloat16).float()
    codes = torch.round((g - (zero - 8 * scale)) / scale).clamp(0, 15)
    codes[:, 0], codes[:, 1] = 0, 15
    linear.weight.data = ((codes - 8) * scale + zero).reshape_as(w)


def on_grid(precision: str) -> tuple[Any, Any]:
    model, processor = tiny()
    snap = snap_int8 if precision == "int8" else snap_int4
    for layer in model.model.layers:
        for name in quantize.ATTENTION:
            snap(getattr(layer.self_attn, name))
        for name in quantize.MLP:
            snap(getattr(layer.mlp, name))
            snap_int8(getattr(layer.audio_mlp, name))  # the adapter is int8 in both modes
    return model, processor


def takes(model: Any, processor: Any) -> dict[str, Any]:
    higgs = HiggsBackend.from_model(model, processor, {"fixed_frames": FRAMES, "fast": "on"})
    jobs = [job(f"Line number {i} is spoken here.", job_id=f"j{i}", seed=i) for i in range(3)]
    jobs.append(job("A greedy line.", job_id="greedy", params=GenerationParams(temperature=0.0, seed=1)))
    fast = {o.job_id: o.result.codes for o in higgs.render_stream(jobs, no_progress, never) if o.result}
    plain = {f"plain-{j.job_id}": higgs.render(j, no_progress, never).codes for j in jobs[:2]}
    return {**fast, **plain}


@pytest.mark.parametrize("precision", ["int8", "int4"])
def test_same_seeds_give_the_same_tokens_quantised_where_the_arithmetic_allows(precision: str) -> None:
    model, processor = on_grid(precision)
    full = takes(copy.deepcopy(model), processor)
    quantize.quantize_model(model, precision, device="cpu")
    quantised = takes(model, processor)
    assert set(full) == set(quantised) and len(full) == 6
    for key, codes in full.items():
        assert codes.shape == (FRAMES, 8), key
        assert np.array_equal(codes, quantised[key]), key


# ------------------------------------------------------------------ loading through the backend


def test_the_backend_loads_int8_with_the_codec_on_the_cpu_and_renders() -> None:
    higgs = backend(precision="int8", codec_device="cpu", fixed_frames=FRAMES)
    try:
        rendered_with_int8_and_the_codec_on_the_cpu(higgs)
    finally:
        higgs.close()  # the next tests plan afresh


def rendered_with_int8_and_the_codec_on_the_cpu(higgs: HiggsBackend) -> None:
    assert type(higgs._model.model.layers[0].mlp.up_proj).__name__ == "Int8Linear"
    assert higgs.processor.audio_tokenizer.device.type == "cpu"
    status = higgs.memory_plan_status()
    assert status.startswith("memory plan: weights ") and "(int8)" in status and "codec" in status
    outcomes = list(
        higgs.render_stream([job("The codec decodes this on the CPU.", seed=4)], no_progress, never)
    )
    assert outcomes[0].result is not None, outcomes[0].error
    assert len(outcomes[0].result.audio) == FRAMES * 960


def test_a_load_that_cannot_fit_fails_before_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_loading(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the model must not be loaded")

    model_dir = str(backend().options["model"])
    monkeypatch.setattr(loading, "free_bytes", lambda device: 500_000_000)  # 0.5 GB "free"
    monkeypatch.setattr(loading, "load_model", no_loading)
    monkeypatch.setattr(loading, "load_codec", no_loading)
    higgs = HiggsBackend(options={"model": model_dir, "device": "cpu", "precision": "int4"})
    with pytest.raises(BackendError, match="does not fit .* precision=int4") as raised:
        higgs.load()
    assert "0.5 GB is free" in str(raised.value)
    assert not higgs.loaded
    assert higgs.memory_plan_status() == "memory plan: none yet (made when the model loads)"


def test_auto_on_a_tight_card_loads_quantised(monkeypatch: pytest.MonkeyPatch) -> None:
    model_dir = backend().options["model"]
    config = loading.read_config(loading.Path(str(model_dir)), what="Higgs")
    counts = memory.param_counts(config)
    per_line = memory.cache_bytes_per_line(config, dtype_bytes=4)
    # room for the int8 weights and 8 lines' caches, but not for the fp32 weights and 8 lines
    lines = -(-8 * per_line * 10 // 8)  # 8 lines / CACHE_SHARE (0.8), rounded up
    free = memory.weights_bytes(counts, "int8", dtype_bytes=4) + memory.HEADROOM_BYTES + lines + 16
    assert memory.weights_bytes(counts, "bf16", dtype_bytes=4) + memory.HEADROOM_BYTES + lines > free
    monkeypatch.setattr(loading, "free_bytes", lambda device: free)
    options = {"model": str(model_dir), "device": "cpu", "batch_size": 8, "codec_device": "cpu"}
    higgs = HiggsBackend(options=options)
    higgs.load()
    try:
        assert higgs.memory_plan.precision == "int8"
        assert "batch 8 fits on this card" in higgs.memory_plan_status()
        assert type(higgs._model.model.layers[0].self_attn.q_proj).__name__ == "Int8Linear"
    finally:
        higgs.close()
