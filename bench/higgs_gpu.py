"""Higgs Audio v2 speed, three ways side by side, with random weights of the full-size architecture.

1. ``plain``   — transformers ``generate()`` called directly (the length held by Chorus's frame window).
2. ``backend`` — the plain path of the backend (``HiggsBackend.render_batch``: prompt building, inputs,
   ``generate`` with Chorus's picker, decode, take check), i.e. what Chorus did before the fast path.
3. ``fast``    — the fast path (:mod:`engine.higgs.slots`: static KV cache, one CUDA graph per step,
   :mod:`engine.scheduler`'s continuous batching), lines built by the backend's own prompt code.

Part A: ms/step at each batch size (every line the same length). Part B: 256 lines of mixed length
(2–20 s, a fixed random draw) — audio seconds per wall second (decoding included) under continuous
batching vs fixed batches (a batch starts when the whole previous one has finished) on the same
fast decoder. Also: the same seed gives the same codes on the plain and the fast path (first lines).

    python bench/higgs_gpu.py --out bench/results/higgs_gpu_h200.txt
    python bench/higgs_gpu.py --device cpu --tiny --batches 1,4 --mixed 12   # smoke test (CPU)

Columns: ``ms/step`` = decode time / steps (a step makes one frame for every line in the batch; a line
of T content frames costs T + 9 steps); ``audio s/s`` = seconds of audio made per wall second.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.protocol import GenerationParams, RenderJob, VoiceSpec  # noqa: E402

FRAME_RATE = 25
TEXT = "The sun rises in the east and sets in the west. This simple fact has been observed for thousands of years."
# HIGGS.md, measured on an H100 with the same random full-size model.
BASELINE = "H100 (HIGGS.md): generate() 77 ms/step at batch 1; old backend 21.2 ms/step at batch 1, 84 audio s/s at 64"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="tiny random model (smoke test)")
    parser.add_argument("--frames", type=int, default=100, help="content frames per line in part A")
    parser.add_argument("--batches", default="1,8,32,64,128")
    parser.add_argument("--plain-batches", default="1,8,64", help="batches timed with generate() and the old backend")
    parser.add_argument("--compile-batches", default="1", help="batches also timed with the step compiled (torch.compile; slow to build)")
    parser.add_argument("--mixed", type=int, default=256, help="lines in part B (0 = skip)")
    parser.add_argument("--slots", type=int, default=128, help="slots of the fast path in part B")
    parser.add_argument("--fixed-batch", type=int, default=128, help="batch size of the fixed-batch run in part B")
    parser.add_argument("--out", default="", help="also write the report here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch
    import transformers

    from engine.backends.higgs import HiggsBackend
    from engine.higgs import random_model
    from engine.higgs.continuous import ContinuousRender
    from engine.higgs.inputs import extract_codes
    from engine.higgs.slots import HiggsSlots, SlotLine
    from engine.scheduler import ContinuousScheduler

    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        print("no CUDA device here; use --device cpu --tiny for a smoke test", file=sys.stderr)
        return 2
    report: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        report.append(text)

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    dtype = torch.bfloat16 if cuda else torch.float32
    started = time.perf_counter()
    model, processor = random_model.build("tiny" if args.tiny else "full", device=args.device, dtype=dtype)
    name = torch.cuda.get_device_name(args.device) if cuda else platform.processor() or "cpu"
    say(f"device: {args.device} ({name}), torch {torch.__version__}, transformers {transformers.__version__}")
    config = model.config
    say(
        f"model ({'tiny' if args.tiny else 'full'}, random {str(dtype).removeprefix('torch.')}): "
        f"{config.num_hidden_layers} layers, hidden {config.hidden_size}, "
        f"{sum(p.numel() for p in model.parameters()) / 1e9:.2f} B parameters; built in {time.perf_counter() - started:.1f} s"
    )

    def jobs(n: int, prefix: str = "") -> list[RenderJob]:
        return [
            RenderJob(
                job_id=f"{prefix}{n}-{i}",
                text=TEXT,
                out_path="",
                speakers=(VoiceSpec(kind="smart"),),
                params=GenerationParams(seed=i),
                group="bench",
                language="en",  # English: no langid needed (the GPU machine lacks it)
            )
            for i in range(n)
        ]

    def quiet(job_id: str, fraction: float) -> None:
        pass

    def never(job_id: str) -> bool:
        return False

    options = {"fixed_frames": args.frames, "trim_silence": False, "fast": "on"}
    backend = HiggsBackend.from_model(model, processor, {**options, "batch_size": 4096})
    builder = ContinuousRender(backend, HiggsSlots(model, max_slots=1))

    def lines(count: int, frames: list[int], prefix: str = "", plan: int = 0) -> list[SlotLine]:
        """Lines of exactly ``frames`` content frames; ``plan`` frames of cache room (a warm-up's shape)."""
        out = []
        for job, n in zip(jobs(count, prefix), frames, strict=True):
            state_line = builder._start(job)
            assert state_line is not None, builder._ready
            state_line.min_frames = state_line.max_frames = n
            state_line.max_steps = max(n, plan) + 9
            out.append(state_line)
        return out

    slots_by_size: dict[tuple[int, bool], HiggsSlots] = {}

    def fast_run(
        batch_lines: list[SlotLine], slots: int, fixed: bool = False, compiled: bool = False
    ) -> tuple[float, float, int, list]:
        """(decode s, wall s incl. decoding, steps, finished) through the scheduler."""
        key = (slots, compiled)
        decoder = slots_by_size.get(key)
        if decoder is None:
            decoder = slots_by_size[key] = HiggsSlots(model, max_slots=slots, compile=compiled)
        scheduler = ContinuousScheduler(decoder)
        decode_s = 0.0
        finished = []
        sync()
        t0 = time.perf_counter()
        groups = [batch_lines[i : i + slots] for i in range(0, len(batch_lines), slots)] if fixed else [batch_lines]
        steps = 0
        for group in groups:
            for event in scheduler.run(group):
                t = time.perf_counter()
                [codes] = extract_codes(event.result[None], 0, bos=config.audio_stream_bos_id, eos=config.audio_stream_eos_id)
                backend.finish_take(event.line.key.job, codes, capped=False, budget=event.line.max_frames)
                decode_s += time.perf_counter() - t
                finished.append((event.line, codes))
            steps += scheduler.stats.steps
        sync()
        wall = time.perf_counter() - t0
        return wall - decode_s, wall, steps, finished

    # ---- Part A: ms/step by batch size
    say()
    say(f"Part A: {args.frames} frames per line ({args.frames / FRAME_RATE:.1f} s), ms per step")
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    plain_batches = {int(b) for b in args.plain_batches.split(",") if b.strip()}
    compile_batches = {int(b) for b in args.compile_batches.split(",") if b.strip()}
    header = (
        f"{'batch':>5} {'plain ms':>9} {'backend ms':>10} {'fast ms':>8} {'compiled ms':>11} "
        f"{'fast frames/s':>13} {'fast audio s/s':>14} {'peak GiB':>8}"
    )
    say(header)
    say("-" * len(header))
    for batch in batches:
        plain_ms = backend_ms = float("nan")
        if batch in plain_batches:
            plain_ms = 1000 * plain_generate_s(model, processor, jobs(1)[0], batch, args.frames, torch) / (args.frames + 9)
            backend.render_batch(jobs(min(batch, 2), "w"), quiet, never)  # warm the shapes' kernels
            sync()
            backend.render_batch(jobs(batch, "b"), quiet, never)
            backend_ms = 1000 * backend.last_stats["generate_s"] / backend.last_stats["steps"]
        fast_run(lines(batch, [8] * batch, "w", args.frames), batch)  # capture this batch's graph (once per engine)
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        gen_s, wall, steps, _ = fast_run(lines(batch, [args.frames] * batch, "f"), batch)
        peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else 0.0
        fast_ms = 1000 * gen_s / steps
        compiled_ms = float("nan")
        if batch in compile_batches:
            t = time.perf_counter()
            fast_run(lines(batch, [8] * batch, "w", args.frames), batch, compiled=True)
            say(f"(batch {batch}: compiling the step took {time.perf_counter() - t:.0f} s)")
            c_gen_s, _, c_steps, _ = fast_run(lines(batch, [args.frames] * batch, "c"), batch, compiled=True)
            compiled_ms = 1000 * c_gen_s / c_steps
        say(
            f"{batch:>5} {plain_ms:>9.1f} {backend_ms:>10.1f} {fast_ms:>8.2f} {compiled_ms:>11.2f} {batch * args.frames / gen_s:>13.0f} "
            f"{batch * args.frames / FRAME_RATE / wall:>14.1f} {peak:>8.1f}"
        )

    # ---- same seed, same take: plain path vs fast path
    sample = jobs(3, "s")
    plain_codes = [backend.render(j, quiet, never).codes for j in sample]
    fast_codes = {o.job_id: o.result.codes for o in backend.render_stream(sample, quiet, never)}
    same = sum(
        int(p.shape == fast_codes[j.job_id].shape and (p == fast_codes[j.job_id]).all())
        for p, j in zip(plain_codes, sample, strict=True)
    )
    agree = [
        float((p[: min(len(p), len(fast_codes[j.job_id]))] == fast_codes[j.job_id][: len(p)]).all(axis=1).mean())
        for p, j in zip(plain_codes, sample, strict=True)
    ]
    say()
    say(
        f"same seed, plain vs fast path: {same}/{len(sample)} takes identical; share of identical frames "
        + ", ".join(f"{a:.2f}" for a in agree)
        + (" (bf16: different kernels round differently, so sampled takes drift apart once a pick flips)" if cuda else "")
    )

    # ---- Part B: mixed lengths
    if args.mixed:
        rng = random.Random(7)
        frames = [rng.randint(2 * FRAME_RATE, 20 * FRAME_RATE) for _ in range(args.mixed)]
        audio_s = sum(frames) / FRAME_RATE
        say()
        say(f"Part B: {args.mixed} lines of 2-20 s (mean {audio_s / args.mixed:.1f} s, {audio_s:.0f} s of audio in all)")
        longest = max(frames)
        fast_run(lines(args.slots, [8] * args.slots, "w", longest), args.slots)
        if args.fixed_batch != args.slots:
            fast_run(lines(args.fixed_batch, [8] * args.fixed_batch, "w", longest), args.fixed_batch)
        for label, slots, fixed in (
            ("continuous", args.slots, False),
            (f"fixed batches of {args.fixed_batch}", args.fixed_batch, True),
        ):
            gen_s, wall, steps, finished = fast_run(lines(args.mixed, frames, "m"), slots, fixed)
            order = [line.max_frames for line, _ in finished]
            say(
                f"{label:>24}: {audio_s / wall:8.1f} audio s/s (wall {wall:.2f} s, decoding {wall - gen_s:.2f} s, "
                f"{steps} steps, {len(finished)} lines)"
            )
            assert len(finished) == args.mixed, order
    say()
    say(BASELINE)
    say("goals (issue #15): batch 1 <= 5 ms/step (floor ~1.9 ms on an H100, ~1.3 on an H200); >= 300 audio s/s on Part B")
    if args.out:
        Path(args.out).write_text("\n".join(report) + "\n")
    return 0


def plain_generate_s(model, processor, job, batch: int, frames: int, torch) -> float:  # type: ignore[no-untyped-def]
    """transformers ``generate()`` alone on the backend's prompt (the length held by the frame window)."""
    from transformers import LogitsProcessorList

    from engine.higgs.prompt import build_conversation
    from engine.higgs.sampling import frame_window

    config = model.config
    conversation = build_conversation(job)
    inputs = processor.apply_chat_template(
        [conversation] * batch, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
    ).to(model.device)
    hold = frame_window(
        [frames] * batch,
        [frames] * batch,
        num_codebooks=config.num_codebooks,
        codebook_size=config.codebook_size,
        eos_id=config.audio_stream_eos_id,
    )
    torch.manual_seed(0)
    cuda = model.device.type == "cuda"
    if cuda:
        torch.cuda.synchronize()
    started = time.perf_counter()
    with torch.inference_mode():
        model.generate(
            **inputs,
            max_new_tokens=frames + 9,
            do_sample=True,
            temperature=1.0,
            top_k=50,
            top_p=0.95,
            logits_processor=LogitsProcessorList([hold]),
        )
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - started


if __name__ == "__main__":
    raise SystemExit(main())
