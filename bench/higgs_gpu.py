"""Higgs Audio v2 speed through the real backend render code, with random weights (no download needed).

Builds the full-size architecture (transformers' default ``HiggsAudioV2Config`` with codebook_size 1026:
28 layers, hidden 3072, 24 heads, 8 KV heads, head dim 128, DualFFN audio MLPs) and a full-size audio
tokenizer directly on the device, wraps them in ``HiggsBackend.from_model`` and renders fixed-length
takes (``fixed_frames``: the end-of-audio code is held back until the length is reached) at several
batch sizes through ``HiggsBackend.render_batch`` — prompt building, input assembly, ``generate`` with
the backend's logits processor and stopping criteria, decode and the take check. Prints a table beside
the HIGGS.md baseline (transformers ``generate()`` on an H100, random bf16 weights).

    python bench/higgs_gpu.py                          # cuda, bf16, 250 frames (10 s), batches 1, 8, 32
    python bench/higgs_gpu.py --batches 1,8,32,64 --frames 250
    python bench/higgs_gpu.py --device cpu --tiny      # smoke test of the script itself

Columns: ``ms/step`` = generate time / steps (a step makes one frame for every line in the batch; a take
of T frames costs T + 9 steps: the BOS frame, 7 delay-pattern frames, the EOS frame); ``frames/s`` =
content frames of all lines / generate time; ``audio s/s`` = seconds of audio per wall second including
decoding (25 frames = 1 s); ``plain ms/step`` (with ``--plain``) = transformers ``generate()`` called
directly on the same prompt and machine with its default attention kernels, only the length hook
added. Each run meets its shapes for the first time, as a real render does; PyTorch's default cuDNN
attention re-plans every new shape, which the backend avoids (see ``HiggsBackend._attention_kernels``).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.protocol import GenerationParams, RenderJob, VoiceSpec  # noqa: E402

FRAME_RATE = 25
TEXT = "The sun rises in the east and sets in the west. This simple fact has been observed for thousands of years."
# HIGGS.md: transformers generate(), full-size model, random bf16 weights, H100.
BASELINE = {
    1: (77.0, 13.0, 0.52),
    64: (64 * 1000 / 700, 700.0, 28.0),
}  # batch: (ms/step, frames/s, audio s/s)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda")
    parser.add_argument(
        "--dtype", default="auto", choices=["auto", "bf16", "fp16", "fp32"], help="auto: bf16 on CUDA"
    )
    parser.add_argument("--tiny", action="store_true", help="tiny random model (smoke test)")
    parser.add_argument("--frames", type=int, default=250, help="content frames per take (25 = 1 s)")
    parser.add_argument("--batches", default="1,8,32", help="comma-separated batch sizes")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per batch size (best is shown)")
    parser.add_argument(
        "--plain", action="store_true", help="also time transformers generate() alone on the same machine"
    )
    return parser.parse_args(argv)


def count_params(model: object) -> tuple[int, int]:
    """(all parameters, parameters read to make one audio frame: no embeddings tables, no text MLPs)."""
    total = sum(p.numel() for p in model.parameters())  # type: ignore[attr-defined]
    skipped = 0
    for name, p in model.named_parameters():  # type: ignore[attr-defined]
        text_mlp = ".mlp." in name or ".post_attention_layernorm" in name or ".input_layernorm" in name
        if "embed_tokens" in name or "embed_audio_tokens" in name or (text_mlp and "audio_" not in name):
            skipped += p.numel()
    return total, total - skipped


def _billions(n: int) -> str:
    return f"{n / 1e9:.2f} B" if n >= 1e8 else f"{n / 1e6:.2f} M"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch
    import transformers

    from engine.backends.higgs import HiggsBackend
    from engine.higgs import random_model

    if args.dtype == "auto":
        args.dtype = "bf16" if args.device.startswith("cuda") else "fp32"
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[args.dtype]
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device here; use --device cpu --tiny for a smoke test", file=sys.stderr)
        return 2
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    size = "tiny" if args.tiny else "full"

    started = time.perf_counter()
    model, processor = random_model.build(size, device=args.device, dtype=dtype)
    build_s = time.perf_counter() - started
    config = model.config
    total, per_frame = count_params(model)
    device_name = (
        torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else platform.processor()
    )
    print(
        f"device: {args.device} ({device_name or 'cpu'}), torch {torch.__version__}, transformers {transformers.__version__}"
    )
    print(
        f"model ({size}, random {args.dtype}): {config.num_hidden_layers} layers, hidden {config.hidden_size}, "
        f"{config.num_attention_heads} heads, {config.num_key_value_heads} KV heads, head dim {config.head_dim}, "
        f"intermediate {config.intermediate_size}, {config.num_codebooks} codebooks × {config.codebook_size}; "
        f"{_billions(total)} parameters, {_billions(per_frame)} read per frame (HIGGS.md: 5.38 B / 2.84 B); "
        f"built in {build_s:.1f} s"
    )
    codec = processor.audio_tokenizer.config
    print(
        f"codec: {codec.sample_rate} Hz, hop {codec.hop_length} → {codec.frame_rate} fps, "
        f"{codec.num_quantizers} codebooks of {codec.codebook_size}"
    )

    options = {"fixed_frames": args.frames, "batch_size": max(batches), "trim_silence": False}
    backend = HiggsBackend.from_model(model, processor, options)
    warm = HiggsBackend.from_model(model, processor, {**options, "fixed_frames": 8})

    def jobs(n: int) -> list[RenderJob]:
        return [
            RenderJob(
                job_id=f"{n}-{i}",
                text=TEXT,
                out_path="",
                speakers=(VoiceSpec(kind="smart"),),
                params=GenerationParams(seed=i),
                group="bench",
            )
            for i in range(n)
        ]

    def quiet(job_id: str, fraction: float) -> None:
        pass

    def never(job_id: str) -> bool:
        return False

    warm.render_batch(jobs(min(batches)), quiet, never)

    def plain_generate_s(batch: int) -> float:
        """transformers ``generate()`` alone on the same prompt (the length held by the same hook)."""
        from transformers import LogitsProcessorList

        from engine.higgs.prompt import build_conversation
        from engine.higgs.sampling import frame_window

        conversation = build_conversation(jobs(1)[0])
        inputs = processor.apply_chat_template(
            [conversation] * batch,
            add_generation_prompt=True,
            tokenize=True,
            return_dict=True,
            return_tensors="pt",
        ).to(args.device)
        hold = frame_window(
            [args.frames] * batch,
            [args.frames] * batch,
            num_codebooks=config.num_codebooks,
            codebook_size=config.codebook_size,
            eos_id=config.audio_stream_eos_id,
        )
        torch.manual_seed(0)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        started = time.perf_counter()
        with torch.inference_mode():
            model.generate(
                **inputs,
                max_new_tokens=args.frames + 9,
                do_sample=True,
                temperature=1.0,
                top_k=50,
                top_p=0.95,
                logits_processor=LogitsProcessorList([hold]),
            )
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - started

    rows = []
    for batch in batches:
        best = None
        for _ in range(max(1, args.repeat)):
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            started = time.perf_counter()
            outcomes = backend.render_batch(jobs(batch), quiet, never)
            wall = time.perf_counter() - started
            failed = [o.error for o in outcomes if o.result is None]
            if failed:
                print(f"batch {batch}: {len(failed)} failed: {failed[0]}", file=sys.stderr)
                return 1
            stats = dict(backend.last_stats)
            if best is None or wall < best[0]:
                best = (wall, stats)
        assert best is not None
        wall, stats = best
        frames = sum(stats["frames"])
        gen_s = stats["generate_s"]
        peak = torch.cuda.max_memory_allocated() / 2**30 if args.device.startswith("cuda") else 0.0
        plain_ms = 1000 * plain_generate_s(batch) / stats["steps"] if args.plain else float("nan")
        rows.append(
            (
                batch,
                stats["steps"],
                1000 * gen_s / stats["steps"],
                frames / gen_s,
                frames / FRAME_RATE / wall,
                gen_s,
                stats.get("decode_s", 0.0),
                wall,
                peak,
                plain_ms,
            )
        )

    print()
    header = (
        f"{'batch':>5} {'steps':>5} {'ms/step':>8} {'frames/s':>9} {'audio s/s':>9} "
        f"{'gen s':>7} {'decode s':>8} {'wall s':>7} {'peak GiB':>8} {'plain ms/step':>13} "
        "| baseline (HIGGS.md, H100)"
    )
    print(header)
    print("-" * len(header))
    for batch, steps, ms, fps, audio_rate, gen_s, dec_s, wall, peak, plain_ms in rows:
        base = BASELINE.get(batch)
        baseline = f"{base[0]:.0f} ms/step, {base[1]:.0f} frames/s, {base[2]:.2f} audio s/s" if base else "—"
        print(
            f"{batch:>5} {steps:>5} {ms:>8.1f} {fps:>9.1f} {audio_rate:>9.2f} "
            f"{gen_s:>7.2f} {dec_s:>8.2f} {wall:>7.2f} {peak:>8.1f} {plain_ms:>13.1f} | {baseline}"
        )
    print(
        "\nbaseline batch 64: 700 frames/s = 28 s audio/s; memory-bandwidth floor at batch 1 on an H100: "
        "~1.9 ms/step (2.84 B params × 2 bytes at ~3 TB/s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
