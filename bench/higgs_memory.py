"""Higgs Audio v2 on small cards (issue #20): peak memory and step time by weight precision and codec placement.

One run, random weights of the full-size architecture (5.38 B parameters). For each variant —
bf16, int8 (two CUDA kernels: ``dequant`` and ``aten``), int4 with the audio adapter in int8 (the
default), int4 throughout — and the codec on the GPU and on the CPU:

- load: the model is quantised from a bf16 copy kept on the CPU (as ``loading.load_model`` does), peak
  GPU memory of that load, weight bytes measured vs the memory plan's prediction;
- ms/step at batch 1 and 8 through the fast path (:class:`engine.higgs.slots.HiggsSlots`, CUDA graphs,
  the continuous scheduler), fixed-length lines; peak allocated / reserved GPU memory over the run plus
  one take decoded by the codec where it sits; the decode time of that take;
- logits: the first steps of one prompt, teacher-forced to bf16's codes (so every variant sees the
  same inputs), max and mean |Δ| of the raw audio logits vs bf16, and how often the top code agrees.

    python bench/higgs_memory.py --out bench/results/higgs_memory_h200.txt
    python bench/higgs_memory.py --device cpu --tiny --frames 12      # smoke test (CPU)

Goal (issue #20): full size at batch 1 within 12 GB of peak memory, at most 1.5x the bf16 step time.
"""

from __future__ import annotations

import argparse
import copy
import gc
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.protocol import GenerationParams, RenderJob, VoiceSpec  # noqa: E402

FRAME_RATE = 25
TEXT = "The sun rises in the east and sets in the west. This simple fact has been observed for thousands of years."
GOAL_PEAK_GB = 12.0
GOAL_SLOWDOWN = 1.5
# name → (precision, adapter precision, int8 kernel on CUDA)
VARIANTS = {
    "bf16": ("bf16", "bf16", None),
    "int8": ("int8", "int8", "dequant"),
    "int8-aten": ("int8", "int8", "aten"),
    "int4": ("int4", "int8", "dequant"),
    "int4-aten": ("int4", "int8", "aten"),
    "int4-all": ("int4", "int4", None),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="tiny random model (smoke test)")
    parser.add_argument("--frames", type=int, default=100, help="content frames per line")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"some of {', '.join(VARIANTS)}")
    parser.add_argument("--codec", default="gpu,cpu", help="codec placements to measure")
    parser.add_argument("--logit-steps", type=int, default=8, help="teacher-forced steps compared with bf16")
    parser.add_argument("--out", default="", help="also write the report here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch
    import transformers

    from engine.backends.higgs import HiggsBackend
    from engine.higgs import memory, quantize, random_model
    from engine.higgs.continuous import ContinuousRender
    from engine.higgs.inputs import decode_codes, extract_codes
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

    def clean() -> None:
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()

    def peaks() -> tuple[float, float]:
        if not cuda:
            return float("nan"), float("nan")
        return torch.cuda.max_memory_allocated() / 1e9, torch.cuda.max_memory_reserved() / 1e9

    size = "tiny" if args.tiny else "full"
    dtype = torch.bfloat16 if cuda else torch.float32
    dtype_bytes = torch.tensor([], dtype=dtype).element_size()
    started = time.perf_counter()
    # built on the device (fast random init), then kept on the CPU as the source of every variant
    reference, processor = random_model.build(size, device=args.device, dtype=dtype)
    reference.to("cpu")
    codec = processor.audio_tokenizer.to("cpu")
    clean()
    name = torch.cuda.get_device_name(args.device) if cuda else platform.processor() or "cpu"
    config = reference.config
    counts = memory.param_counts(config)
    say(f"device: {args.device} ({name}), torch {torch.__version__}, transformers {transformers.__version__}")
    say(
        f"model ({size}, random {str(dtype).removeprefix('torch.')}): {counts.total / 1e9:.2f} B parameters, "
        f"{counts.per_frame / 1e9:.2f} B read per frame; codec {memory.codec_bytes(codec.config) / 1e9:.2f} GB "
        f"(fp32); built in {time.perf_counter() - started:.1f} s"
    )

    def job(i: int, prefix: str) -> RenderJob:
        return RenderJob(
            job_id=f"{prefix}-{i}",
            text=TEXT,
            out_path="",
            speakers=(VoiceSpec(kind="smart"),),
            params=GenerationParams(seed=i),
            group="bench",
            language="en",  # English: no langid needed (the GPU machine lacks it)
        )

    def lines(model: Any, count: int, frames: int, prefix: str) -> list[SlotLine]:
        backend = HiggsBackend.from_model(model, processor, {"fixed_frames": frames, "trim_silence": False})
        builder = ContinuousRender(backend, HiggsSlots(model, max_slots=1, graphs=False))
        out = []
        for i in range(count):
            line = builder._start(job(i, prefix))
            assert line is not None, builder._ready
            line.min_frames = line.max_frames = frames
            line.max_steps = frames + 9
            out.append(line)
        return out

    def run(model: Any, batch: int) -> tuple[float, Any]:
        """ms/step of ``batch`` lines of ``--frames`` frames (after a warm-up that captures the graph), a take."""
        decoder = HiggsSlots(model, max_slots=batch)
        # warm-up at the timed length: the same cache shape, so the timed run replays the captured graph
        for _ in ContinuousScheduler(decoder).run(lines(model, batch, args.frames, "w")):
            pass
        scheduler = ContinuousScheduler(decoder)
        taken = None
        sync()
        t0 = time.perf_counter()
        for event in scheduler.run(lines(model, batch, args.frames, "t")):
            if taken is None:
                taken = event.result
        sync()
        seconds = time.perf_counter() - t0
        steps = max(1, scheduler.stats.steps)
        del decoder
        return 1000 * seconds / steps, taken

    def decode(frames: Any) -> float:
        [codes] = extract_codes(
            frames[None], 0, bos=config.audio_stream_bos_id, eos=config.audio_stream_eos_id
        )
        sync()
        t0 = time.perf_counter()
        audio = decode_codes(processor, codes)
        sync()
        assert len(audio) == len(codes) * 960, (len(audio), codes.shape)
        return time.perf_counter() - t0

    def logits_of(model: Any, forced: list[Any] | None) -> tuple[list[Any], list[Any]]:
        """Raw audio logits of the first ``--logit-steps`` steps of one line, and the codes fed in."""
        decoder = HiggsSlots(model, max_slots=1, graphs=False)
        [line] = lines(model, 1, args.frames, "l")
        seen: list[Any] = []
        fed: list[Any] = []

        def feed(module: Any, inputs: tuple[Any, ...]) -> tuple[Any, ...] | None:
            codes = inputs[0]
            if forced is not None and len(fed) < len(forced):
                codes = forced[len(fed)].to(codes.device)
            fed.append(codes.clone())
            return (codes, *inputs[1:])

        def keep(module: Any, inputs: Any, output: Any) -> None:
            seen.append(output.float().cpu())

        hooks = [
            model.model.embed_audio_tokens.register_forward_pre_hook(feed),
            model.audio_lm_head.register_forward_hook(keep),
        ]
        try:
            decoder.replan([line])
            decoder.admit([(0, line)])
            for _ in range(args.logit_steps):
                decoder.step()
        finally:
            for hook in hooks:
                hook.remove()
        return seen, fed

    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    placements = [p.strip() for p in args.codec.split(",") if p.strip()]
    chosen = [v.strip() for v in args.variants.split(",") if v.strip()]
    rows: list[dict[str, Any]] = []
    logit_rows: list[tuple[str, float, float, float, float]] = []
    base_logits: list[Any] = []
    forced: list[Any] | None = None
    for variant in chosen:
        precision, adapter, kernel = VARIANTS[variant]
        model: Any = None
        try:
            clean()
            t0 = time.perf_counter()
            if precision == "bf16":
                model = reference.to(args.device)
            else:
                model = copy.deepcopy(reference)
                quantize.quantize_model(
                    model, precision, adapter=adapter, device=args.device, int8_kernel=kernel
                )
            sync()
            load_s = time.perf_counter() - t0
            load_peak = peaks()[0]
            measured = quantize.model_bytes(model)
            planned = memory.weights_bytes(counts, precision, adapter, dtype_bytes)
            if kernel == "aten" and cuda:  # float32 scales kept beside the model-dtype ones
                planned += sum(
                    4 * m.out_features for m in model.modules() if type(m).__name__ == "Int8Linear"
                )
            say(
                f"{variant}: loaded in {load_s:.1f} s, load peak {load_peak:.2f} GB; weights {measured / 1e9:.2f} GB "
                f"(plan {planned / 1e9:.2f} GB, rotary tables aside)"
            )
            # logits first (eager, teacher-forced to bf16's codes)
            seen, fed = logits_of(model, forced)
            if precision == "bf16" and not base_logits:
                base_logits, forced = seen, fed
            elif base_logits:
                diffs = [(a - b).abs() for a, b in zip(seen, base_logits, strict=True)]
                books = int(config.num_codebooks)
                top = [
                    float(
                        (a.view(a.shape[0], books, -1).argmax(-1) == b.view(b.shape[0], books, -1).argmax(-1))
                        .float()
                        .mean()
                    )
                    for a, b in zip(seen, base_logits, strict=True)
                ]
                spread = float(torch.stack([b.std() for b in base_logits]).mean())
                logit_rows.append(
                    (
                        variant,
                        float(max(d.max() for d in diffs)),
                        float(torch.stack([d.mean() for d in diffs]).mean()),
                        spread,
                        sum(top) / len(top),
                    )
                )
            for placement in placements:
                codec.to(args.device if placement == "gpu" else "cpu")
                for batch in batches:
                    clean()
                    ms, take = run(model, batch)
                    decode_s = decode(take) if take is not None else float("nan")
                    allocated, reserved = peaks()
                    rows.append(
                        dict(
                            variant=variant,
                            codec=placement,
                            batch=batch,
                            ms=ms,
                            allocated=allocated,
                            reserved=reserved,
                            decode_s=decode_s,
                            weights=measured / 1e9,
                        )
                    )
                    say(
                        f"  codec {placement}, batch {batch}: {ms:.2f} ms/step, peak {allocated:.2f} GB allocated / "
                        f"{reserved:.2f} GB reserved, decode {decode_s:.2f} s/take"
                    )
            codec.to("cpu")
            if precision == "bf16":
                reference.to("cpu")
            del model
            clean()
        except Exception as exc:  # noqa: BLE001 - one variant failing must not lose the others
            say(f"{variant}: FAILED {type(exc).__name__}: {str(exc)[:300]}")
            codec.to("cpu")
            reference.to("cpu")
            model = None  # noqa: F841 - drops a half-measured variant's weights before the next
            clean()

    # ---- the table
    say()
    say(
        f"{args.frames} frames per line ({args.frames / FRAME_RATE:.1f} s); peaks include the codec when it is on the GPU"
    )
    header = (
        f"{'variant':>10} {'codec':>5} {'batch':>5} {'ms/step':>8} {'x bf16':>6} {'audio s/s':>9} "
        f"{'peak alloc GB':>13} {'peak resv GB':>12} {'decode s':>8} {'weights GB':>10}"
    )
    say(header)
    say("-" * len(header))
    base = {(r["codec"], r["batch"]): r["ms"] for r in rows if r["variant"] == "bf16"}
    for r in rows:
        ratio = r["ms"] / base[(r["codec"], r["batch"])] if (r["codec"], r["batch"]) in base else float("nan")
        audio = r["batch"] * 1000 / r["ms"] / FRAME_RATE
        say(
            f"{r['variant']:>10} {r['codec']:>5} {r['batch']:>5} {r['ms']:>8.2f} {ratio:>6.2f} {audio:>9.1f} "
            f"{r['allocated']:>13.2f} {r['reserved']:>12.2f} {r['decode_s']:>8.2f} {r['weights']:>10.2f}"
        )
    if logit_rows:
        say()
        say(
            f"audio logits vs bf16, first {args.logit_steps} steps teacher-forced to bf16's codes (random weights)"
        )
        say(f"{'variant':>10} {'max |d|':>9} {'mean |d|':>9} {'bf16 std':>9} {'top-1 agree':>11}")
        for variant, worst, mean, spread, agree in logit_rows:
            say(f"{variant:>10} {worst:>9.4f} {mean:>9.4f} {spread:>9.4f} {agree:>11.3f}")
    say()
    for r in rows:
        if r["batch"] != 1 or r["variant"] == "bf16" or (r["codec"], 1) not in base:
            continue
        ratio = r["ms"] / base[(r["codec"], 1)]
        fits = r["reserved"] <= GOAL_PEAK_GB if cuda else None
        verdict = "PASS" if fits and ratio <= GOAL_SLOWDOWN else "FAIL" if cuda else "n/a (CPU)"
        say(
            f"goal {r['variant']} codec {r['codec']}: peak {r['reserved']:.2f} GB reserved (<= {GOAL_PEAK_GB:.0f}), "
            f"{ratio:.2f}x bf16 step time (<= {GOAL_SLOWDOWN}) -> {verdict}"
        )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text("\n".join(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
