"""Device memory for Higgs: the plan made before loading, and the fast path's slot-cache budget.

- :func:`plan_memory` (before loading): parameter counts from the model's config
  (:func:`param_counts`), weight bytes at each precision (:func:`weights_bytes`: int8 codes + per-channel
  scales, int4 codes + per-group scales and zeros, as :mod:`engine.higgs.quantize` stores them), the
  codec's bytes, one line's KV cache → :class:`MemoryPlan` ("weights X GB + codec Y GB + cache per line
  Z MB → batch N fits on this card"); ``auto`` precision / codec placement resolved; a load that cannot
  fit is refused with the options that would.
- :func:`slot_memory_budget` (after loading): what the slot cache may take of what is free.

Thread contract: pure functions (the free-memory readers ask the device); call from any thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GIB = 1 << 30
HEADROOM_BYTES = 2 * GIB  # activations of a packed prefill, the codec's decode, allocator slack
CACHE_SHARE = 0.8  # of the free memory after the headroom


def slot_memory_budget(model: Any) -> int | None:
    """Bytes the slot cache may take on ``model``'s device: a share of what is free; None off CUDA."""
    device = getattr(model, "device", None)
    if device is None or device.type != "cuda":
        return None
    import torch

    free, _total = torch.cuda.mem_get_info(device)
    return max(0, int((free - HEADROOM_BYTES) * CACHE_SHARE))


# --------------------------------------------------------------------------------------------------
# The memory plan made before loading (issue #20): what the weights, the codec and a line's cache take
# --------------------------------------------------------------------------------------------------

GB = 1e9
MB = 1e6
PLAN_POSITIONS = 2048  # cache positions of a typical line: a prompt with a reference clip + ~40 s of audio
AUTO_BATCH = 8  # lines ``precision=auto`` wants room for when the backend names no batch size
CODEC_DTYPE_BYTES = 4  # the codec runs in float32
QUALITY_ORDER = (  # (precision, audio adapter, codec on the GPU): what auto tries, best quality first
    ("bf16", "bf16", True),
    ("bf16", "bf16", False),
    ("int8", "int8", True),
    ("int8", "int8", False),
    ("int4", "int8", True),
    ("int4", "int8", False),
    ("int4", "int4", True),  # last resort (cards with ~6 GB free): the audio adapter in 4-bit too
    ("int4", "int4", False),
)


def _get(config: Any, name: str, default: Any = None) -> Any:
    if isinstance(config, dict):
        return config.get(name, default)
    return getattr(config, name, default)


@dataclass(frozen=True)
class ParamCounts:
    """Parameter counts of a Higgs Audio v2 LM by part, from its config (no weights needed)."""

    layers: int
    embed: int  # text token embedding (read only for prompt tokens)
    audio_embed: int  # the 8 codebooks' embeddings
    attention: int  # q/k/v/o of all layers (shared by text and audio tokens)
    text_mlp: int  # the text MLPs (prompt text only)
    audio_mlp: int  # the audio adapter (DualFFN) MLPs: every generated frame
    norms: int
    audio_head: int
    linear_shapes: tuple[tuple[str, int, int], ...]  # (part, out, in) of one layer's linears

    @property
    def total(self) -> int:
        return (
            self.embed
            + self.audio_embed
            + self.attention
            + self.text_mlp
            + self.audio_mlp
            + self.norms
            + self.audio_head
        )

    @property
    def per_frame(self) -> int:
        """Weights read for one generated frame: attention, audio adapter, audio head (+ 8 embedding rows)."""
        return self.attention + self.audio_mlp + self.audio_head


def param_counts(config: Any) -> ParamCounts:
    """:class:`ParamCounts` from a ``HiggsAudioV2Config`` or its ``config.json`` dict."""
    hidden = int(_get(config, "hidden_size"))
    heads = int(_get(config, "num_attention_heads"))
    kv_heads = int(_get(config, "num_key_value_heads", heads))
    head_dim = int(_get(config, "head_dim", None) or hidden // heads)
    inter = int(_get(config, "intermediate_size"))
    layers = int(_get(config, "num_hidden_layers"))
    vocab = int(_get(config, "vocab_size"))
    books = int(_get(config, "num_codebooks", 8))
    size = int(_get(config, "codebook_size", 1026))
    shapes = (
        ("attention", heads * head_dim, hidden),
        ("attention", kv_heads * head_dim, hidden),
        ("attention", kv_heads * head_dim, hidden),
        ("attention", hidden, heads * head_dim),
        ("mlp", inter, hidden),
        ("mlp", inter, hidden),
        ("mlp", hidden, inter),
    )
    attention = sum(o * i for part, o, i in shapes if part == "attention")
    mlp = sum(o * i for part, o, i in shapes if part == "mlp")
    return ParamCounts(
        layers=layers,
        embed=vocab * hidden,
        audio_embed=books * size * hidden,
        attention=layers * attention,
        text_mlp=layers * mlp,
        audio_mlp=layers * mlp,
        norms=(4 * layers + 1) * hidden,
        audio_head=hidden * books * size,
        linear_shapes=shapes,
    )


def linear_bytes(out_features: int, in_features: int, precision: str, dtype_bytes: int = 2) -> int:
    """Bytes one decoder linear takes in ``precision`` (as :mod:`engine.higgs.quantize` stores it)."""
    from engine.higgs.quantize import INT4_GROUP, int4_group

    if precision == "int4":
        group = int4_group(in_features, INT4_GROUP)
        if group is not None and out_features % 8 == 0:
            # 4-bit codes + a bf16 scale and zero per group (on the CPU they take the model dtype)
            return out_features * in_features // 2 + (in_features // group) * out_features * 2 * dtype_bytes
        precision = "int8"
    if precision == "int8":
        # int8 codes + per-channel scales in the model dtype
        return out_features * in_features + out_features * dtype_bytes
    return out_features * in_features * dtype_bytes


def weights_bytes(
    counts: ParamCounts, precision: str, adapter: str | None = None, dtype_bytes: int = 2
) -> int:
    """Bytes of the LM's weights with the decoder linears in ``precision`` and the adapter in ``adapter``."""
    from engine.higgs.quantize import adapter_precision

    adapter = adapter_precision(precision, adapter)
    per_layer = 0
    for part, out_features, in_features in counts.linear_shapes:
        if part == "attention":
            per_layer += linear_bytes(out_features, in_features, precision, dtype_bytes)
        else:
            per_layer += linear_bytes(out_features, in_features, precision, dtype_bytes)
            per_layer += linear_bytes(out_features, in_features, adapter, dtype_bytes)
    kept = counts.embed + counts.audio_embed + counts.norms + counts.audio_head
    return counts.layers * per_layer + kept * dtype_bytes


def cache_bytes_per_line(config: Any, positions: int = PLAN_POSITIONS, dtype_bytes: int = 2) -> int:
    """Slot-cache bytes of one line of ``positions`` (as :meth:`HiggsSlots.per_slot_bytes` counts them)."""
    from engine.higgs.slots import LENGTH_STEP, slot_bytes

    length = LENGTH_STEP * max(1, -(-positions // LENGTH_STEP))
    return slot_bytes(_ConfigView(config), length, dtype_bytes)


class _ConfigView:
    """Attribute access over a config object or a ``config.json`` dict."""

    def __init__(self, config: Any) -> None:
        self._config = config

    def __getattr__(self, name: str) -> Any:
        return _get(self._config, name)


def codec_bytes(codec_config: Any) -> int:
    """Bytes of the codec (``HiggsAudioV2TokenizerModel``) in float32: counted on the meta device."""
    import torch
    from transformers import HiggsAudioV2TokenizerModel

    codec_class: Any = HiggsAudioV2TokenizerModel
    with torch.device("meta"):
        codec = codec_class(codec_config)
    numel = sum(p.numel() for p in codec.parameters()) + sum(b.numel() for b in codec.buffers())
    return int(numel) * CODEC_DTYPE_BYTES


@dataclass(frozen=True)
class MemoryPlan:
    """What loading Higgs will take, and how many lines' caches fit beside it."""

    precision: str
    adapter: str
    codec_on_device: bool
    weights: int
    codec: int
    cache_per_line: int
    positions: int
    device: str
    free: int | None  # bytes free on the device before loading (None: unknown, e.g. CPU)
    headroom: int = HEADROOM_BYTES

    @property
    def codec_device(self) -> str:
        return "gpu" if self.codec_on_device else "cpu"

    @property
    def fixed_bytes(self) -> int:
        """Bytes on the device before any line's cache: weights, codec (if there), headroom."""
        return self.weights + (self.codec if self.codec_on_device else 0) + self.headroom

    @property
    def batch(self) -> int | None:
        """Lines whose cache fits (as :func:`slot_memory_budget` will share it out); None when free is unknown."""
        if self.free is None:
            return None
        spare = max(0, self.free - self.weights - (self.codec if self.codec_on_device else 0) - self.headroom)
        return int(spare * CACHE_SHARE) // max(1, self.cache_per_line)

    def line(self) -> str:
        if self.device.startswith("cuda"):
            where = "on the GPU" if self.codec_on_device else "on the CPU"
        else:
            where = f"on {self.device if self.codec_on_device else 'cpu'}"
        adapter = f", audio adapter {self.adapter}" if self.adapter != self.precision else ""
        head = (
            f"weights {self.weights / GB:.2f} GB ({self.precision}{adapter}) + codec {self.codec / GB:.2f} GB "
            f"{where} + cache per line {self.cache_per_line / MB:.0f} MB ({self.positions} positions)"
        )
        if self.free is None:
            return f"{head} → no memory check on {self.device} (free memory unknown)"
        return (
            f"{head} → batch {self.batch} fits on this card "
            f"({self.free / GB:.1f} GB free, {self.headroom / GB:.1f} GB kept for activations)"
        )

    def accepts(self, precision: str, codec_device: str, adapter: str | None = None) -> bool:
        """Whether options asking for these (auto or the same) are satisfied by this plan."""
        return (
            precision in ("auto", self.precision)
            and codec_device in ("auto", self.codec_device)
            and (adapter in (None, "", "auto") or adapter == self.adapter)
        )

    def option_text(self) -> str:
        adapter = (
            f" adapter_precision={self.adapter}" if self.adapter != _default_adapter(self.precision) else ""
        )
        return f"precision={self.precision}{adapter} codec_device={self.codec_device}"


def _default_adapter(precision: str) -> str:
    from engine.higgs.quantize import adapter_precision

    return adapter_precision(precision)


def plan_memory(
    config: Any,
    codec: int,
    *,
    precision: str = "auto",
    codec_device: str = "auto",
    free: int | None = None,
    device: str = "cuda",
    want_batch: int = AUTO_BATCH,
    positions: int = PLAN_POSITIONS,
    dtype_bytes: int = 2,
    adapter: str | None = None,
) -> MemoryPlan:
    """The plan for loading with these options; ``auto`` choices resolved; refuses what cannot fit.

    ``codec`` is the codec's bytes (:func:`codec_bytes`), ``free`` the device's free bytes (None: no
    check — auto then means bf16 with the codec beside the model). Auto tries :data:`QUALITY_ORDER`
    (precision first, then moving the codec to the CPU) and takes the first with room for
    ``want_batch`` lines, else the one with the most room; an explicit choice that leaves no room for
    one line raises a :class:`~engine.backends.base.BackendError` naming the options that would fit.
    """
    from engine.backends.base import BackendError
    from engine.higgs.quantize import adapter_precision, parse_codec_device, parse_precision

    precision = parse_precision(precision)
    codec_device = parse_codec_device(codec_device)
    counts = param_counts(config)
    per_line = cache_bytes_per_line(config, positions, dtype_bytes)

    def plan(chosen: str, chosen_adapter: str | None, on_device: bool) -> MemoryPlan:
        return MemoryPlan(
            precision=chosen,
            adapter=adapter_precision(chosen, chosen_adapter),
            codec_on_device=on_device,
            weights=weights_bytes(counts, chosen, chosen_adapter, dtype_bytes),
            codec=codec,
            cache_per_line=per_line,
            positions=positions,
            device=device,
            free=free,
        )

    wanted_adapter = None if adapter in (None, "", "auto") else parse_precision(adapter)

    def allowed(chosen: str, chosen_adapter: str, on_device: bool) -> bool:
        return (
            precision in ("auto", chosen)
            and wanted_adapter in (None, chosen_adapter)
            and codec_device in ("auto", "gpu" if on_device else "cpu")
        )

    if free is None:
        return plan("bf16" if precision == "auto" else precision, adapter, codec_device != "cpu")
    candidates = [plan(p, a, g) for p, a, g in QUALITY_ORDER if allowed(p, a, g)]
    if not candidates:  # an adapter precision outside the table (e.g. bf16 beside int4)
        pairs = dict.fromkeys((p, g) for p, _, g in QUALITY_ORDER)
        candidates = [plan(p, adapter, g) for p, g in pairs if allowed(p, wanted_adapter or p, g)]
    # the last-resort rows (adapter in 4-bit) only when nothing else leaves room for one line
    usual = [c for c in candidates if c.adapter == _default_adapter(c.precision)]
    for group in (usual, [c for c in candidates if c not in usual]):
        roomy = [c for c in group if (c.batch or 0) >= max(1, want_batch)]
        if roomy:
            return roomy[0]
        fitting = [c for c in group if (c.batch or 0) >= 1]
        if fitting:
            return max(fitting, key=lambda c: c.batch or 0)  # max keeps the first (best quality) of equals
    smallest = min(candidates, key=lambda c: c.fixed_bytes)
    raise BackendError(
        _refusal(smallest, [plan(p, a, g) for p, a, g in QUALITY_ORDER], precision, codec_device)
    )


def _refusal(tried: MemoryPlan, everything: list[MemoryPlan], precision: str, codec_device: str) -> str:
    free = tried.free or 0
    need = tried.fixed_bytes + tried.cache_per_line
    asked = (
        "any precision (the smallest is shown)"
        if precision == "auto" and codec_device == "auto"
        else tried.option_text()
    )
    text = (
        f"Higgs Audio does not fit on this {tried.device} device with {asked}: weights {tried.weights / GB:.2f} GB + "
        f"codec {tried.codec / GB:.2f} GB{'' if tried.codec_on_device else ' (on the CPU: 0 here)'} + "
        f"{tried.headroom / GB:.1f} GB for activations + {tried.cache_per_line / MB:.0f} MB for one line "
        f"= {need / GB:.1f} GB, and {free / GB:.1f} GB is free"
    )
    fitting = [p for p in everything if (p.batch or 0) >= 1]
    if fitting:
        choice = fitting[0]
        return (
            f"{text}; set {choice.option_text()} instead (weights {choice.weights / GB:.2f} GB → batch "
            f"{choice.batch} fits), or close other GPU programs"
        )
    return (
        f"{text}; not even int4 throughout with the codec on the CPU fits: close other GPU programs, use a larger GPU, "
        "or switch to a remote (OpenAI-compatible) server"
    )
