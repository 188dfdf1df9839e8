# PYTHON_ARGCOMPLETE_OK
"""The ``chorus`` command: open the studio, create projects, import/export scripts, render, export.

Every command prints a clear message and exits non-zero on error; no tracebacks reach the user
(set ``CHORUS_DEBUG=1`` to see them).

Thread contract: runs on the main thread of the ``chorus`` process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from studio import paths
from studio.cli_common import CliError, _open  # noqa: E402,F401 - re-exported for older callers

Handler = Callable[[argparse.Namespace], int]


# ---- project commands -------------------------------------------------------------------------


def cmd_new(args: argparse.Namespace) -> int:
    from studio.core.store import ProjectError, ProjectFile

    try:
        pf = ProjectFile.create(args.path, title=args.title)
    except ProjectError as exc:
        raise CliError(str(exc)) from None
    print(f"Created {pf.root}")
    pf.close()
    return 0


def cmd_import_script(args: argparse.Namespace) -> int:
    from studio.core import script_formats as sf

    pf = _open(args.project)
    try:
        try:
            script = sf.read_script(Path(args.file), args.format)
        except sf.ScriptFormatError as exc:
            raise CliError(str(exc)) from None
        except OSError as exc:
            raise CliError(f"cannot read {args.file}: {exc.strerror or exc}") from None
        if args.append:
            pf.project.apply(sf.script_to_ops(pf.project, script))
            summary = ""
        else:  # update by id: a re-imported file never duplicates its lines
            batch, report = sf.merge_script(pf.project, script)
            pf.project.apply(batch)
            summary = f" ({report.summary()})" if pf.project.lines else ""
        print(
            f"Imported {len(script.lines)} lines, {len(script.characters)} characters, "
            f"{len(script.scenes)} scenes into {pf.root.name}{summary}"
        )
        if args.write_ids:
            try:
                tagged = sf.write_ids(Path(args.file), args.format)
            except (ValueError, OSError) as exc:
                raise CliError(f"cannot write line ids into {args.file}: {exc}") from None
            print(f"Wrote {tagged} line id tag(s) into {args.file}")
    finally:
        pf.close()
    return 0


def cmd_export_script(args: argparse.Namespace) -> int:
    from studio.core import script_formats as sf

    pf = _open(args.project, read_only=True)
    try:
        script = sf.project_to_script(pf.project)
        try:
            sf.write_script(Path(args.file), script, args.format)
        except OSError as exc:
            raise CliError(f"cannot write {args.file}: {exc.strerror or exc}") from None
        print(f"Wrote {len(script.lines)} lines to {args.file}")
    finally:
        pf.close()
    return 0


def _fmt_time(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}:{secs:05.2f}"


def cmd_info(args: argparse.Namespace) -> int:
    from studio.render.takes import line_is_current

    pf = _open(args.project, read_only=True)
    try:
        project = pf.project
        s = project.settings
        lines = list(project.ordered_lines())
        done = sum(1 for line in lines if line_is_current(project, line, pf.media_dir))
        languages = _language_counts(project, lines, pf.media_dir)
        info: dict[str, Any] = {
            "project": str(pf.root),
            "title": s.title,
            "backend": s.backend,
            "sample_rate": s.sample_rate,
            "duration": round(project.duration(), 3),
            "speakers": [
                {"id": sp.id, "name": sp.name, "colour": sp.colour, "voice": sp.voice.kind.value}
                for sp in project.speakers.values()
            ],
            "scenes": [{"id": sc.id, "title": sc.title} for sc in project.scenes.values()],
            "lines": [
                {
                    "id": ln.id,
                    "speaker": project.speakers[ln.speaker_id].name if ln.speaker_id in project.speakers else "",
                    "text": ln.text,
                    "status": ln.status.value,
                    "stage": ln.stage.value,
                }
                for ln in lines
            ],
            "stages": _stage_counts(lines),
            "languages": languages,
            "tracks": [
                {"name": t.name, "kind": t.kind.value, "clips": len(project.clips_on(t.id)), "gain_db": t.gain_db}
                for t in project.tracks.values()
            ],
            "missing_media": sorted(project.missing_media),
        }
        if args.json:
            print(json.dumps(info, indent=2))
            return 0
        print(f"{s.title}  ({pf.root})")
        print(f"  backend {s.backend}, {s.sample_rate} Hz, duration {_fmt_time(project.duration())}")
        print(f"  {len(lines)} lines, {done} rendered and current")
        print("  stages: " + ", ".join(f"{name} {count}" for name, count in info["stages"].items()))
        for entry in languages:
            role = "source" if entry["source"] else "target"
            print(
                f"  {entry['language']} ({role}): {entry['text']} with text, {entry['current']} current, "
                f"{entry['stale']} stale, {entry['missing']} without a take, {entry['untranslated']} untranslated"
            )
        print(f"Speakers ({len(project.speakers)}):")
        for sp in info["speakers"]:
            n = sum(1 for ln in lines if ln.speaker_id == sp["id"])
            print(f"  {sp['name']:<16} {sp['voice']:<8} {n} lines")
        if project.scenes:
            print(f"Scenes ({len(project.scenes)}):")
            for sc in project.scenes.values():
                print(f"  {sc.title}")
        print(f"Tracks ({len(project.tracks)}):")
        for t in info["tracks"]:
            print(f"  {t['name']:<16} {t['kind']:<9} {t['clips']} clips, {t['gain_db']:+.1f} dB")
        print("Lines:")
        width = max((len(ln["id"]) for ln in info["lines"]), default=4)
        for ln in info["lines"]:
            text = ln["text"] if len(ln["text"]) <= 70 else ln["text"][:67] + "..."
            print(f"  {ln['id']:<{width}}  {ln['speaker']:<10} [{ln['status']}] {text}")
        if project.missing_media:
            print(f"Missing media ({len(project.missing_media)}): clips marked; re-render or re-import them")
    finally:
        pf.close()
    return 0


def _stage_counts(lines: list[Any]) -> dict[str, int]:
    from studio.core.workflow import status_counts

    return status_counts(lines)


def _language_counts(project: Any, lines: list[Any], media_dir: Path) -> list[dict[str, Any]]:
    """Per language: lines with text, with a current take, with an out-of-date take, without a take."""
    from studio.core.workflow import is_source, line_text, project_languages, selected_take_key
    from studio.render.takes import line_is_current

    counts: list[dict[str, Any]] = []
    for code in project_languages(project):
        language = "" if is_source(project, code) else code
        entry: dict[str, Any] = {"language": code, "source": not language, "text": 0, "current": 0, "stale": 0, "missing": 0, "untranslated": 0}
        for line in lines:
            if not line_text(project, line, language):
                entry["untranslated"] += 1
                continue
            entry["text"] += 1
            if line_is_current(project, line, media_dir, language):
                entry["current"] += 1
            elif selected_take_key(project, line, language):
                entry["stale"] += 1
            else:
                entry["missing"] += 1
        counts.append(entry)
    return counts


def cmd_demo(args: argparse.Namespace) -> int:
    """Open the demo podcast in the studio, or render + export it where there is no display."""
    try:
        target = paths.demo_copy(paths.DEMO_GAME if args.game else paths.DEMO_PODCAST)
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from None
    if not args.no_gui and _has_display():
        return _open_studio(str(target))
    from studio.cli_render import render_and_export

    out = Path(args.out) if args.out else target.with_suffix("").with_name(target.stem + ".mp3")
    print(f"No display: rendering the demo {target.name} and exporting it to {out}")
    return render_and_export(str(target), out)


def _has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        return False
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or sys.platform in (
        "darwin",
        "win32",
    )


def _open_studio(project: str | None) -> int:
    try:
        from studio.ui.qt_platform import platform_problem

        problem = platform_problem()
        if problem:
            raise CliError(problem)
        from studio.ui.qt_app import run_studio
    except ImportError as exc:
        raise CliError(f"the studio cannot start: {exc}") from None
    return run_studio(project)


def cmd_studio(args: argparse.Namespace) -> int:
    return _open_studio(args.project)


def cmd_engine(args: argparse.Namespace) -> int:
    """``chorus engine serve …`` runs the engine's HTTP server in its own process."""
    command = [sys.executable, "-m", "engine", *args.engine_args]
    os.execv(sys.executable, command)
    return 0  # pragma: no cover


# ---- parser -------------------------------------------------------------------------------------

EXIT_CODES = """exit codes: 0 done; 1 some lines failed or are suspect (render, check) or an unexpected error;
2 bad usage or input (a clear one-line reason is printed); 130 interrupted."""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chorus-studio")
    except PackageNotFoundError:  # a frozen build or a source tree without an install
        return "0.1.0"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chorus",
        description="Chorus: a studio for voiced dialogue. With no command, opens the studio.",
        epilog=EXIT_CODES + "\nshell completion (bash/zsh): eval \"$(register-python-argcomplete chorus)\"",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"chorus {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("new", help="create an empty project folder NAME.chorus")
    p.add_argument("path")
    p.add_argument("--title", help="project title (default: the folder name)")
    p.set_defaults(func=cmd_new)

    formats = ["higgs", "screenplay", "fountain", "csv", "yarn", "ink", "xlsx"]
    p = sub.add_parser(
        "import-script",
        help="add a script file's lines to a project; lines whose id the project has are updated "
        "(changed ones go stale), ids the file no longer has are reported and kept",
    )
    p.add_argument("project")
    p.add_argument("file")
    p.add_argument("--format", choices=formats, help="default: from the file name and contents")
    p.add_argument("--append", action="store_true", help="add every line, giving taken ids fresh ones")
    p.add_argument(
        "--write-ids",
        action="store_true",
        help="Yarn/Ink: write the generated ids of untagged lines back into the file (#line:/#id: tags)",
    )
    p.set_defaults(func=cmd_import_script)

    p = sub.add_parser("export-script", help="write the project's script to a file")
    p.add_argument("project")
    p.add_argument("file")
    p.add_argument("--format", choices=formats, help="default: from the file extension")
    p.set_defaults(func=cmd_export_script)

    p = sub.add_parser("info", help="speakers, lines, tracks and duration of a project")
    p.add_argument("project")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("demo", help="open the demo podcast (or render and export it without a display)")
    p.add_argument("--game", action="store_true", help="the game dialogue demo instead of the podcast")
    p.add_argument("--no-gui", action="store_true", help="render and export even if a display exists")
    p.add_argument("--out", help="export path when rendering (default: next to the project copy)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("studio", help="open the studio (optionally on a project)")
    p.add_argument("project", nargs="?")
    p.set_defaults(func=cmd_studio)

    p = sub.add_parser("engine", help="run the engine: `chorus engine serve --host 127.0.0.1 --port 8000`")
    p.add_argument("engine_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_engine)

    for register in _extension_parsers():
        register(sub)
    return parser


def _extension_parsers() -> list[Callable[[Any], None]]:
    """Sub-command groups defined in their own modules (render/export, voices)."""
    registrars: list[Callable[[Any], None]] = []
    from studio import cli_maintenance, cli_project, cli_render

    registrars.append(cli_render.register)
    registrars.append(cli_project.register)
    registrars.append(cli_maintenance.register)
    from studio import cli_qa

    registrars.append(cli_qa.register)
    from studio import cli_fx

    registrars.append(cli_fx.register)
    from studio import cli_lexicon

    registrars.append(cli_lexicon.register)
    from studio import cli_game

    registrars.append(cli_game.register)
    from studio import cli_recordings

    registrars.append(cli_recordings.register)
    import importlib.util

    if importlib.util.find_spec("studio.cli_voices") is not None:
        registrars.append(importlib.import_module("studio.cli_voices").register)
    return registrars


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if getattr(sys, "frozen", False):
        import multiprocessing

        multiprocessing.freeze_support()  # Piper's worker pool in a frozen build
    if argv[:1] == ["_engine"]:  # the engine process of a frozen build (see studio.render.client)
        import importlib

        engine_main = importlib.import_module("engine.__main__").main
        return int(engine_main(argv[1:]) or 0)
    parser = build_parser()
    try:
        import argcomplete  # completion for bash/zsh: eval "$(register-python-argcomplete chorus)"

        argcomplete.autocomplete(parser)
    except ImportError:  # pragma: no cover - a frozen build without it
        pass
    # `chorus PATH` opens that project in the studio.
    commands = {name for action in parser._actions if action.choices for name in action.choices}
    if argv and not argv[0].startswith("-") and argv[0] not in commands:
        argv = ["studio", *argv]
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        args = parser.parse_args(["studio"])
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"chorus: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("chorus: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`chorus info … | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except Exception as exc:  # last resort: a clear line, not a traceback
        if os.environ.get("CHORUS_DEBUG"):
            raise
        print(f"chorus: error: {type(exc).__name__}: {exc} (set CHORUS_DEBUG=1 for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    # `python -m studio.cli`: run the imported module's main, so that errors raised as
    # studio.cli.CliError by the sub-command modules are this main's CliError too.
    from studio.cli import main as _main

    sys.exit(_main())
