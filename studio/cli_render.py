"""``chorus render`` and ``chorus export``: render lines through the engine, mix and export.

Thread contract: runs on the main thread of the ``chorus`` process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from studio.cli_common import CliError, _open


class ProgressBar:
    """A one-line progress bar on stderr (redrawn in place on a terminal, sparse lines otherwise)."""

    def __init__(self, total: int, stream: Any = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self._last = 0.0
        self._last_text = ""

    def update(self, done: float, extra: str = "", force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < (0.2 if self.tty else 5.0):
            return
        self._last = now
        fraction = 0.0 if self.total == 0 else min(1.0, done / self.total)
        elapsed = now - self.started
        eta = (elapsed / fraction - elapsed) if fraction > 0.02 else None
        width = 28
        bar = "#" * int(fraction * width) + "-" * (width - int(fraction * width))
        eta_text = f"ETA {int(eta // 60)}:{int(eta % 60):02d}" if eta is not None else "ETA --:--"
        text = f"[{bar}] {fraction * 100:5.1f}%  {extra}  {eta_text}"
        if self.tty:
            self.stream.write("\r" + text.ljust(len(self._last_text)))
        elif text != self._last_text:
            self.stream.write(text + "\n")
        self._last_text = text
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def render_project(
    project_path: str,
    *,
    line_ids: list[str] | None = None,
    backend: str | None = None,
    new_take: bool = False,
    seed: int | None = None,
    continuity: bool | None = None,
    quiet: bool = False,
    check: bool | None = None,
    retries: int | None = None,
    as_json: bool = False,
    language: str | None = None,
) -> int:
    """Render what needs rendering; returns the number of failed lines (prints a summary)."""
    from studio.render.run import RenderFailed, RenderProgress, render_lines

    pf = _open(project_path)
    bar: ProgressBar | None = None
    languages = _render_languages(pf.project, language)

    def started(jobs: int, up_to_date: int, backend_name: str) -> None:
        nonlocal bar
        if jobs and not quiet:
            print(f"Rendering {jobs} line(s) with {backend_name} ({up_to_date} up to date)", flush=True)
            bar = ProgressBar(jobs)

    def progress(p: RenderProgress) -> None:
        if bar is None or quiet:
            return
        if p.detail.startswith("loading model"):
            bar.update(0, p.detail)
        elif p.detail == "done":
            bar.update(p.total, f"{p.finished}/{p.total} lines", force=True)
        else:
            bar.update(p.fraction * p.total, f"{p.finished}/{p.total} lines, {p.audio_seconds:.1f} s audio")

    try:
        try:
            for index, code in enumerate(languages):
                if len(languages) > 1 and not quiet:
                    print(f"Language {code or pf.project.settings.source_language}:", flush=True)
                outcome = render_lines(
                    pf,
                    line_ids=line_ids,
                    backend=backend,
                    new_take=new_take,
                    seed=seed,
                    continuity=continuity,
                    progress=progress,
                    on_start=started,
                    check=check,
                    retries=retries,
                    language=code,
                )
                if outcome.locked and not quiet:
                    print(f"{outcome.locked} locked line(s) left as they are")
                if outcome.untranslated and not quiet:
                    print(f"{outcome.untranslated} line(s) have no text in {code} yet")
                for note in outcome.ignored if not quiet else ():
                    print(f"Note: {note}", file=sys.stderr)
                if index < len(languages) - 1 and outcome.failed:
                    break
        except RenderFailed as exc:
            raise CliError(str(exc)) from None
        finally:
            if bar is not None and not quiet:
                bar.close()
        for note in outcome.events:
            print(note, file=sys.stderr)
        if as_json:
            print(
                json.dumps(
                    {
                        "backend": outcome.backend,
                        "jobs": outcome.jobs,
                        "done": outcome.done,
                        "up_to_date": outcome.up_to_date,
                        "audio_seconds": round(outcome.audio_seconds, 3),
                        "seconds": round(outcome.seconds, 3),
                        "failed": [{"line": line_id, "reason": reason} for line_id, reason in outcome.failed],
                        "ignored": list(outcome.ignored),
                    },
                    indent=2,
                )
            )
            return len(outcome.failed)
        if not outcome.jobs:
            print(f"0 jobs: {outcome.up_to_date} line(s) already have current takes")
            return 0
        print(
            f"Rendered {outcome.done} line(s), {outcome.audio_seconds:.1f} s of audio in {outcome.seconds:.1f} s "
            f"({outcome.speed:.1f}x real time); {len(outcome.failed)} failed"
        )
        for line_id, reason in outcome.failed:
            print(f"  FAILED {line_id}: {reason}", file=sys.stderr)
        if outcome.checked:
            print(
                f"Checked {outcome.checked} take(s); {len(outcome.rerolls)} line(s) re-rolled, {len(outcome.suspect)} still suspect"
            )
        for note in outcome.rerolls:
            print(f"  re-rolled {note}")
        return len(outcome.failed)
    finally:
        pf.close()


def _render_languages(project: Any, language: str | None) -> list[str]:
    """The languages ``--language`` asks for: "" = the source; ``all`` = source and every target."""
    from studio.core.workflow import is_source, project_languages

    if not language:
        return [""]
    known = project_languages(project)
    if language == "all":
        return ["", *known[1:]]
    code = language.strip().lower()
    if code not in known:
        raise CliError(
            f"the project has no language {language!r}; its languages are {', '.join(known)} "
            "(add one with `chorus languages PROJECT --target CODE`)"
        )
    return [""] if is_source(project, code) else [code]


def cmd_render(args: argparse.Namespace) -> int:
    failed = render_project(
        args.project,
        language=args.language,
        line_ids=args.lines,
        backend=args.backend,
        new_take=args.new_take,
        seed=args.seed,
        continuity=args.continuity,
        check=args.check,
        retries=args.retries,
        quiet=args.json,
        as_json=args.json,
    )
    if failed:
        print(f"chorus: {failed} line(s) failed", file=sys.stderr)
        if not args.export:
            return 1
    if args.export:
        code = export_project(args.project, Path(args.export), format=None, preset=None)
        return code or (1 if failed else 0)
    return 0


def export_project(project_path: str, out: Path | None, language: str | None = None, **options: Any) -> int:
    """Mix and export (see ``chorus export --help``); ``language``: mix the timeline in that language
    (a project language, or ``all`` for one mix per language named with its code)."""
    if language is not None:
        return _export_languages(project_path, out, language, options)
    pf = _open(project_path, read_only=True)
    try:
        return _export_mix(pf.project, pf.media_path, out, options)
    finally:
        pf.close()


def _export_languages(project_path: str, out: Path | None, language: str, options: dict[str, Any]) -> int:
    """One mix per asked language: the timeline laid out in it on a copy (the project's own timeline
    language is left as it is). With ``all``, files and folders are named with the language's code."""
    from studio.audio.export_languages import in_language
    from studio.core.ops import EditError
    from studio.core.workflow import project_languages

    pf = _open(project_path, read_only=True)
    try:
        codes = list(project_languages(pf.project)) if language == "all" else [language.strip().lower()]
        for code in codes:
            try:
                copy, missing = in_language(pf.project, code)
            except EditError as exc:
                raise CliError(f"{exc} (add one with `chorus languages PROJECT --target CODE`)") from None
            if missing:
                print(f"{code}: {missing} line(s) have no {code} take and are left out of the mix", file=sys.stderr)
            if len(codes) > 1:
                print(f"Language {code}:")
            _export_mix(copy, pf.media_path, out, options, code if len(codes) > 1 else "")
        return 0
    finally:
        pf.close()


def _export_mix(project: Any, media_path: Any, out: Path | None, options: dict[str, Any], named: str = "") -> int:
    """Mix and export ``project``; ``named``: a language code the files are named with."""
    from studio.audio.errors import ExportError
    from studio.audio.export import ExportRequest, run_export
    from studio.audio.export_languages import for_language

    fields = {k: v for k, v in options.items() if v is not None}
    fields.setdefault("preset", project.settings.export_preset)
    try:
        request = ExportRequest.build(out=out, **fields)
    except (TypeError, ValueError, ExportError) as exc:
        raise CliError(str(exc)) from None
    if named:
        request = for_language(request, named)
    if project.missing_media:
        print(
            f"warning: {len(project.missing_media)} media file(s) are missing; their clips are silent",
            file=sys.stderr,
        )
    bar = ProgressBar(1)
    try:
        result = run_export(project, media_path, request, _CliState(bar))
    except ExportError as exc:
        raise CliError(str(exc)) from None
    finally:
        bar.close()
    for line in result.summary_lines():
        print(line)
    return 0


class _CliState:
    """The export job's state object: progress to the bar; cancel on Ctrl+C (KeyboardInterrupt)."""

    def __init__(self, bar: ProgressBar) -> None:
        self.bar = bar
        self.status = "mixing"

    def set_progress(self, fraction: float) -> None:
        self.bar.update(fraction, self.status)

    def set_status(self, text: str) -> None:
        self.status = text

    def is_cancel_requested(self) -> bool:
        return False


def render_and_export(project_path: str, out: Path) -> int:
    failed = render_project(project_path)
    code = export_project(project_path, out)
    return code or (1 if failed else 0)


def export_with_profile(args: argparse.Namespace) -> int:
    """``chorus export PROJECT DIR --profile NAME``: per-line files laid out for a game engine."""
    from studio.audio.errors import ExportError
    from studio.audio.profiles import export_profile, get_profile

    if not args.out:
        raise CliError("--profile needs the export folder: chorus export PROJECT DIR --profile NAME")
    pf = _open(args.project)
    try:
        try:
            depth = int(args.bit_depth) if args.bit_depth and args.bit_depth != "float" else None
            profile = get_profile(
                args.profile,
                template=args.name,
                sample_rate=args.sample_rate,
                bit_depth=depth,
                channels=args.channels,
                loudness_lufs=args.line_lufs,
            )
            languages = None if not args.language or args.language == ["all"] else [c.lower() for c in args.language]
            bar = ProgressBar(1)
            try:
                report = export_profile(pf.project, pf.media_path, profile, Path(args.out), _CliState(bar), languages)
            finally:
                bar.close()
        except ExportError as exc:
            raise CliError(str(exc)) from None
        for line in report.summary_lines():
            print(line)
        return 0
    finally:
        pf.close()


def cmd_export(args: argparse.Namespace) -> int:
    if args.profile:
        return export_with_profile(args)
    if args.language and len(args.language) > 1:
        raise CliError("without --profile, --language takes one language code (or 'all': one mix per language)")
    return export_project(
        args.project,
        Path(args.out) if args.out else None,
        language=args.language[0] if args.language else None,
        format=args.format,
        preset=args.preset,
        bitrate=args.bitrate,
        bit_depth=args.bit_depth,
        channels=args.channels,
        stems=Path(args.stems) if args.stems else None,
        lines_dir=Path(args.lines) if args.lines else None,
        name_template=args.name,
        subtitles=args.subtitles,
        speaker_names=not args.no_speaker_names,
    )


def register(sub: Any) -> None:
    p = sub.add_parser("render", help="render the lines that need a take (Piper by default)")
    p.add_argument("project")
    p.add_argument("--lines", nargs="+", metavar="ID", help="only these line ids")
    p.add_argument(
        "--language",
        metavar="CODE",
        help="render the lines' text in this language (a target language, or 'all'); default: the source",
    )
    p.add_argument("--backend", choices=["piper", "higgs", "openai"], help="set the project's backend first")
    p.add_argument("--new-take", action="store_true", help="render another take even where one exists")
    p.add_argument("--seed", type=int, help="generation seed (same seed + same line = same take)")
    p.add_argument(
        "--continuity",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="scene continuity: each line gets the previous lines as context (Higgs)",
    )
    p.add_argument(
        "--check",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="transcribe and score every new take (default: the project setting, on)",
    )
    p.add_argument(
        "--retries",
        type=int,
        metavar="N",
        help="re-roll a suspect take with new seeds up to N times (default: 2 for higgs/openai, 0 for piper)",
    )
    p.add_argument("--export", metavar="OUT", help="then mix and export to OUT (format from the extension)")
    p.add_argument("--json", action="store_true", help="print the render summary as JSON")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("export", help="mix and export the project (mix, stems, per-line files, subtitles)")
    p.add_argument("project")
    p.add_argument(
        "out", nargs="?", help="the mix file (format from the extension unless --format); with --profile, a folder"
    )
    p.add_argument(
        "--profile",
        choices=["unreal", "wwise", "fmod", "unity"],
        help="per-line WAVs in a game engine's layout, one folder per language, with manifests (OUT is a folder)",
    )
    p.add_argument(
        "--language",
        nargs="+",
        metavar="CODE",
        help="mix the timeline in this language ('all': one mix per language, OUT named with the code); "
        "with --profile: only these languages (default: all)",
    )
    p.add_argument("--sample-rate", type=int, help="with --profile: the files' sample rate")
    p.add_argument("--line-lufs", type=float, help="with --profile: each line's loudness target (LUFS)")
    p.add_argument("--format", choices=["wav", "flac", "mp3", "ogg", "opus"])
    p.add_argument("--preset", choices=["podcast", "ebu", "acx", "none"])
    p.add_argument("--bitrate", type=int, choices=[128, 192, 320], help="MP3 CBR kbit/s")
    p.add_argument("--bit-depth", choices=["16", "24", "float"], help="WAV/FLAC sample format")
    p.add_argument("--channels", type=int, choices=[1, 2])
    p.add_argument("--stems", metavar="DIR", help="also one file per track into DIR")
    p.add_argument("--lines", metavar="DIR", help="also one file per line into DIR, with a manifest")
    p.add_argument("--name", default=None, help="per-line file name template, e.g. '{character}/{id}.wav'")
    p.add_argument("--subtitles", choices=["srt", "vtt"], help="also subtitles next to OUT")
    p.add_argument("--no-speaker-names", action="store_true", help="subtitles without speaker names")
    p.set_defaults(func=cmd_export)
