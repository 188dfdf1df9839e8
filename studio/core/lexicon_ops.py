"""Lexicon edits with a meaning: add, change or remove an entry, as undoable ops.

Each edit also marks stale exactly the lines whose matched entries change (the entries that match a
line are part of its take key, :mod:`studio.render.takes`): adding an entry for a word used in 2 lines
makes those 2 stale and nothing else. Undo restores the entry and the lines' status together.

Entries of the user's lexicon live outside the project (:mod:`studio.core.lexicon_files`); after
changing it, :func:`user_lexicon_changed` gives the status edits for the open project.

Thread contract: call on the thread that owns the project.
"""

from __future__ import annotations

import dataclasses
import json
import unicodedata
from collections.abc import Iterable
from typing import Any

from studio.core import ops
from studio.core.lexicon import entry_identity, lines_matching, matched_entries, matcher_for
from studio.core.model import LexiconEntry, LineStatus, ScriptLine
from studio.core.project import Project

_RENDERED = (LineStatus.DONE, LineStatus.SUSPECT)


def line_signature(project: Project, line: ScriptLine) -> str:
    """The lexicon entries that decide how ``line`` is spoken, in every language it has text in."""
    matcher = matcher_for(project, line.speaker_id)
    texts = [line.text, *(text for _, text in line.translations)]
    used = [
        [entry_identity(e) for e in matched_entries(matcher.find(unicodedata.normalize("NFC", t)))]
        for t in texts
    ]
    return json.dumps(used, sort_keys=True)


def _with_lexicon(
    project: Project, lexicon: dict[str, LexiconEntry], user: tuple[LexiconEntry, ...] | None = None
) -> Project:
    """A read-only view of ``project`` with another lexicon (shares the other tables)."""
    return Project(
        settings=project.settings,
        speakers=project.speakers,
        lines=project.lines,
        line_order=project.line_order,
        lexicon=lexicon,
        user_lexicon=project.user_lexicon if user is None else user,
    )


def stale_edits(before: Project, after: Project, touched: Iterable[LexiconEntry]) -> list[ops.Update]:
    """Status edits for rendered lines whose matched entries differ between ``before`` and ``after``."""
    edits: list[ops.Update] = []
    for line_id in lines_matching(before, touched):
        line = before.lines[line_id]
        if line.status in _RENDERED and line_signature(before, line) != line_signature(after, line):
            edits.append(ops.set_line_status(line_id, LineStatus.STALE))
    return edits


def add_entry(project: Project, entry: LexiconEntry) -> ops.Batch:
    """Add a project entry (``speaker_id`` set: that speaker's entry); its lines go stale."""
    if entry.speaker_id and entry.speaker_id not in project.speakers:
        raise ops.EditError(f"no speaker with id {entry.speaker_id!r}")
    after = _with_lexicon(project, {**project.lexicon, entry.id: entry})
    stale = stale_edits(project, after, [entry])
    return ops.Batch((ops.Insert(entry, None, "Add pronunciation"), *stale), "Add pronunciation")


def import_entries(
    project: Project, entries: Iterable[LexiconEntry], label: str = "Import lexicon"
) -> ops.Batch:
    """Add several entries in one undo step (an import): an entry for words the same scope already
    has replaces it (case-insensitively); within ``entries`` the last one for the same words wins."""
    new = list({(e.grapheme.casefold(), e.speaker_id): e for e in entries}.values())
    for entry in new:
        if entry.speaker_id and entry.speaker_id not in project.speakers:
            raise ops.EditError(f"no speaker with id {entry.speaker_id!r}")
    replaced = [old for e in new if (old := find_entry(project, e.grapheme, e.speaker_id)) is not None]
    gone = {old.id for old in replaced}
    lexicon = {k: v for k, v in project.lexicon.items() if k not in gone}
    after = _with_lexicon(project, {**lexicon, **{e.id: e for e in new}})
    stale = stale_edits(project, after, [*replaced, *new])
    return ops.Batch(
        (
            *(ops.Delete("lexicon", old.id, label) for old in replaced),
            *(ops.Insert(e, None, label) for e in new),
            *stale,
        ),
        label,
    )


def update_entry(project: Project, entry_id: str, **changes: Any) -> ops.Batch:
    """Change fields of an entry (grapheme, replacement, phonemes, kind, speaker_id, match_case, …)."""
    old = project.lexicon.get(entry_id)
    if old is None:
        raise ops.EditError(f"no lexicon entry with id {entry_id!r}")
    try:
        new = dataclasses.replace(old, **changes)
    except TypeError as exc:
        raise ops.EditError(f"cannot change the entry: {exc}") from None
    after = _with_lexicon(project, {**project.lexicon, entry_id: new})
    stale = stale_edits(project, after, [old, new])
    update = ops.Update("lexicon", entry_id, tuple(changes.items()), "Edit pronunciation")
    return ops.Batch((update, *stale), "Edit pronunciation")


def remove_entry(project: Project, entry_id: str) -> ops.Batch:
    old = project.lexicon.get(entry_id)
    if old is None:
        raise ops.EditError(f"no lexicon entry with id {entry_id!r}")
    after = _with_lexicon(project, {k: v for k, v in project.lexicon.items() if k != entry_id})
    stale = stale_edits(project, after, [old])
    return ops.Batch(
        (ops.Delete("lexicon", entry_id, "Remove pronunciation"), *stale), "Remove pronunciation"
    )


def user_lexicon_changed(project: Project, new: tuple[LexiconEntry, ...]) -> ops.Batch:
    """Status edits for ``project`` when the user lexicon becomes ``new`` (set ``project.user_lexicon``
    after computing them)."""
    old = project.user_lexicon
    touched = {e.id: e for e in (*old, *new)}
    after = _with_lexicon(project, project.lexicon, new)
    return ops.Batch(tuple(stale_edits(project, after, touched.values())), "User lexicon")


def find_entry(project: Project, grapheme: str, speaker_id: str = "") -> LexiconEntry | None:
    """The project entry (of ``speaker_id``'s scope) with this written form, case-insensitively."""
    wanted = " ".join(unicodedata.normalize("NFC", grapheme).split()).casefold()
    for entry in project.lexicon.values():
        if entry.speaker_id == speaker_id and entry.grapheme.casefold() == wanted:
            return entry
    return None
