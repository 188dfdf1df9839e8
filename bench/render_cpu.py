"""CPU render throughput: audio seconds rendered per wall second, one Piper process vs the worker pool.

Renders the demo podcast script (15 lines, two hosts = Piper variants 2 and 1, so the pitch shift is
included) through the real engine process and the studio's engine client, exactly as the studio does:
takes are written to disk and announced over the pipe. The clock runs from submit to the last
``finished`` event; model loading is timed separately. All engines are started first and the rounds
interleave them, so other load on the machine affects every configuration alike.

    .venv/bin/python bench/render_cpu.py [--rounds 2] [--repeat 1]

Configurations (side by side; the first is the baseline):
  * one process — ``workers=0``: the engine renders itself, ONNX uses every core;
  * pool ×1 — one worker process with one ONNX thread (what one core does);
  * pool auto — one worker per core (the default).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from engine.backends.piper import available_cpus  # noqa: E402
from engine.protocol import RenderJob, VoiceSpec  # noqa: E402
from studio.render.client import EngineClient  # noqa: E402

FALLBACK_LINES = [
    ("MAYA", "Welcome back to The Signal Chain, the show about how sound gets made. I'm Maya."),
    ("THEO", "And I'm Theo. Today we're talking about synthetic voices, and whether you can hear the seams."),
    ("MAYA", "Which is funny, because neither of us recorded this intro the usual way."),
    ("THEO", "No microphones were harmed in the making of this episode."),
    ("MAYA", "So let's start simple. What makes a voice sound real to you?"),
    ("THEO", "Timing, mostly. Real people pause in odd places. They speed up when they're excited."),
    ("MAYA", "And they breathe. You notice when a voice never breathes."),
    ("THEO", "Right. The second thing is consistency. A voice that drifts between sentences sounds wrong."),
    (
        "MAYA",
        "That's the part I find fascinating. Each line can be perfect, and the conversation still falls apart.",
    ),
    ("THEO", "Because a conversation is more than a list of lines. It has a room, a mood, a rhythm."),
    ("MAYA", "So how do you keep that rhythm when every line is rendered separately?"),
    ("THEO", "You give the model the earlier lines as context, and you keep the gaps between turns natural."),
    ("MAYA", "Half a second between speakers, a quarter between sentences. It's almost musical."),
    ("THEO", "It is musical. Speaking of which, that bed under us was written by a few lines of code."),
    ("MAYA", "That's all for this episode. Thanks for listening to The Signal Chain."),
]
VARIANT = {"MAYA": 2, "THEO": 1}


def script_lines() -> list[tuple[str, str]]:
    """The demo podcast's lines (from projects/build_demos.py when importable)."""
    try:
        sys.path.insert(0, str(HERE.parent / "projects"))
        import build_demos

        return [(who, text) for _, who, text in build_demos.PODCAST_LINES]
    except Exception:
        return FALLBACK_LINES


def make_jobs(out_dir: Path, lines: list[tuple[str, str]], tag: str) -> list[RenderJob]:
    return [
        RenderJob(
            job_id=f"{tag}-{i:03d}",
            text=text,
            out_path=str(out_dir / f"{tag}-{i:03d}.wav"),
            speakers=(VoiceSpec(kind="piper", variant=VARIANT.get(who, 0), name=who),),
        )
        for i, (who, text) in enumerate(lines)
    ]


def start_engine(options: dict[str, Any]) -> tuple[EngineClient, float]:
    """Start an engine and wait until its model is loaded; returns (client, seconds)."""
    client = EngineClient(options=options, hang_timeout_s=120)
    started = time.perf_counter()
    client.start()
    for event in client.events(timeout=300, until_idle=False):
        if event["type"] == "engine_status" and event["model_loaded"]:
            break
        if event["type"] == "error":
            raise SystemExit(f"engine error: {event['reason']}")
    return client, time.perf_counter() - started


def render_round(client: EngineClient, jobs: list[RenderJob]) -> tuple[float, float]:
    """(audio seconds, wall seconds) from submit to the last final event."""
    audio = 0.0
    failed = 0
    t0 = time.perf_counter()
    client.submit(jobs)
    for event in client.events(timeout=300):
        if event["type"] == "finished":
            audio += float(event["duration"])
        elif event["type"] == "failed":
            failed += 1
    wall = time.perf_counter() - t0
    if failed:
        raise SystemExit(f"{failed} line(s) failed")
    return audio, wall


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2, help="renders per configuration (best is kept)")
    parser.add_argument("--repeat", type=int, default=1, help="render the script this many times per round")
    args = parser.parse_args()
    lines = script_lines() * max(1, args.repeat)
    cpus = available_cpus()
    auto = max(1, min(cpus, 4))
    configs = [
        ("one process (baseline)", {"workers": 0}, 1, "all"),
        ("pool x1", {"workers": 1, "threads": 1}, 1, "1"),
        (f"pool auto (x{auto})", {}, auto, str(max(1, cpus // auto))),
    ]
    print(f"Piper CPU render: {len(lines)} lines, {cpus} core(s), best of {args.rounds} round(s)\n")
    names = [name for name, _, _, _ in configs]
    results: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="chorus-bench-") as tmp:
        clients: list[EngineClient] = []
        try:
            for _, options, _, _ in configs:
                client, load_s = start_engine(options)
                clients.append(client)
                results.append({"load": load_s, "rate": 0.0, "audio": 0.0, "wall": 0.0})
            # rounds interleave the configurations, so a busy machine hurts them alike
            for r in range(args.rounds):
                for i, client in enumerate(clients):
                    audio, wall = render_round(client, make_jobs(Path(tmp), lines, f"c{i}r{r}"))
                    if audio / wall > results[i]["rate"]:
                        results[i].update(audio=audio, wall=wall, rate=audio / wall)
        finally:
            for client in clients:
                client.shutdown()
    rows = [(names[i], configs[i][2], configs[i][3], results[i]) for i in range(len(results))]
    base = rows[0][3]["rate"]
    header = f"{'configuration':<24} {'procs':>5} {'thr/proc':>8} {'load s':>7} {'audio s':>8} {'wall s':>7} {'audio s/wall s':>15} {'vs baseline':>12}"
    print(header)
    print("-" * len(header))
    for name, procs, threads, res in rows:
        print(
            f"{name:<24} {procs:>5} {threads:>8} {res['load']:>7.2f} {res['audio']:>8.1f} {res['wall']:>7.2f} "
            f"{res['rate']:>15.1f} {res['rate'] / base:>11.2f}x"
        )


if __name__ == "__main__":
    main()
