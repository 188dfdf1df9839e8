"""The fast path: Higgs Audio v2 decoding in fixed slots on a static KV cache, one captured CUDA graph a step.

``generate()`` pays Python and kernel-launch overhead on every step (~21 ms/step at batch 1 on an H100,
where reading the weights takes ~1.9 ms). :class:`HiggsSlots` runs the same model — its own modules
(``q_proj``, ``audio_mlp``, norms, rotary embedding, ``audio_lm_head``), so quantised weights work too
— on a cache of fixed shape: ``slots`` lines × ``length`` positions per layer. One decode step for all
slots (embedding, 28 layers, the delay pattern and frame window, Chorus's sampler, the state update)
is a fixed sequence of kernels with no host sync: on CUDA it is captured once per slot count as a CUDA
graph and replayed; elsewhere (CPU, MPS) the same code runs eagerly (:attr:`HiggsSlots.graph_reason`
says why). It is a :class:`engine.scheduler.SlotModel`: lines join free slots (their prompts
prefilled together, packed into one sequence) and leave when they end.

Same codes as the plain path: the masks replicate ``generate``'s delay-pattern processor and Chorus's
frame window, and the picks come from :mod:`engine.higgs.sampler` (per-line seeds), which the plain
path uses too.

Thread contract: one thread (the engine worker) calls everything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.higgs import sampler

LENGTH_STEP = 256  # cache lengths are multiples of this (few distinct shapes, few graph captures)
PACK_TOKENS = 2048  # prompt tokens prefilled in one packed forward
BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


@dataclass(eq=False)
class SlotLine:
    """One line (or chunk) for the slots: its prompt tokens and the limits of its take."""

    key: Any  # the caller's handle (job, chunk index …)
    input_ids: Any  # (P,) int64 prompt tokens
    audio: Any  # (F, C) int64 prompt audio stream (delayed), F = the prompt's audio placeholders
    params: tuple[float, int, float, int, int, int]  # sampler.Settings.of row
    min_frames: int
    max_frames: int  # the frame window's cap (codebook 0 is forced to end here)
    max_steps: int  # frames generated at most (the stream BOS frame and the delay pattern included)

    @property
    def tokens(self) -> int:
        """Cache positions the line needs: its prompt plus one per generated frame."""
        return int(self.input_ids.shape[0]) + self.max_steps


def bucket(n: int) -> int:
    """The smallest slot count of :data:`BUCKETS` holding ``n`` lines."""
    for size in BUCKETS:
        if size >= n:
            return size
    return BUCKETS[-1]


def slot_bytes(config: Any, length: int, dtype_bytes: int) -> int:
    """Bytes one slot of ``length`` positions takes: its KV cache plus its frame buffer (int64 codes)."""
    return length * cache_bytes_per_token(config, dtype_bytes) + length * int(config.num_codebooks) * 8


def cache_bytes_per_token(config: Any, dtype_bytes: int) -> int:
    """KV-cache bytes one token takes across all layers (keys and values)."""
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    return 2 * int(config.num_hidden_layers) * int(config.num_key_value_heads) * int(head_dim) * dtype_bytes


class HiggsSlots:
    """A :class:`engine.scheduler.SlotModel` over a ``HiggsAudioV2ForConditionalGeneration``."""

    def __init__(
        self,
        model: Any,
        *,
        max_slots: int = 64,
        memory_bytes: int | None = None,
        graphs: bool | None = None,
        compile: bool = False,
    ) -> None:
        import torch

        self.model = model
        self.config = config = model.config
        self.device = model.device
        self.dtype = next(p for p in model.parameters() if p.is_floating_point()).dtype
        self.books = int(config.num_codebooks)
        self.size = int(config.codebook_size)
        self.bos = int(config.audio_stream_bos_id)
        self.eos = int(config.audio_stream_eos_id)
        self.heads = int(config.num_attention_heads)
        self.kv_heads = int(config.num_key_value_heads)
        self.head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // self.heads)
        self.layers = list(model.model.layers[: config.num_hidden_layers])
        self.max_slots = max(1, max_slots)
        self.expect_more = False  # plan for max_slots, not only the lines in hand (jobs will join)
        self.memory_bytes = memory_bytes
        cuda = self.device.type == "cuda"
        if graphs is None:
            graphs = cuda
        self.graph_reason = (
            "CUDA graphs on"
            if graphs and cuda
            else (
                "CUDA graphs off: no CUDA device (the step runs eagerly)"
                if not cuda
                else "CUDA graphs off (option)"
            )
        )
        self.use_graphs = bool(graphs and cuda)
        # torch.compile fuses the step's small kernels (norms, rotary, sampler) before the graph capture.
        self._run_step = torch.compile(self._step, dynamic=False) if compile else self._step
        if compile:
            self.graph_reason += "; step compiled"
        self.slots = 0
        self.length = 0
        self._graphs: dict[int, Any] = {}
        self._pool: Any = None
        self._lines: dict[int, SlotLine] = {}
        self._torch = torch
        self.prefill_tokens = 0

    # ------------------------------------------------------------------ plan

    def capacity(self) -> int:
        return self.slots

    def fits(self, line: SlotLine) -> bool:
        return line.tokens <= self.length

    def per_slot_bytes(self, length: int) -> int:
        element = self._torch.finfo(self.dtype).bits // 8
        return slot_bytes(self.config, length, element)

    def replan(self, lines: Sequence[SlotLine]) -> None:
        """Allocate the cache for ``lines``: the longest one's length, as many slots as memory allows."""
        torch = self._torch
        need = max((line.tokens for line in lines), default=LENGTH_STEP)
        length = LENGTH_STEP * math.ceil(need / LENGTH_STEP)
        want = bucket(min(self.max_slots, self.max_slots if self.expect_more else max(1, len(lines))))
        if self.memory_bytes is not None:
            while want > 1 and want * self.per_slot_bytes(length) > self.memory_bytes:
                want //= 2
        if self.slots >= want and length <= self.length <= 2 * length:
            return  # the cache in hand will do: no new allocation, no new graph capture
        self._free()
        shape = (want, self.kv_heads, length, self.head_dim)
        device, dtype = self.device, self.dtype
        self.k = [torch.zeros(shape, device=device, dtype=dtype) for _ in self.layers]
        self.v = [torch.zeros(shape, device=device, dtype=dtype) for _ in self.layers]
        long = dict(device=device, dtype=torch.long)
        self.codes = torch.full((want, self.books), self.bos, **long)
        self.pos = torch.zeros(want, **long)
        self.frame = torch.zeros(want, **long)
        self.delay = torch.zeros(want, **long)
        self.min_frames = torch.zeros(want, **long)
        self.max_frames = torch.zeros(want, **long)
        self.max_steps = torch.zeros(want, **long)
        self.active = torch.zeros(want, device=device, dtype=torch.bool)
        self.settings = sampler.Settings.of([(1.0, 0, 1.0, 0, 1, 0)] * want, device)
        self.history = torch.full((want, sampler.HISTORY, self.books), -1, **long)
        self.out = torch.full((want, length, self.books), self.eos, **long)
        self.slot_index = torch.arange(want, device=device)
        self.positions = torch.arange(length, device=device)
        self.slots, self.length = want, length

    def _free(self) -> None:
        self._graphs.clear()
        self._lines.clear()
        for name in ("k", "v", "out"):
            if hasattr(self, name):
                delattr(self, name)
        if self.device.type == "cuda":
            self._torch.cuda.empty_cache()

    # ------------------------------------------------------------------ lines in and out

    def admit(self, entries: Sequence[tuple[int, SlotLine]]) -> None:
        """Prefill the lines' prompts into their slots (packed) and set their state: frame 0 is all BOS."""
        torch = self._torch
        with torch.inference_mode(), self._kernels():
            pack: list[tuple[int, SlotLine]] = []
            tokens = 0
            for slot, line in entries:
                size = int(line.input_ids.shape[0])
                if pack and tokens + size > PACK_TOKENS:
                    self._prefill(pack)
                    pack, tokens = [], 0
                pack.append((slot, line))
                tokens += size
            if pack:
                self._prefill(pack)
            slots = torch.tensor([slot for slot, _ in entries], device=self.device)
            lines = [line for _, line in entries]
            long = dict(device=self.device, dtype=torch.long)
            self.pos[slots] = torch.tensor([int(line.input_ids.shape[0]) for line in lines], **long)
            self.frame[slots] = 1
            self.delay[slots] = 0
            self.codes[slots] = self.bos
            self.min_frames[slots] = torch.tensor([line.min_frames for line in lines], **long)
            self.max_frames[slots] = torch.tensor([line.max_frames for line in lines], **long)
            self.max_steps[slots] = torch.tensor([line.max_steps for line in lines], **long)
            new = sampler.Settings.of([line.params for line in lines], self.device)
            for name in ("temperature", "top_k", "top_p", "ras_win", "ras_max", "seeds"):
                getattr(self.settings, name)[slots] = getattr(new, name)
            tails = [line.audio if line.audio is not None else None for line in lines]
            history = sampler.start_history(tails, self.books, self.device)
            self.history[slots] = sampler.push(history, torch.full_like(history[:, 0], self.bos))
            self.out[slots] = self.eos
            self.out[slots, 0] = self.bos
            self.active[slots] = True
            for slot, line in entries:
                self._lines[slot] = line

    def partial(self, line: SlotLine) -> Any:
        """The frames ``line`` has made so far (frames, C) on the CPU, stream BOS first."""
        for slot, held in self._lines.items():
            if held is line:
                return self.out[slot, : int(self.frame[slot])].to("cpu")
        raise KeyError("the line is not in a slot")

    def poll(self) -> Mapping[int, tuple[int, bool]]:
        active = self.active.to("cpu")
        frame = self.frame.to("cpu")
        return {slot: (int(frame[slot]), not bool(active[slot])) for slot in self._lines}

    def release(self, slot: int, keep: bool) -> Any:
        """The slot's frames (frames, C) int64 on the CPU, stream BOS first (None when not ``keep``)."""
        self._lines.pop(slot, None)
        made = int(self.frame[slot])
        self.active[slot] = False
        if not keep:
            return None
        return self.out[slot, :made].to("cpu")

    # ------------------------------------------------------------------ the step

    def _kernels(self) -> Any:
        """Attention kernels: on CUDA, flash / memory-efficient / math — not cuDNN, which plans per shape."""
        import contextlib

        if self.device.type != "cuda":
            return contextlib.nullcontext()
        from torch.nn.attention import SDPBackend, sdpa_kernel

        return sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH])

    def step(self) -> None:
        if self.use_graphs:
            graph = self._graphs.get(self.slots)
            if graph is None:
                try:
                    graph = self._graphs[self.slots] = self._capture()
                except Exception as exc:  # noqa: BLE001 - any capture failure falls back to eager steps
                    self._fall_back(f"CUDA graphs off: the capture failed ({type(exc).__name__}: {exc})")
            if self.use_graphs and graph is not None:
                graph.replay()
                return
        with self._torch.inference_mode(), self._kernels():
            try:
                self._run_step()
            except Exception as exc:
                if self._run_step == self._step:
                    raise
                self._fall_back(f"{self.graph_reason}; compiling the step failed ({type(exc).__name__})")
                self._step()

    def _fall_back(self, reason: str) -> None:
        """Run eagerly and uncompiled from now on; ``reason`` goes to the engine status."""
        self.use_graphs = False
        self._run_step = self._step
        self._graphs.clear()
        self.graph_reason = reason

    def _capture(self) -> Any:
        """Capture :meth:`_step` as a CUDA graph (after warm-up runs on a side stream).

        The warm-up and capture run with every slot inactive, so they change no line's state (they
        write one cache position of each idle slot, which admission overwrites).
        """
        torch = self._torch
        saved = self.active.clone()
        state = [t.clone() for t in (self.codes, self.pos, self.frame, self.delay, self.history)]
        self.active.zero_()
        try:
            stream = torch.cuda.Stream(self.device)
            stream.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(stream), torch.inference_mode(), self._kernels():
                for _ in range(3):
                    self._run_step()
            torch.cuda.current_stream(self.device).wait_stream(stream)
            if self._pool is None:
                self._pool = torch.cuda.graph_pool_handle()  # one memory pool for every slot count's graph
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=self._pool), torch.inference_mode(), self._kernels():
                self._run_step()
        finally:
            torch.cuda.synchronize(self.device)
            for kept, tensor in zip(state, (self.codes, self.pos, self.frame, self.delay, self.history), strict=True):
                tensor.copy_(kept)
            self.active.copy_(saved)
        return graph

    def _step(self) -> None:
        """One frame for every slot, all on the device (state tensors updated in place)."""
        torch = self._torch
        model = self.model.model
        x = model.embed_audio_tokens(self.codes[:, None, :])  # (S, 1, hidden)
        cos, sin = model.rotary_emb(x, self.pos[:, None])
        mask = (self.positions[None, :] <= self.pos[:, None])[:, None, None, :]  # (S, 1, 1, L)
        for index, layer in enumerate(self.layers):
            residual = x
            h = layer.audio_input_layernorm(x)
            q, k, v = self._qkv(layer.self_attn, h, cos, sin)  # (S, H|KV, 1, D)
            self.k[index][self.slot_index, :, self.pos] = k[:, :, 0]
            self.v[index][self.slot_index, :, self.pos] = v[:, :, 0]
            grouped = q.reshape(self.slots, self.kv_heads, self.heads // self.kv_heads, self.head_dim)
            attended = torch.nn.functional.scaled_dot_product_attention(
                grouped, self.k[index], self.v[index], attn_mask=mask
            )
            x = residual + layer.self_attn.o_proj(attended.reshape(self.slots, 1, -1))
            x = x + layer.audio_mlp(layer.audio_post_attention_layernorm(x))
        x = model.norm(x)
        logits = self.model.audio_lm_head(x[:, 0]).float().view(self.slots, self.books, self.size)
        scores = sampler.frame_masks(
            logits, self.frame, self.delay, self.min_frames, self.max_frames, bos=self.bos, eos=self.eos
        )
        active = self.active
        picked = sampler.pick(scores, self.settings, self.frame, self.history)
        picked = torch.where(active[:, None], picked, torch.full_like(picked, self.eos))
        row = self.frame.clamp(max=self.length - 1)
        self.out[self.slot_index, row] = picked
        self.history.copy_(
            torch.where(active[:, None, None], sampler.push(self.history, picked), self.history)
        )
        ended = (picked == self.eos).all(dim=-1)
        started = (picked == self.eos).any(dim=-1).long()
        step = active.long()
        self.delay.copy_(
            torch.where(active, torch.where(self.delay > 0, self.delay + 1, started), self.delay)
        )
        self.codes.copy_(torch.where(active[:, None], picked, self.codes))
        self.frame.add_(step)
        self.pos.add_(step)
        self.active.copy_(active & ~ended & (self.frame < self.max_steps))

    def _qkv(self, attention: Any, h: Any, cos: Any, sin: Any) -> tuple[Any, Any, Any]:
        """Projected, rotated queries/keys and values (batch, heads, tokens, head_dim)."""
        batch, tokens = h.shape[:2]
        q = attention.q_proj(h).view(batch, tokens, -1, self.head_dim).transpose(1, 2)
        k = attention.k_proj(h).view(batch, tokens, -1, self.head_dim).transpose(1, 2)
        v = attention.v_proj(h).view(batch, tokens, -1, self.head_dim).transpose(1, 2)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        return q * cos + _rotate_half(q) * sin, k * cos + _rotate_half(k) * sin, v

    def _prefill(self, pack: Sequence[tuple[int, SlotLine]]) -> None:
        """Run the prompts of ``pack`` as one sequence (attention kept within each prompt); fill the cache."""
        torch = self._torch
        model = self.model.model
        config = self.config
        device = self.device
        ids = torch.cat([line.input_ids for _, line in pack]).to(device)[None]  # (1, T)
        lengths = [int(line.input_ids.shape[0]) for _, line in pack]
        segment = torch.repeat_interleave(
            torch.arange(len(pack), device=device), torch.tensor(lengths, device=device)
        )
        position = torch.cat([torch.arange(n, device=device) for n in lengths])
        slot_of = torch.tensor([slot for slot, _ in pack], device=device)[segment]
        audio_mask = (ids[0] == config.audio_token_id) | (ids[0] == config.audio_delay_token_id)
        x = model.embed_tokens(ids)
        streams = [line.audio for _, line in pack if line.audio is not None and len(line.audio)]
        if streams:
            audio = model.embed_audio_tokens(torch.cat(streams).to(device)[None])  # (1, F, hidden)
            x = x.masked_scatter(audio_mask[None, :, None], audio.to(x.dtype))
        cos, sin = model.rotary_emb(x, position[None])
        allowed = (segment[:, None] == segment[None, :]) & (position[None, :] <= position[:, None])
        text_mask = ~audio_mask
        groups = self.heads // self.kv_heads
        for index, layer in enumerate(self.layers):
            residual = x
            h = torch.where(
                audio_mask[None, :, None], layer.audio_input_layernorm(x), layer.input_layernorm(x)
            )
            q, k, v = self._qkv(layer.self_attn, h, cos, sin)
            self.k[index][slot_of, :, position] = k[0].transpose(0, 1)
            self.v[index][slot_of, :, position] = v[0].transpose(0, 1)
            attended = torch.nn.functional.scaled_dot_product_attention(
                q,
                k.repeat_interleave(groups, dim=1),
                v.repeat_interleave(groups, dim=1),
                attn_mask=allowed[None, None],
            )
            x = residual + layer.self_attn.o_proj(attended.transpose(1, 2).reshape(1, ids.shape[1], -1))
            out = torch.zeros_like(x)
            if bool(text_mask.any()):
                out[:, text_mask] = layer.mlp(layer.post_attention_layernorm(x[:, text_mask]))
            if bool(audio_mask.any()):
                out[:, audio_mask] = layer.audio_mlp(layer.audio_post_attention_layernorm(x[:, audio_mask]))
            x = x + out
        self.prefill_tokens += int(ids.shape[1])


def _rotate_half(x: Any) -> Any:
    import torch

    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)
