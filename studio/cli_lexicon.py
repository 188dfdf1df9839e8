"""``chorus lexicon``: the pronunciation lexicon of a project, its speakers and the user, from a shell.

    chorus lexicon list   PROJECT [--user | --speaker NAME] [--search TEXT] [--json]
    chorus lexicon add    PROJECT WORD [REPLACEMENT] [--ipa PHONEMES] [--kind alias|respelling|phonemes]
                          [--match-case] [--part-of-word] [--note TEXT] [--user | --speaker NAME]
    chorus lexicon remove PROJECT WORD [--user | --speaker NAME]
    chorus lexicon import PROJECT FILE.pls|FILE.csv [--user | --speaker NAME]
    chorus lexicon export PROJECT FILE.pls|FILE.csv [--user | --speaker NAME]
    chorus lexicon say    PROJECT LINE_ID|TEXT [--speaker NAME] [--json]   (what the engine is sent)

Without ``--user``/``--speaker`` an entry belongs to the project (every speaker). ``--user`` is the
lexicon in the data folder shared by all projects; ``--speaker NAME`` a character's own entries, which
win over project and user entries for the same words. Adding, changing or removing an entry marks
stale exactly the lines whose matches change (``chorus render`` then renders only those).

Thread contract: runs on the main thread of the ``chorus`` process.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.cli_common import CliError, _open


def _speaker_id(project: Any, name: str | None) -> str:
    if not name:
        return ""
    speaker = project.speakers.get(name) or project.speaker_by_name(name)
    if speaker is None:
        names = ", ".join(sorted(s.name for s in project.speakers.values())) or "none"
        raise CliError(f"no speaker named {name!r} (the project has: {names})")
    return str(speaker.id)


def _user_path() -> Path:
    from studio import paths
    from studio.core.lexicon_files import user_lexicon_path

    return user_lexicon_path(paths.data_dir())


def _scope_entries(project: Any, args: argparse.Namespace) -> list[Any]:
    if args.user:
        return list(project.user_lexicon)
    speaker_id = _speaker_id(project, args.speaker)
    return [e for e in project.lexicon.values() if e.speaker_id == speaker_id]


def _set_user(project: Any, entries: list[Any]) -> int:
    """Save the user lexicon, update the project; returns how many lines went stale."""
    from studio.core.lexicon_files import save_user_lexicon
    from studio.core.lexicon_ops import user_lexicon_changed

    new = tuple(entries)
    stale = user_lexicon_changed(project, new)
    save_user_lexicon(_user_path(), new)
    project.user_lexicon = new
    project.apply(stale)
    return len(stale.ops)


def _stale_count(batch: Any) -> int:
    return sum(1 for op in batch.ops if getattr(op, "kind", "") == "line")


def _scope_label(project: Any, entry: Any, user: bool) -> str:
    if user:
        return "user"
    if entry.speaker_id:
        speaker = project.speakers.get(entry.speaker_id)
        return f"speaker:{speaker.name if speaker else entry.speaker_id}"
    return "project"


def _lines_using(project: Any) -> dict[str, list[str]]:
    """entry id -> ids of the lines (source text) it actually matches."""
    from studio.core.lexicon import find_matches

    used: dict[str, list[str]] = {}
    for line in project.ordered_lines():
        for match in find_matches(project, line.speaker_id, line.text):
            ids = used.setdefault(match.entry.id, [])
            if not ids or ids[-1] != line.id:
                ids.append(line.id)
    return used


def cmd_list(args: argparse.Namespace) -> int:
    pf = _open(args.project, read_only=True)
    try:
        project = pf.project
        if args.user or args.speaker:
            rows = [(e, args.user) for e in _scope_entries(project, args)]
        else:  # everything that applies somewhere in this project
            rows = [(e, True) for e in project.user_lexicon] + [(e, False) for e in project.lexicon.values()]
        if args.search:
            wanted = args.search.casefold()
            rows = [
                (e, u)
                for e, u in rows
                if wanted in e.grapheme.casefold()
                or wanted in e.replacement.casefold()
                or wanted in e.phonemes
            ]
        rows.sort(key=lambda eu: (eu[0].grapheme.casefold(), eu[0].speaker_id))
        used = _lines_using(project)
        if args.json:
            print(
                json.dumps(
                    [
                        {
                            "word": e.grapheme,
                            "replacement": e.replacement,
                            "phonemes": e.phonemes,
                            "kind": e.kind,
                            "scope": _scope_label(project, e, u),
                            "match_case": e.match_case,
                            "whole_word": e.whole_word,
                            "note": e.note,
                            "lines": used.get(e.id, []),
                        }
                        for e, u in rows
                    ],
                    indent=2,
                    ensure_ascii=False,
                )
            )
            return 0
        if not rows:
            print("no lexicon entries")
            return 0
        for e, u in rows:
            says = e.replacement or ""
            if e.phonemes:
                says = f"{says} /{e.phonemes}/".strip()
            flags = ",".join(
                f for f, on in (("case", e.match_case), ("part-of-word", not e.whole_word)) if on
            )
            count = len(used.get(e.id, []))
            print(
                f"{e.grapheme:<24} → {says:<32} {e.kind:<10} {_scope_label(project, e, u):<16} "
                f"{count:>3} line(s){'  ' + flags if flags else ''}"
            )
        return 0
    finally:
        pf.close()


def cmd_add(args: argparse.Namespace) -> int:
    from studio.core.lexicon import LexiconError, make_entry
    from studio.core.lexicon_ops import add_entry, find_entry, update_entry

    pf = _open(args.project)
    try:
        project = pf.project
        speaker_id = "" if args.user else _speaker_id(project, args.speaker)
        try:
            entry = make_entry(
                args.word,
                args.replacement or "",
                args.ipa or "",
                kind=args.kind or "",
                speaker_id=speaker_id,
                match_case=args.match_case,
                whole_word=not args.part_of_word,
                note=args.note or "",
            )
        except LexiconError as exc:
            raise CliError(str(exc)) from None
        if args.user:
            kept = [e for e in project.user_lexicon if e.grapheme.casefold() != entry.grapheme.casefold()]
            replaced = len(kept) != len(project.user_lexicon)
            stale = _set_user(project, [*kept, entry])
        else:
            existing = find_entry(project, entry.grapheme, speaker_id)
            replaced = existing is not None
            if existing is not None:
                fields = ("grapheme", "replacement", "phonemes", "kind", "match_case", "whole_word", "note")
                batch = update_entry(project, existing.id, **{f: getattr(entry, f) for f in fields})
            else:
                batch = add_entry(project, entry)
            project.apply(batch)
            stale = _stale_count(batch)
        print(f"{'Changed' if replaced else 'Added'} {entry.grapheme!r}; {stale} line(s) now stale")
        return 0
    finally:
        pf.close()


def cmd_remove(args: argparse.Namespace) -> int:
    from studio.core.lexicon_ops import find_entry, remove_entry

    pf = _open(args.project)
    try:
        project = pf.project
        wanted = " ".join(args.word.split()).casefold()
        if args.user:
            kept = [e for e in project.user_lexicon if e.grapheme.casefold() != wanted]
            if len(kept) == len(project.user_lexicon):
                raise CliError(f"the user lexicon has no entry for {args.word!r}")
            stale = _set_user(project, kept)
        else:
            speaker_id = _speaker_id(project, args.speaker)
            entry = find_entry(project, args.word, speaker_id)
            if entry is None:
                where = f"speaker {args.speaker}" if args.speaker else "the project"
                raise CliError(f"{where} has no lexicon entry for {args.word!r} (see `chorus lexicon list`)")
            batch = remove_entry(project, entry.id)
            project.apply(batch)
            stale = _stale_count(batch)
        print(f"Removed {args.word!r}; {stale} line(s) now stale")
        return 0
    finally:
        pf.close()


def _speaker_lookup(project: Any) -> Callable[[str], str | None]:
    def lookup(name: str) -> str | None:
        speaker = project.speaker_by_name(name)
        return str(speaker.id) if speaker is not None else None

    return lookup


def cmd_import(args: argparse.Namespace) -> int:
    import dataclasses

    from studio.core.lexicon_files import LexiconFileError, read_file
    from studio.core.lexicon_ops import import_entries

    pf = _open(args.project)
    try:
        project = pf.project
        speaker_id = "" if args.user else _speaker_id(project, args.speaker)
        try:
            entries = read_file(args.file, None if args.user else _speaker_lookup(project))
        except LexiconFileError as exc:
            raise CliError(str(exc)) from None
        if speaker_id:
            entries = [dataclasses.replace(e, speaker_id=speaker_id) for e in entries]
        if args.user:
            new = {e.grapheme.casefold(): e for e in entries}
            kept = [e for e in project.user_lexicon if e.grapheme.casefold() not in new]
            stale = _set_user(project, [*kept, *new.values()])
        else:
            batch = import_entries(project, entries)
            project.apply(batch)
            stale = _stale_count(batch)
        print(
            f"Imported {len(entries)} entr{'y' if len(entries) == 1 else 'ies'} from {args.file}; {stale} line(s) now stale"
        )
        return 0
    finally:
        pf.close()


def cmd_export(args: argparse.Namespace) -> int:
    from studio.core.lexicon_files import LexiconFileError, write_file

    pf = _open(args.project, read_only=True)
    try:
        project = pf.project
        entries = (
            _scope_entries(project, args) if (args.user or args.speaker) else list(project.lexicon.values())
        )

        def name_of(speaker_id: str) -> str:
            speaker = project.speakers.get(speaker_id)
            return str(speaker.name) if speaker else speaker_id

        try:
            write_file(entries, args.file, name_of, project.settings.source_language)
        except LexiconFileError as exc:
            raise CliError(str(exc)) from None
        except OSError as exc:
            raise CliError(f"cannot write {args.file}: {exc.strerror or exc}") from None
        print(f"Wrote {len(entries)} entr{'y' if len(entries) == 1 else 'ies'} to {args.file}")
        return 0
    finally:
        pf.close()


def cmd_say(args: argparse.Namespace) -> int:
    from studio.core.speech_text import engine_text, features_of

    pf = _open(args.project, read_only=True)
    try:
        project = pf.project
        line = project.lines.get(args.text)
        text, speaker_id, direction = (
            (line.text, line.speaker_id, line.direction)
            if line is not None
            else (args.text, _speaker_id(project, args.speaker), "")
        )
        backend = project.settings.backend
        said = engine_text(project, speaker_id, text, features_of(backend), direction)
        if args.json:
            print(
                json.dumps(
                    {
                        "text": text,
                        "engine_text": said.text,
                        "backend": backend,
                        "entries": [e.grapheme for e in said.entries],
                        "ignored": sorted(said.ignored),
                    },
                    ensure_ascii=False,
                    indent=2,
                )
            )
        else:
            print(said.text)
            for feature in sorted(said.ignored):
                print(f"Note: {feature} not supported by {backend}")
        return 0
    finally:
        pf.close()


def register(sub: Any) -> None:
    p = sub.add_parser(
        "lexicon",
        help="pronunciation lexicon (project, speaker, user): list, add, remove, import, export, say",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="lexicon_action", metavar="ACTION", required=True)

    def action(
        name: str, help_text: str, func: Callable[[argparse.Namespace], int]
    ) -> argparse.ArgumentParser:
        a: argparse.ArgumentParser = actions.add_parser(name, help=help_text)
        a.add_argument("project", metavar="PROJECT")
        a.set_defaults(func=func)
        return a

    def scope(a: argparse.ArgumentParser) -> None:
        group = a.add_mutually_exclusive_group()
        group.add_argument(
            "--user", action="store_true", help="the user lexicon (data folder, every project)"
        )
        group.add_argument("--speaker", metavar="NAME", help="a speaker's (character's) own entries")

    a = action(
        "list", "list entries (default: all that apply in the project) with the lines they match", cmd_list
    )
    scope(a)
    a.add_argument(
        "--search", metavar="TEXT", help="only entries whose word, replacement or phonemes contain TEXT"
    )
    a.add_argument("--json", action="store_true")
    a = action("add", "add (or change) the entry for WORD", cmd_add)
    a.add_argument("word", metavar="WORD", help="the word or phrase as written in the script")
    a.add_argument(
        "replacement", metavar="REPLACEMENT", nargs="?", help="what to say instead (respelling or alias)"
    )
    a.add_argument(
        "--ipa", metavar="PHONEMES", help="IPA phonemes (used by backends that take phonemes: piper)"
    )
    a.add_argument("--kind", choices=["alias", "respelling", "phonemes"])
    a.add_argument("--match-case", action="store_true", help="match only this exact case")
    a.add_argument("--part-of-word", action="store_true", help="match inside longer words too")
    a.add_argument("--note", metavar="TEXT")
    scope(a)
    a = action("remove", "remove the entry for WORD", cmd_remove)
    a.add_argument("word", metavar="WORD")
    scope(a)
    a = action("import", "add the entries of a PLS or CSV file (same words are replaced)", cmd_import)
    a.add_argument("file", metavar="FILE")
    scope(a)
    a = action("export", "write entries to a PLS or CSV file (by extension)", cmd_export)
    a.add_argument("file", metavar="FILE")
    scope(a)
    a = action("say", "print what the engine is sent for a line id or a text", cmd_say)
    a.add_argument("text", metavar="LINE_ID|TEXT")
    a.add_argument("--speaker", metavar="NAME")
    a.add_argument("--json", action="store_true")
