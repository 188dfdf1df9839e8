"""``chorus check`` (take scores and verdicts per line) and ``chorus transcribe`` (files → text).

Thread contract: runs on the main thread of the ``chorus`` process.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from studio.cli_common import CliError, _open


def check_project(project_path: str, line_ids: list[str] | None, *, as_json: bool, recheck: bool) -> int:
    """Score the selected take of each line (transcribing takes not yet checked); 1 while any is suspect."""
    from studio.qa.check import job_id_for, rejudge, score_take, store, transcribe_job
    from studio.render.checking import transcribe
    from studio.render.client import EngineError

    pf = _open(project_path)
    try:
        project = pf.project
        wanted = line_ids or list(project.line_order)
        unknown = [i for i in wanted if i not in project.lines]
        if unknown:
            raise CliError(f"no line with id {', '.join(unknown)}")
        keys: dict[str, str] = {}
        for line_id in wanted:
            take = project.selected_take(line_id)
            if take is not None and (pf.media_dir / take.media).is_file():
                keys[line_id] = take.key
        todo = [key for key in keys.values() if recheck or not project.takes[key].qa]
        if todo:
            print(f"Checking {len(todo)} take(s)…", file=sys.stderr, flush=True)
            options = project.settings.backend_options_dict()
            try:
                events = transcribe(
                    [transcribe_job(project, pf.media_dir, key) for key in todo],
                    asr_model=str(options.get("asr_model", "") or ""),
                )
            except EngineError as exc:
                raise CliError(f"the speech recogniser did not start: {exc}") from None
            for key in todo:
                event = events[job_id_for(key)]
                if event.get("type") == "failed":
                    print(f"warning: {project.takes[key].line_id}: {event.get('reason', '')}", file=sys.stderr)
                project.apply(store(project, key, score_take(project, pf.media_dir, key, event)))
        rows: list[dict[str, Any]] = []
        for line_id in wanted:
            line = project.lines[line_id]
            speaker = project.speakers.get(line.speaker_id)
            row: dict[str, Any] = {"id": line_id, "speaker": speaker.name if speaker else "", "verdict": "no take"}
            if line_id in keys:
                scores = rejudge(project, keys[line_id])
                if scores is not None:
                    row.update(
                        verdict=scores.verdict,
                        reasons=list(scores.reasons),
                        take=keys[line_id],
                        wer=scores.wer,
                        missing=list(scores.missing),
                        extra=list(scores.extra),
                        rate=scores.rate,
                        duration=scores.duration,
                        leading_silence=scores.leading_silence,
                        trailing_silence=scores.trailing_silence,
                        longest_pause=scores.longest_pause,
                        clipping=scores.clipping,
                        level_dbfs=scores.level_dbfs,
                        transcript=scores.transcript,
                        words_checked=scores.words_checked,
                    )
            rows.append(row)
        suspect = [r for r in rows if r["verdict"] == "suspect"]
        if as_json:
            print(json.dumps({"lines": rows, "suspect": len(suspect)}, indent=2))
        else:
            _print_table(rows)
            missing = sum(1 for r in rows if r["verdict"] == "no take")
            print(
                f"{len(rows) - missing} checked, {len(suspect)} suspect"
                + (f", {missing} without a take" if missing else "")
            )
        return 1 if suspect else 0
    finally:
        pf.close()


def _print_table(rows: list[dict[str, Any]]) -> None:
    header = f"{'line':<14} {'speaker':<12} {'verdict':<8} {'WER':>5} {'w/s':>4} {'dur':>5} {'lead':>4} {'tail':>4} {'pause':>5}  reasons"
    print(header)
    print("-" * len(header))
    for r in rows:
        if "wer" not in r:
            print(f"{r['id'][:14]:<14} {r['speaker'][:12]:<12} {r['verdict']:<8}")
            continue
        wer = f"{r['wer']:.0%}" if r["words_checked"] else "-"
        print(
            f"{r['id'][:14]:<14} {r['speaker'][:12]:<12} {r['verdict']:<8} {wer:>5} {r['rate']:>4.1f} "
            f"{r['duration']:>5.1f} {r['leading_silence']:>4.1f} {r['trailing_silence']:>4.1f} "
            f"{r['longest_pause']:>5.1f}  {'; '.join(r['reasons'])}"
        )


def cmd_check(args: argparse.Namespace) -> int:
    return check_project(args.project, args.lines, as_json=args.json, recheck=args.recheck)


def cmd_transcribe(args: argparse.Namespace) -> int:
    from engine.protocol import TranscribeJob
    from studio.render.checking import transcribe
    from studio.render.client import EngineError

    paths = [Path(f).expanduser().resolve() for f in args.files]
    for path in paths:
        if not path.is_file():
            raise CliError(f"no such file: {path}")
    jobs = [TranscribeJob(f"file-{i}", str(p), language=args.language or "") for i, p in enumerate(paths)]
    try:
        events = transcribe(jobs, asr_model=args.model or "")
    except EngineError as exc:
        raise CliError(f"the speech recogniser did not start: {exc}") from None
    failed = 0
    out: list[dict[str, Any]] = []
    for job, path in zip(jobs, paths, strict=True):
        event = events[job.job_id]
        if event.get("type") != "finished":
            failed += 1
            print(f"chorus: {path.name}: {event.get('reason', 'not transcribed')}", file=sys.stderr)
            continue
        transcript = event["transcript"]
        if args.json:
            out.append({"file": str(path), **transcript})
        elif len(paths) > 1:
            print(f"{path.name}: {transcript['text']}")
        else:
            print(transcript["text"])
    if args.json:
        print(json.dumps(out, indent=2))
    return 1 if failed else 0


def register(sub: Any) -> None:
    p = sub.add_parser("check", help="score every line's take (transcript vs script, silences, level); exit 1 while any is suspect")
    p.add_argument("project")
    p.add_argument("--lines", nargs="+", metavar="ID", help="only these line ids")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--recheck", action="store_true", help="transcribe again even takes already checked")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("transcribe", help="print what audio files say (speech recognition in the engine)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="words with start/end times as JSON")
    p.add_argument("--model", help="Whisper model: a size name (small), a repo id or a folder (default: bundled tiny.en)")
    p.add_argument("--language", help="language code of the speech (default: detect; the bundled model is English only)")
    p.set_defaults(func=cmd_transcribe)
