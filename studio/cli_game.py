"""``chorus stage`` and ``chorus languages``: the line workflow and the project's languages.

Thread contract: runs on the main thread of the ``chorus`` process.
"""

from __future__ import annotations

import argparse
import getpass
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
        settings = pf.project.settings
        print(
            f"source {settings.source_language}; targets {', '.join(settings.target_languages) or '(none)'}"
        )
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
