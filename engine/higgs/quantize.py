"""Weight-only quantisation of the Higgs LM's decoder linear layers (int8 per channel, int4 per group).

Which layers: every decoder layer's attention projections (``q/k/v/o_proj``) and text MLP (``mlp``)
take the chosen precision; the audio adapter (``audio_mlp``, the DualFFN half that computes every
generated frame) takes :func:`adapter_precision` (int8 when the rest is int4: it holds 2.1 of the 2.84 B
weights read per frame and is what the audio tokens come out of, so it keeps per-channel int8 rather
than 4-bit groups). Embeddings, norms, the rotary table and ``audio_lm_head`` stay in the model dtype.

How: the linear modules are replaced by :class:`Int8Linear` / :class:`Int4Linear` (``module(x)`` keeps
working, so :mod:`engine.higgs.slots` and ``generate()`` run them unchanged), whose forward is one or two
PyTorch ops without host syncs (CUDA-graph capturable):

- int8: weights (N, K) int8 + one scale per output channel (symmetric, absmax / 127). CPU:
  ``aten._weight_int8pack_mm``. CUDA: ``F.linear(x, w.to(x.dtype)) * scale`` (``int8_kernel="dequant"``,
  the default) or ``aten._weight_int8pack_mm`` on float32 activations (``"aten"``); the GPU bench
  (``bench/higgs_memory.py``) times both.
- int4: gpt-fast / tinygemm layout — 4-bit codes per group of 128 (fewer where K needs) along K, with a
  bf16 scale and zero per group (asymmetric, min/max); CUDA ``aten._weight_int4pack_mm`` (tinygemm),
  CPU ``aten._weight_int4pack_mm_for_cpu``. Both dequantise to ``(q - 8) * scale + zero``.

Why PyTorch's own ops and not torchao / bitsandbytes (checked here, December 2026): torchao 0.18 imports
beside torch 2.11 and its int8 weight-only runs on CPU, but its int8 linear is the same dequantise +
matmul as ``"dequant"`` (fast only under ``torch.compile``), its default int4 layout needs the separate
``mslk`` kernels and its tinygemm int4 layout has no CPU path, so it would add a binary-coupled pin and
~7 s of import for kernels PyTorch already ships. bitsandbytes' LLM.int8 matmul syncs with the host
(not capturable) and its wheels are far larger. Quantising here needs no extra package at all.

Quantisation runs one linear at a time on the target device (the bf16 model stays on the CPU until
then), so loading a 4-bit model never holds the bf16 weights on the GPU.

Thread contract: called from the engine's worker thread during ``load``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.backends.base import BackendError

PRECISIONS = ("auto", "bf16", "int8", "int4")
FIXED_PRECISIONS = ("bf16", "int8", "int4")  # best quality first
CODEC_DEVICES = ("auto", "gpu", "cpu")
INT4_GROUP = 128  # the int4 group along K (gpt-fast's and tinygemm's usual size)
INT4_GROUPS = (256, 128, 64, 32)  # group sizes tinygemm supports
INT8_KERNELS = ("dequant", "aten")
INT8_KERNEL = "dequant"  # the CUDA int8 kernel unless told otherwise (see the module docstring)
ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP = ("gate_proj", "up_proj", "down_proj")


def parse_precision(value: Any) -> str:
    """The ``precision`` option: auto | bf16 | int8 | int4 (a few spellings accepted)."""
    text = str(value if value not in (None, "") else "auto").strip().lower()
    text = {"bfloat16": "bf16", "none": "bf16", "8": "int8", "4": "int4", "nf4": "int4"}.get(text, text)
    if text not in PRECISIONS:
        raise BackendError(
            f"the Higgs option precision must be one of {', '.join(PRECISIONS)}, not {value!r}"
        )
    return text


def parse_codec_device(value: Any) -> str:
    """The ``codec_device`` option: auto | gpu | cpu (cuda means gpu)."""
    text = str(value if value not in (None, "") else "auto").strip().lower()
    text = {"cuda": "gpu", "device": "gpu", "same": "gpu"}.get(text, text)
    if text not in CODEC_DEVICES:
        raise BackendError(
            f"the Higgs option codec_device must be one of {', '.join(CODEC_DEVICES)}, not {value!r}"
        )
    return text


def adapter_precision(precision: str, adapter: str | None = None) -> str:
    """The audio adapter's precision: ``adapter`` if given, else int8 under int4, else ``precision``."""
    if adapter not in (None, "", "auto"):
        chosen = parse_precision(adapter)
        if chosen == "auto":
            chosen = precision
        return chosen
    return "int8" if precision == "int4" else precision


def int4_group(in_features: int, group: int = INT4_GROUP) -> int | None:
    """The largest tinygemm group size ≤ ``group`` that divides ``in_features`` (None: none does)."""
    for size in INT4_GROUPS:
        if size <= group and in_features % size == 0:
            return size
    return None


# --------------------------------------------------------------------------------------------------
# Quantised linear layers
# --------------------------------------------------------------------------------------------------


class _Lazy:
    """Builds the module classes on first use (torch is imported lazily, inside functions only)."""

    classes: dict[str, type] = {}


def _classes() -> dict[str, type]:
    if _Lazy.classes:
        return _Lazy.classes
    import torch
    import torch.nn.functional as F

    class Int8Linear(torch.nn.Module):
        """y = x Wᵀ with W stored as int8 (N, K) and one scale per output channel."""

        def __init__(self, weight: Any, scales: Any, bias: Any, kernel: str) -> None:
            super().__init__()
            self.in_features = int(weight.shape[1])
            self.out_features = int(weight.shape[0])
            self.register_buffer("weight", weight)
            self.register_buffer("scales", scales)  # model dtype (bf16 on CUDA)
            aten = kernel == "aten" and weight.device.type != "cpu"
            self.register_buffer("scales_f32", scales.float().clone() if aten else None)
            self.register_buffer("bias", bias)
            self.kernel = kernel

        def forward(self, x: Any) -> Any:
            shape = x.shape
            flat = x.reshape(-1, shape[-1])
            if x.device.type == "cpu":
                y = torch.ops.aten._weight_int8pack_mm(flat, self.weight, self.scales.to(x.dtype))
            elif self.scales_f32 is not None:
                y = torch.ops.aten._weight_int8pack_mm(flat.float(), self.weight, self.scales_f32).to(x.dtype)
            else:
                y = F.linear(flat, self.weight.to(x.dtype)) * self.scales
            if self.bias is not None:
                y = y + self.bias.to(y.dtype)
            return y.reshape(*shape[:-1], self.out_features)

        def extra_repr(self) -> str:
            return f"in={self.in_features}, out={self.out_features}, int8 per channel, kernel={self.kernel}"

    class Int4Linear(torch.nn.Module):
        """y = x Wᵀ with W stored as tinygemm-packed 4-bit codes + a scale and zero per group of K."""

        def __init__(
            self, packed: Any, scales_and_zeros: Any, bias: Any, group: int, shape: tuple[int, int]
        ) -> None:
            super().__init__()
            self.out_features, self.in_features = shape
            self.group = group
            self.register_buffer("packed", packed)
            self.register_buffer("scales_and_zeros", scales_and_zeros)
            self.register_buffer("bias", bias)

        def forward(self, x: Any) -> Any:
            shape = x.shape
            flat = x.reshape(-1, shape[-1])
            if x.device.type == "cpu":
                y = torch.ops.aten._weight_int4pack_mm_for_cpu(
                    flat, self.packed, self.group, self.scales_and_zeros.to(x.dtype)
                )
            else:
                y = torch.ops.aten._weight_int4pack_mm(
                    flat.to(torch.bfloat16), self.packed, self.group, self.scales_and_zeros
                ).to(x.dtype)
            if self.bias is not None:
                y = y + self.bias.to(y.dtype)
            return y.reshape(*shape[:-1], self.out_features)

        def extra_repr(self) -> str:
            return f"in={self.in_features}, out={self.out_features}, int4 groups of {self.group}"

    _Lazy.classes = {"Int8Linear": Int8Linear, "Int4Linear": Int4Linear}
    return _Lazy.classes


def int8_linear(linear: Any, device: Any, *, kernel: str | None = None) -> Any:
    """An :class:`Int8Linear` (on ``device``) for a ``torch.nn.Linear``."""
    import torch

    kernel = kernel or INT8_KERNEL
    if kernel not in INT8_KERNELS:
        raise ValueError(f"unknown int8 kernel {kernel!r}; use one of {INT8_KERNELS}")
    dtype = linear.weight.dtype
    weight = linear.weight.detach().to(device).float()  # copied as stored, widened on the device
    scales = (weight.abs().amax(dim=1) / 127.0).clamp(min=1e-8)
    codes = torch.round(weight / scales[:, None]).clamp(-128, 127).to(torch.int8).contiguous()
    bias = linear.bias.detach().to(device) if linear.bias is not None else None
    return _classes()["Int8Linear"](codes, scales.to(dtype), bias, kernel)


def int4_linear(linear: Any, device: Any, *, group: int = INT4_GROUP) -> Any:
    """An :class:`Int4Linear` (on ``device``) for a ``torch.nn.Linear`` (None if K suits no group)."""
    import torch

    out_features, in_features = linear.weight.shape
    size = int4_group(int(in_features), group)
    if size is None or out_features % 8:
        return None
    device = torch.device(device)
    weight = linear.weight.detach().to(device).float()  # copied as stored, widened on the device
    grouped = weight.reshape(-1, size)
    high = grouped.amax(dim=1, keepdim=True)
    low = grouped.amin(dim=1, keepdim=True)
    scales = ((high - low).clamp(min=1e-6) / 15).to(torch.bfloat16).float()
    zeros = (low + scales * 8).to(torch.bfloat16).float()
    # codes against the bf16-rounded scale and zero, so (q - 8) * scale + zero is the nearest level
    codes = ((grouped - (zeros - scales * 8)) / scales).round().clamp(0, 15).to(torch.int32)
    codes = codes.reshape(out_features, in_features)
    on_cpu = device.type == "cpu"
    packing_dtype = linear.weight.dtype if on_cpu else torch.bfloat16
    scales_and_zeros = (
        torch.cat([scales.reshape(out_features, -1, 1), zeros.reshape(out_features, -1, 1)], dim=2)
        .transpose(0, 1)
        .contiguous()
        .to(packing_dtype)
    )
    if on_cpu:
        packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(codes.contiguous(), 2)
    else:
        tiles = 8 if in_features % 128 == 0 else 4 if in_features % 64 == 0 else 2
        pairs = (codes[:, ::2] << 4 | codes[:, 1::2]).to(torch.uint8).contiguous()
        packed = torch.ops.aten._convert_weight_to_int4pack(pairs, tiles)
    bias = linear.bias.detach().to(device) if linear.bias is not None else None
    return _classes()["Int4Linear"](
        packed, scales_and_zeros, bias, size, (int(out_features), int(in_features))
    )


def dequantized(module: Any) -> Any:
    """The float32 weight (N, K) a quantised (or plain) linear computes with — for tests and checks."""
    import torch

    name = type(module).__name__
    if name == "Int8Linear":
        return module.weight.float() * module.scales.float()[:, None]
    if name == "Int4Linear":
        eye = torch.eye(module.in_features, dtype=torch.float32, device=module.packed.device)
        if module.packed.device.type != "cpu":
            eye = eye.to(torch.bfloat16)
        return module(eye).float().t().contiguous()
    return module.weight.detach().float()


# --------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------


@dataclass
class QuantizeReport:
    """What :func:`quantize_model` did."""

    precision: str
    adapter: str
    layers: dict[str, int] = field(default_factory=dict)  # precision → linear modules
    fallback: list[str] = field(default_factory=list)  # int4 asked, int8 given (no int4 group fits K)
    bytes_after: int = 0  # the model's parameter + buffer bytes afterwards

    def line(self) -> str:
        counts = ", ".join(f"{n} {p}" for p, n in sorted(self.layers.items()))
        kept = f"; {len(self.fallback)} int8 where no int4 group fits" if self.fallback else ""
        return (
            f"decoder linears {self.precision}, audio adapter {self.adapter} ({counts}{kept}); "
            f"{self.bytes_after / 1e9:.2f} GB of weights"
        )


def model_bytes(model: Any) -> int:
    """Bytes of a model's parameters and buffers (deduplicated)."""
    seen: set[int] = set()
    total = 0
    for tensor in [*model.parameters(), *model.buffers()]:
        key = tensor.data_ptr() if tensor.device.type != "meta" else id(tensor)
        if key in seen:
            continue
        seen.add(key)
        total += tensor.numel() * tensor.element_size()
    return total


def quantize_model(
    model: Any,
    precision: str,
    *,
    adapter: str | None = None,
    device: Any = None,
    group: int = INT4_GROUP,
    int8_kernel: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> QuantizeReport:
    """Quantise ``model``'s decoder linears in place to ``precision`` (bf16 | int8 | int4) and move it to ``device``.

    ``adapter`` sets the audio adapter's precision (default :func:`adapter_precision`). Each linear is
    quantised on ``device`` (default: where the model is), then the rest of the model follows it.
    """
    import torch

    precision = parse_precision(precision)
    if precision == "auto":
        raise ValueError("resolve precision auto (engine.higgs.memory.plan_memory) before quantising")
    adapter = adapter_precision(precision, adapter)
    target = torch.device(device) if device is not None else model.device
    report = QuantizeReport(precision, adapter)
    layers = list(model.model.layers)
    jobs: list[tuple[Any, str, str]] = []
    for layer in layers:
        for name in ATTENTION:
            jobs.append((layer.self_attn, name, precision))
        for name in MLP:
            jobs.append((layer.mlp, name, precision))
            jobs.append((layer.audio_mlp, name, adapter))
    for index, (owner, name, kind) in enumerate(jobs):
        linear = getattr(owner, name)
        if kind == "bf16":
            report.layers[kind] = report.layers.get(kind, 0) + 1
            continue
        made = (
            int8_linear(linear, target, kernel=int8_kernel)
            if kind == "int8"
            else int4_linear(linear, target, group=group)
        )
        if made is None:  # no int4 group fits this shape: int8 instead
            made = int8_linear(linear, target, kernel=int8_kernel)
            report.fallback.append(name)
            kind = "int8"
        setattr(owner, name, made)
        report.layers[kind] = report.layers.get(kind, 0) + 1
        del linear
        if progress is not None and index % 16 == 0:
            progress(index / len(jobs))
    model.to(target)
    if target.type == "cuda":
        torch.cuda.empty_cache()
    report.bytes_after = model_bytes(model)
    model.config.chorus_precision = f"{precision}/{adapter}"
    return report
