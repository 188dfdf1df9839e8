"""Mix + loudness normalisation + WAV export of a synthetic one-hour project, beside ffmpeg.

Builds a 60-minute project (4 tracks — two dialogue tracks of 22.05/24 kHz mono takes, a sound-effects
track, a looped 44.1 kHz stereo music bed ducked under the dialogue — 600 clips and chapter markers),
then, each in its own process so that peak memory is its own:

* **chorus**: ``studio.audio.export.run_export`` with the podcast preset (−16 LUFS, −1 dBTP), 24-bit
  WAV: pass 1 measures the mix chunk by chunk, pass 2 mixes again with the gain and the true-peak
  limiter and writes on a helper thread (a further pass only if the limiter cost too much loudness).
* **ffmpeg**: the same timeline as one filter graph — per clip ``atrim``/``aresample``/``pan``/
  ``afade``/``adelay``, ``amix`` per bus, ``sidechaincompress`` for the ducking, ``loudnorm`` at the end
  — writing the same 24-bit WAV. It is stopped at ``--ffmpeg-cap`` seconds (its speed is then read
  from its progress and the full time extrapolated).

* **ffmpeg per track (fair)**: what a skilled user builds without Chorus — each track rendered on its
  own as one ``concat`` of its clips and the silences between them (no N-branch ``amix``), then the four
  track files mixed with the same ducking and a **two-pass** ``loudnorm`` (measure, then apply the
  measured values with ``linear=true``), 24-bit WAV. Wall/CPU are the sum of the steps, memory the max.

* **chorus + effects**: the same export with a compressor and EQ (high-pass, presence peak) inserted on
  each dialogue track and a reverb on one of them (:mod:`studio.audio.effects`, pedalboard), beside the
  dry export above: what the inserts cost.

Both outputs are measured with ffmpeg's ``ebur128`` filter. Peak memory is each child's maximum RSS
(``os.wait4``). Run:

    python bench/mix_export.py                  # 60 min, 600 clips, ffmpeg capped at 300 s
    python bench/mix_export.py --minutes 10 --clips 100 --ffmpeg-cap 120
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from studio.core.project import Project

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def vm_hwm_mb(pid: int | str = "self") -> float:
    """Peak resident memory of a process since it started its program (VmHWM; reset by exec)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    m = re.search(r"VmHWM:\s+(\d+) kB", text)
    return int(m.group(1)) / 1024 if m else 0.0


def worker(project_pickle: Path, media_dir: Path, out: Path) -> None:
    """Child process: the Chorus export, timed; prints one JSON line."""
    t_import = time.perf_counter()
    from studio.audio.export import ExportRequest, run_export

    t_import = time.perf_counter() - t_import

    project = pickle.loads(project_pickle.read_bytes())
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_export(
        project, lambda name: media_dir / name, ExportRequest(output=out, preset="podcast", bit_depth=24)
    )
    print(
        json.dumps(
            {
                "wall": time.perf_counter() - t0,
                "cpu": time.process_time() - c0,
                "passes": result.passes,
                "measured": result.measured,
                "gain_db": result.gain_db,
                "output_level": result.output_level,
                "duration": result.duration,
                "import_s": t_import,
                "rss_mb": vm_hwm_mb(),
            }
        )
    )


def ffmpeg_graph(project: Project, media_dir: Path) -> tuple[list[str], str]:
    """Inputs and filter script mixing ``project`` like the Chorus mixer does."""
    from studio.audio.sources import SourceCache

    cache = SourceCache(lambda n: media_dir / n, project.settings.sample_rate)
    clips = sorted(project.clips.values(), key=lambda c: (c.start, c.id))
    media = sorted({c.media for c in clips})
    index = {m: i for i, m in enumerate(media)}
    uses: dict[str, list[str]] = {m: [] for m in media}
    lines: list[str] = []
    buses: dict[str, list[str]] = {"dialogue": [], "music": [], "sfx": []}
    for k, clip in enumerate(clips):
        track = project.tracks[clip.track_id]
        label = f"u{k}"
        uses[clip.media].append(label)
        chain = _clip_chain(clip, track, cache.info(clip.media), label, f"p{k}")
        lines.append(f"{chain};[p{k}]adelay=delays={round(clip.start * 1000)}:all=1[c{k}]")
        bus = (
            "dialogue"
            if track.kind == "dialogue"
            else ("music" if track.kind in ("music", "humming") else "sfx")
        )
        buses[bus].append(f"[c{k}]")
    head = []
    for m, labels in uses.items():
        outs = "".join(f"[{x}]" for x in labels)
        head.append(
            f"[{index[m]}:a]asplit={len(labels)}{outs}" if len(labels) > 1 else f"[{index[m]}:a]anull{outs}"
        )
    tail = []
    for bus, ins in buses.items():
        tail.append(
            f"{''.join(ins)}amix=inputs={len(ins)}:normalize=0[{bus}]"
            if ins
            else f"anullsrc=r=48000:cl=stereo,atrim=0:0.1[{bus}]"
        )
    duck = project.tracks["trk_bed"].ducking
    tail.append("[dialogue]asplit=2[dlg][key]")
    tail.append(
        f"[music][key]sidechaincompress=threshold={10 ** (duck.threshold_db / 20):.5f}:ratio=8:"
        f"attack={duck.attack_ms}:release={duck.release_ms}[ducked]"
    )
    tail.append(
        "[dlg][ducked][sfx]amix=inputs=3:normalize=0,loudnorm=I=-16:TP=-1:LRA=11,aresample=48000[out]"
    )
    inputs = [str(media_dir / m) for m in media]
    return inputs, ";\n".join(head + lines + tail)


def _clip_chain(clip: Any, track: Any, info: Any, label: str, out: str) -> str:
    from studio.audio.gains import balance_gains, pan_gains
    from studio.audio.placement import DECLICK_S

    g = 10 ** ((clip.gain_db + track.gain_db) / 20)
    if info.channels == 1:
        cl, cr = pan_gains(track.pan)
        pan = f"pan=stereo|c0={cl * g:.6f}*c0|c1={cr * g:.6f}*c0"
    else:
        bl, br = balance_gains(track.pan)
        pan = f"pan=stereo|c0={bl * g:.6f}*c0|c1={br * g:.6f}*c1"
    d = clip.duration
    fin, fout = max(clip.fade_in, DECLICK_S), max(clip.fade_out, DECLICK_S)
    return (
        f"[{label}]atrim=start={clip.source_in}:duration={d},asetpts=PTS-STARTPTS,aresample=48000,{pan},"
        f"afade=t=in:d={fin}:curve=qsin,afade=t=out:st={max(0.0, d - fout):.4f}:d={fout}:curve=qsin[{out}]"
    )


def ffmpeg_per_track(project: Project, media_dir: Path, work: Path) -> tuple[list[list[str]], Path]:
    """The fair baseline's commands (run in order) and its output: one concat per track, then a
    measuring and an applying ``loudnorm`` pass over the track mix (see the module docstring)."""
    from studio.audio.ffmpeg_tool import ffmpeg_exe
    from studio.audio.sources import SourceCache

    cache = SourceCache(lambda n: media_dir / n, project.settings.sample_rate)
    ff = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    commands: list[list[str]] = []
    track_files: dict[str, Path] = {}
    for track in project.tracks.values():
        clips = sorted((c for c in project.clips.values() if c.track_id == track.id), key=lambda c: c.start)
        if not clips:
            continue
        media = sorted({c.media for c in clips})
        index = {m: i for i, m in enumerate(media)}
        uses: dict[str, list[str]] = {m: [] for m in media}
        parts: list[str] = []
        chains: list[str] = []
        at = 0.0
        for k, clip in enumerate(clips):
            gap = clip.start - at
            if gap > 1e-4:
                chains.append(f"anullsrc=r=48000:cl=stereo,atrim=duration={gap:.6f}[g{k}]")
                parts.append(f"[g{k}]")
            uses[clip.media].append(f"u{k}")
            chains.append(_clip_chain(clip, track, cache.info(clip.media), f"u{k}", f"c{k}"))
            parts.append(f"[c{k}]")
            at = max(at, clip.start) + clip.duration
        head = [
            f"[{index[m]}:a]asplit={len(ls)}{''.join(f'[{x}]' for x in ls)}" if len(ls) > 1 else f"[{index[m]}:a]anull[{ls[0]}]"
            for m, ls in uses.items()
        ]
        graph = ";\n".join([*head, *chains, f"{''.join(parts)}concat=n={len(parts)}:v=0:a=1[out]"])
        script = work / f"track-{track.id}.txt"
        script.write_text(graph)
        out = work / f"track-{track.id}.wav"
        cmd = list(ff)
        for m in media:
            cmd += ["-i", str(media_dir / m)]
        commands.append([*cmd, "-/filter_complex", str(script), "-map", "[out]", "-c:a", "pcm_f32le", str(out)])
        track_files[track.id] = out
    kinds = {tid: project.tracks[tid].kind for tid in track_files}
    ids = list(track_files)
    inputs = [a for tid in ids for a in ("-i", str(track_files[tid]))]
    dlg = [f"[{i}:a]" for i, tid in enumerate(ids) if kinds[tid] == "dialogue"]
    music = [f"[{i}:a]" for i, tid in enumerate(ids) if kinds[tid] in ("music", "humming")]
    sfx = [f"[{i}:a]" for i, tid in enumerate(ids) if kinds[tid] == "sfx"]
    duck = next(t for t in project.tracks.values() if t.kind == "music").ducking

    def bus(labels: list[str], name: str) -> str:
        if len(labels) == 1:
            return f"{labels[0]}anull[{name}]"
        return f"{''.join(labels)}amix=inputs={len(labels)}:normalize=0[{name}]"

    mix = ";".join([
        bus(dlg, "dialogue"), bus(music, "music"), bus(sfx, "sfx"), "[dialogue]asplit=2[dlg][key]",
        f"[music][key]sidechaincompress=threshold={10 ** (duck.threshold_db / 20):.5f}:ratio=8:"
        f"attack={duck.attack_ms}:release={duck.release_ms}[ducked]",
        "[dlg][ducked][sfx]amix=inputs=3:normalize=0",
    ])
    measure = [*ff[:-2], "-loglevel", "info", *inputs, "-filter_complex",
               f"{mix},loudnorm=I=-16:TP=-1:LRA=11:print_format=json[out]", "-map", "[out]", "-f", "null", "-"]
    commands.append(measure)
    final = work / "ffmpeg-fair.wav"
    commands.append([*inputs, "-filter_complex", mix + ",loudnorm=I=-16:TP=-1:LRA=11:{measured}:linear=true,"
                     "aresample=48000[out]", "-map", "[out]", "-c:a", "pcm_s24le", str(final)])
    return commands, final


def run_fair(commands: list[list[str]]) -> dict[str, Any]:
    """Run the per-track steps; the last one gets the first pass's measured loudness."""
    from studio.audio.ffmpeg_tool import ffmpeg_exe

    total = {"wall": 0.0, "cpu": 0.0, "rss_mb": 0.0, "rc": 0, "stderr": "", "capped": False}
    measured = ""
    for cmd in commands:
        if cmd and cmd[0] == "-i":  # the applying pass: fill in the measured values
            graph = cmd[cmd.index("-filter_complex") + 1].replace("{measured}", measured)
            cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *cmd]
            cmd[cmd.index("-filter_complex") + 1] = graph
        step = run_child(cmd)
        for key in ("wall", "cpu"):
            total[key] += step[key]
        total["rss_mb"] = max(total["rss_mb"], step["rss_mb"])
        if step["rc"] != 0:
            return {**total, "rc": step["rc"], "stderr": step["stderr"][-300:]}
        found = re.search(r"\{[^{}]*\"input_i\"[^{}]*\}", step["stderr"])
        if found:
            m = json.loads(found.group(0))
            measured = (
                f"measured_I={m['input_i']}:measured_TP={m['input_tp']}:measured_LRA={m['input_lra']}:"
                f"measured_thresh={m['input_thresh']}:offset={m['target_offset']}"
            )
    return total


def run_child(cmd: list[str], cap: float | None = None) -> dict[str, Any]:
    """Run ``cmd``; returns wall time, its own max RSS (MB), stdout, and whether it was capped."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    capped = False
    out, err = "", ""
    peak = 0.0
    while True:
        peak = max(peak, vm_hwm_mb(proc.pid))
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if cap is not None and time.perf_counter() - t0 > cap:
            proc.kill()
            capped = True
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    if proc.stdout:
        out = proc.stdout.read()
    if proc.stderr:
        err = proc.stderr.read()
    return {
        "wall": wall,
        "rss_mb": peak,  # (ru_maxrss would count the parent's memory at fork)
        "cpu": usage.ru_utime + usage.ru_stime,
        "stdout": out,
        "stderr": err,
        "rc": os.waitstatus_to_exitcode(status) if not capped else None,
        "capped": capped,
    }


def with_effects(project: Project) -> Project:
    """The project with compressor + EQ inserted on each dialogue track and a reverb on the first."""
    import dataclasses

    from studio.core import effects as fxc
    from studio.core.model import TrackKind

    copy = pickle.loads(pickle.dumps(project))
    dialogue = [t for t in copy.tracks.values() if t.kind == TrackKind.DIALOGUE]
    for i, track in enumerate(dialogue):
        chain = (
            fxc.effect("highpass", cutoff_hz=90),
            fxc.effect("peak", cutoff_hz=3000, gain_db=2.5, q=1.0),
            fxc.effect("compressor", threshold_db=-20, ratio=3, attack_ms=5, release_ms=120, makeup_db=3),
        )
        if i == 0:
            chain += (fxc.effect("reverb", room_size=0.4, wet=0.2, dry=0.8),)
        copy.tracks[track.id] = dataclasses.replace(track, effects=chain)
    return copy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--clips", type=int, default=600)
    ap.add_argument("--ffmpeg-cap", type=float, default=300.0, help="seconds before ffmpeg is stopped")
    ap.add_argument("--skip-ffmpeg", action="store_true")
    ap.add_argument("--skip-fx", action="store_true", help="no 'chorus + effects' row")
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one)")
    ap.add_argument("--worker", nargs=3, metavar=("PICKLE", "MEDIA", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(Path(args.worker[0]), Path(args.worker[1]), Path(args.worker[2]))
        return

    from studio.audio.ffmpeg_tool import ffmpeg_exe, measure_ebur128
    from studio.audio.synthetic import build_long_project

    work = args.dir or Path(tempfile.mkdtemp(prefix="chorus-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    sp = build_long_project(work / "media", minutes=args.minutes, clips=args.clips)
    build_s = time.perf_counter() - t0
    p = sp.project
    pickle_path = work / "project.pickle"
    pickle_path.write_bytes(pickle.dumps(p))
    fx_pickle = work / "project-fx.pickle"
    fx_pickle.write_bytes(pickle.dumps(with_effects(p)))
    print(
        f"project: {args.minutes:g} min, {len(p.tracks)} tracks, {len(p.clips)} clips "
        f"({len({c.media for c in p.clips.values()})} media files), built in {build_s:.1f} s — {work}"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )

    ours_out = work / "chorus.wav"
    # The child's own wall time includes starting Python and importing numpy/scipy (~1 s).
    ours = run_child(
        [sys.executable, __file__, "--worker", str(pickle_path), str(sp.media_dir), str(ours_out)]
    )
    if ours["rc"] != 0:
        sys.exit(f"chorus export failed:\n{ours['stderr']}")
    info = json.loads(ours["stdout"].strip().splitlines()[-1])
    m_ours = measure_ebur128(ours_out)

    rows = [
        (
            "chorus (2-pass, limiter)",
            f"{ours['wall']:.1f}",
            f"{ours['cpu']:.1f}",
            f"{info['rss_mb']:.0f}",
            f"{info['duration'] / ours['wall']:.0f}x",
            f"{m_ours.integrated_lufs:.1f}",
            f"{m_ours.true_peak_dbfs:.1f}",
            f"passes={info['passes']}; export {info['wall']:.1f} s + imports {info['import_s']:.1f} s",
        )
    ]
    if not args.skip_fx:
        fx_out = work / "chorus-fx.wav"
        fx = run_child([sys.executable, __file__, "--worker", str(fx_pickle), str(sp.media_dir), str(fx_out)])
        if fx["rc"] != 0:
            sys.exit(f"chorus export with effects failed:\n{fx['stderr']}")
        fx_info = json.loads(fx["stdout"].strip().splitlines()[-1])
        m_fx = measure_ebur128(fx_out)
        rows.append(
            (
                "chorus + effects",
                f"{fx['wall']:.1f}",
                f"{fx['cpu']:.1f}",
                f"{fx_info['rss_mb']:.0f}",
                f"{fx_info['duration'] / fx['wall']:.0f}x",
                f"{m_fx.integrated_lufs:.1f}",
                f"{m_fx.true_peak_dbfs:.1f}",
                f"passes={fx_info['passes']}; export {fx_info['wall']:.1f} s = "
                f"{fx_info['wall'] / max(info['wall'], 1e-9):.2f}× the dry export",
            )
        )
    if not args.skip_ffmpeg:
        inputs, graph = ffmpeg_graph(p, sp.media_dir)
        script = work / "graph.txt"
        script.write_text(graph)
        ff_out = work / "ffmpeg.wav"
        prog = work / "ffmpeg-progress.txt"
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", str(prog)]
        for f in inputs:
            cmd += ["-i", f]
        cmd += ["-/filter_complex", str(script), "-map", "[out]", "-c:a", "pcm_s24le", str(ff_out)]
        ff = run_child(cmd, cap=args.ffmpeg_cap)
        done = 0.0
        if prog.exists():
            times = re.findall(r"out_time_us=(\d+)", prog.read_text())
            done = int(times[-1]) / 1e6 if times else 0.0
        if ff["capped"]:
            speed = done / ff["wall"] if ff["wall"] else 0.0
            est = info["duration"] / speed if speed > 0 else math.inf
            rows.append(
                (
                    "ffmpeg graph (capped)",
                    f">{ff['wall']:.0f} (est. {est:.0f})",
                    f"{ff['cpu']:.1f}",
                    f"{ff['rss_mb']:.0f}",
                    f"{speed:.1f}x",
                    "—",
                    "—",
                    f"{done:.0f} s of {info['duration']:.0f} s done",
                )
            )
        elif ff["rc"] == 0:
            m_ff = measure_ebur128(ff_out)
            rows.append(
                (
                    "ffmpeg graph (loudnorm)",
                    f"{ff['wall']:.1f}",
                    f"{ff['cpu']:.1f}",
                    f"{ff['rss_mb']:.0f}",
                    f"{info['duration'] / ff['wall']:.0f}x",
                    f"{m_ff.integrated_lufs:.1f}",
                    f"{m_ff.true_peak_dbfs:.1f}",
                    "",
                )
            )
        else:
            rows.append(
                ("ffmpeg graph", "failed", "", f"{ff['rss_mb']:.0f}", "", "", "", ff["stderr"][-200:])
            )
    if not args.skip_ffmpeg:
        commands, fair_out = ffmpeg_per_track(p, sp.media_dir, work)
        fair = run_fair(commands)
        if fair["rc"] == 0:
            m_fair = measure_ebur128(fair_out)
            rows.append(
                (
                    "ffmpeg per track (fair)",
                    f"{fair['wall']:.1f}",
                    f"{fair['cpu']:.1f}",
                    f"{fair['rss_mb']:.0f}",
                    f"{info['duration'] / fair['wall']:.0f}x",
                    f"{m_fair.integrated_lufs:.1f}",
                    f"{m_fair.true_peak_dbfs:.1f}",
                    f"{len(commands) - 2} track concats + 2-pass loudnorm",
                )
            )
        else:
            rows.append(("ffmpeg per track (fair)", "failed", "", "", "", "", "", fair["stderr"][-200:]))
    head = ("", "wall s", "cpu s", "peak RSS MB", "realtime", "LUFS", "dBTP", "notes")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
    print("goal: chorus < 30 s wall and < 1500 MB peak RSS, faster than ffmpeg; target −16 LUFS, ≤ −1 dBTP")


if __name__ == "__main__":
    main()
