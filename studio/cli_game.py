"""``chorus stage``, ``chorus languages`` and ``chorus export-recording-script``: the line workflow,
the project's languages and the actors' recording scripts.

Thread contract: runs on the main thread of the ``chorus`` process.
"""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path
from typing import Any

from studio.cli_common import CliError, _open


def cmd_stage(args: argparse.Namespace) -> int:
    from studio.core.ops import EditError
    from studio.core.workflow import set_stage

    pf = _open(args.project)
    try:
        ids = args.lines or list(pf.project.line_order)
        try:
            pf.project.apply(set_stage(pf.project, ids, args.to, who=args.who or getpass.getuser()))
        except EditError as exc:
            raise CliError(str(exc)) from None
        print(f"{len(ids)} line(s) now {args.to}")
    finally:
        pf.close()
    return 0


def cmd_languages(args: argparse.Namespace) -> int:
    from studio.core.ops import EditError
    from studio.core.workflow import set_languages

    pf = _open(args.project)
    try:
        settings = pf.project.settings
        if args.source or args.target is not None:
            try:
                pf.project.apply(
                    set_languages(
                        args.source or settings.source_language,
                        args.target if args.target is not None else settings.target_languages,
                    )
                )
            except EditError as exc:
                raise CliError(str(exc)) from None
            from studio.core.layout import set_timeline_language, timeline_language

            if pf.project.settings.timeline_language and not timeline_language(pf.project):
                pf.project.apply(set_timeline_language(pf.project, ""))  # its language is gone: back to the source
        settings = pf.project.settings
        print(
            f"source {settings.source_language}; targets {', '.join(settings.target_languages) or '(none)'}"
        )
    finally:
        pf.close()
    return 0


def cmd_export_recording_script(args: argparse.Namespace) -> int:
    from studio.core.recording_script import RecordingScriptError, write_recording_scripts

    pf = _open(args.project, read_only=True)
    try:
        try:
            report = write_recording_scripts(
                pf.project, Path(args.dir), args.language or "", args.characters or ()
            )
        except RecordingScriptError as exc:
            raise CliError(str(exc)) from None
        for line in report.summary_lines():
            print(line)
    finally:
        pf.close()
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("stage", help="move lines along draft → ready → rendered → approved → locked")
    p.add_argument("project")
    p.add_argument("to", choices=["draft", "ready", "rendered", "approved", "locked"])
    p.add_argument("--lines", nargs="+", metavar="ID", help="these lines (default: all)")
    p.add_argument("--who", help="who locks (noted in the line's notes; default: the login name)")
    p.set_defaults(func=cmd_stage)

    p = sub.add_parser("languages", help="show or set the project's source and target languages")
    p.add_argument("project")
    p.add_argument("--source", metavar="CODE", help="the language of the lines' text (ISO 639-1)")
    p.add_argument(
        "--target", nargs="*", metavar="CODE", help="the languages lines are voiced in besides the source"
    )
    p.set_defaults(func=cmd_languages)

    p = sub.add_parser(
        "export-recording-script",
        help="per character, an HTML page and a CSV of their lines for a recording session",
    )
    p.add_argument("project")
    p.add_argument("dir", help="folder for {character}.html and {character}.csv (made if missing)")
    p.add_argument("--language", metavar="CODE", help="the language to record (default: the source)")
    p.add_argument("--characters", nargs="+", metavar="NAME", help="only these characters (default: all)")
    p.set_defaults(func=cmd_export_recording_script)
