"""A Fountain (https://fountain.io) subset: the parts that carry dialogue.

Read:

* Title page (``Title: …``, ``Author: …`` key-value lines at the top, up to the first blank
  line): skipped.
* Boneyard ``/* … */`` (may span lines): ignored. An unclosed ``/*`` is an error.
* Notes ``[[ … ]]``: not part of any text. ``[[id: X]]`` inside a speech gives that line its id;
  other notes inside a speech become the line's notes. Notes elsewhere are ignored. An unclosed
  ``[[`` is an error.
* Scene headings: a paragraph starting with ``INT``, ``EXT``, ``EST``, ``INT./EXT``, ``INT/EXT``
  or ``I/E`` followed by ``.`` or a space, or forced with a leading ``.`` (``.THE KITCHEN``).
  A scene number ``#12A#`` at the end is dropped. The title is the heading as written.
* Character cues: a paragraph whose first line is all capitals (with at least one letter) and has a
  line below it, or is forced with ``@`` (``@McAllister``). Extensions ``(V.O.)``, ``(CONT'D)`` and
  the dual-dialogue caret ``^`` are dropped from the name.
* Dialogue: the cue's following lines, joined with line breaks. A parenthetical right after the cue is
  the line's direction. A parenthetical later in the speech starts a new line of the same character
  with that direction (when dialogue follows it).
* Action: the action paragraphs after a scene heading, before the scene's first speech, are the
  scene's description (forced action ``!`` included). Other action, transitions, centered text,
  lyrics, sections ``#``, synopses ``=`` and page breaks ``===`` are ignored.

Fountain parsing is forgiving by design: the only errors are unclosed boneyard/notes, an empty
``[[id:]]``, a duplicate id and a speech with no dialogue.

Written: no title page; headings forced with ``.`` unless they read as headings already; cues
forced with ``@`` unless all capitals; description lines forced with ``!`` where needed; ids and notes
as notes at the end of the speech (ids equal to the natural id are not written).

Round trip: names hold no ``(``, ``^`` or line break; titles start with a letter or digit and hold
no ``#``; texts, directions, notes and descriptions hold no ``[[``, ``]]``, ``/*`` or ``*/``; a text's
first line is not wholly in parentheses (a later such line is joined to the one above with a space);
directions and notes hold no line breaks; notes do not start with ``id:``. Lines without a scene can
only come first.

Thread contract: pure functions; safe from any thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from studio.core.formats.records import (
    LineDraft,
    ParsedLine,
    ParsedScene,
    ParsedScript,
    ScriptFormatError,
    finish_lines,
    one_line,
    split_text_lines,
    text_rows,
    writing_order,
)

_HIDDEN = re.compile(r"/\*|\*/|\[\[|\]\]|\n")
TITLE_KEY = re.compile(
    r"^(title|credit|author|authors|source|draft date|date|contact|copyright|notes|revision|format)\s*:",
    re.IGNORECASE,
)
HEADING = re.compile(r"^(INT\.?/EXT|INT/EXT|I/E|INT|EXT|EST)[. ]", re.IGNORECASE)
_SCENE_NUMBER = re.compile(r"\s*#[\w.-]*#\s*$")
_EXTENSION = re.compile(r"\s*\(.*\)\s*$")
_ID_NOTE = re.compile(r"^id\s*:(.*)$", re.IGNORECASE | re.DOTALL)


@dataclass
class _Row:
    number: int
    text: str  # what is left once boneyard and notes are taken out
    notes: list[str] = field(default_factory=list)  # notes that start on this row
    hidden: bool = False  # the row held boneyard or a note: empty is not blank then


def _rows(text: str) -> list[_Row]:
    """Physical rows with boneyard removed and notes taken out (attached to the row they start on)."""
    text = "\n".join(split_text_lines(text))
    rows = [_Row(1, "")]
    pieces: list[str] = []
    mode = ""  # "" | "bone" | "note"
    opened_at = 0
    note: list[str] = []
    note_row = rows[0]
    position = 0
    for match in _HIDDEN.finditer(text):
        token = match.group()
        chunk = text[position : match.start()]
        position = match.end()
        if mode == "":
            pieces.append(chunk)
        elif mode == "note":
            note.append(chunk)
        if token == "\n":
            if mode == "note":
                note.append("\n")
            rows[-1].text = "".join(pieces)
            pieces = []
            rows.append(_Row(rows[-1].number + 1, "", hidden=mode != ""))
        elif mode == "" and token == "/*":
            mode, opened_at = "bone", rows[-1].number
            rows[-1].hidden = True
        elif mode == "" and token == "[[":
            mode, opened_at, note, note_row = "note", rows[-1].number, [], rows[-1]
            rows[-1].hidden = True
        elif mode == "bone" and token == "*/":
            mode = ""
        elif mode == "note" and token == "]]":
            note_row.notes.append("".join(note).strip())
            mode = ""
        elif mode == "":
            pieces.append(token)  # a stray "*/" or "]]" is text
        elif mode == "note":
            note.append(token)
    if mode == "bone":
        raise ScriptFormatError(opened_at, "this boneyard comment '/*' is never closed with '*/'")
    if mode == "note":
        raise ScriptFormatError(opened_at, "this note '[[' is never closed with ']]'")
    pieces.append(text[position:])
    rows[-1].text = "".join(pieces)
    return rows


def _paragraphs(rows: list[_Row]) -> list[list[_Row]]:
    """Rows grouped by blank rows. Rows emptied by boneyard/notes are kept (for their notes) but
    do not split paragraphs; a paragraph of such rows only is dropped."""
    paragraphs: list[list[_Row]] = []
    current: list[_Row] = []
    for row in rows:
        if row.text.strip() or row.hidden:
            current.append(row)
        elif current:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    return [p for p in paragraphs if any(row.text.strip() for row in p)]


def _cue_name(line: str) -> str | None:
    """The character name if ``line`` is a character cue, else None."""
    forced = line.startswith("@")
    name = line[1:] if forced else line
    name = _EXTENSION.sub("", name.rstrip().removesuffix("^")).strip()
    if not name:
        return None
    if forced:
        return name
    if name != name.upper() or name == name.lower():  # not all capitals / no letter with a case
        return None
    if not line[0].isalnum() or HEADING.match(line) or line.endswith("TO:"):
        return None
    return name


def _is_description(line: str) -> bool:
    """Whether an action paragraph starting with ``line`` may describe a scene (not a transition,
    centered text, lyric, section or synopsis)."""
    if line.startswith("!"):
        return True
    if line[0] in "~>=#":
        return False
    return not (line == line.upper() and line.endswith(":"))


def _heading_title(line: str) -> str | None:
    if line.startswith(".") and not line.startswith(".."):
        title = line[1:]
    elif HEADING.match(line):
        title = line
    else:
        return None
    return _SCENE_NUMBER.sub("", title).strip() or None


def parse(text: str) -> ParsedScript:
    paragraphs = _paragraphs(_rows(text))
    if paragraphs and TITLE_KEY.match(next(r.text for r in paragraphs[0] if r.text.strip()).strip()):
        paragraphs = paragraphs[1:]
    drafts: list[LineDraft] = []
    scenes: dict[str, str] = {}
    scene = ""
    preamble = False  # inside a scene, before its first speech: action is its description

    for paragraph in paragraphs:
        first_index = next(i for i, row in enumerate(paragraph) if row.text.strip())
        first = paragraph[first_index].text.strip()
        title = _heading_title(first)
        if title is not None:
            scene = title
            scenes.setdefault(scene, "")
            preamble = True
            rest = [row.text.strip() for row in paragraph[first_index + 1 :] if row.text.strip()]
            if rest:
                scenes[scene] = "\n".join([scenes[scene], *rest]).strip()
            continue
        has_more = any(row.text.strip() for row in paragraph[first_index + 1 :])
        name = _cue_name(first) if has_more else None
        if name is None:
            if preamble and _is_description(first):
                action = [row.text.strip().removeprefix("!") for row in paragraph if row.text.strip()]
                scenes[scene] = "\n".join([scenes[scene], *action]).strip()
            continue
        preamble = False
        _read_speech(paragraph, first_index, name, scene, drafts)

    lines = finish_lines(drafts, "speech")
    return ParsedScript.from_lines(lines, (ParsedScene(t, d) for t, d in scenes.items()))


def _read_speech(
    paragraph: list[_Row], cue_index: int, name: str, scene: str, drafts: list[LineDraft]
) -> None:
    draft = LineDraft(paragraph[cue_index].number, name, scene=scene)
    drafts.append(draft)
    has_text = False
    pending: str | None = None
    for index, row in enumerate(paragraph):
        line = row.text.strip()
        if index > cue_index and line:
            if _parenthetical(line):
                direction = line[1:-1].strip()
                if not has_text:
                    draft.direction = ", ".join(d for d in (draft.direction, direction) if d)
                else:
                    pending = direction
            else:
                if pending is not None:
                    draft = LineDraft(row.number, name, direction=pending, scene=scene)
                    drafts.append(draft)
                    pending = None
                draft.parts.append(line)
                has_text = True
        for note in row.notes:
            found = _ID_NOTE.match(note)
            if found is None:
                draft.notes.append(note)
                continue
            value = found.group(1).strip()
            if not value:
                raise ScriptFormatError(row.number, "this [[id:]] note has no id after the colon")
            if draft.id:
                raise ScriptFormatError(row.number, f"this speech already has the id {draft.id!r}")
            draft.id, draft.id_line_number = value, row.number


def _parenthetical(row: str) -> bool:
    return row.startswith("(") and row.endswith(")")


def _cue(name: str) -> str:
    name = one_line(name)
    return name if _cue_name(name) == name and not TITLE_KEY.match(name) else f"@{name}"


def _action(line: str) -> str:
    """An action line, forced with ``!`` where it could read as something else."""
    plain = (
        line[0].isalnum() and line != line.upper() and not HEADING.match(line) and not TITLE_KEY.match(line)
    )
    return line if plain else f"!{line}"


def _read_back(line: ParsedLine) -> tuple[str, str]:
    cue = _cue(line.character)
    return _cue_name(cue) or cue, "\n".join(text_rows(line.text, _parenthetical))


def dump(script: ParsedScript) -> str:
    out: list[str] = []
    for item in writing_order(script, _read_back):
        if out:
            out.append("")
        if isinstance(item[0], ParsedScene):
            scene, first = item
            title = one_line(scene.title)
            out.append(title if _heading_title(title) == title else f".{title}")
            description = [part.strip() for part in scene.description.split("\n") if part.strip()]
            if first and description:
                out += ["", *(_action(part) for part in description)]
            continue
        line, line_id = item
        out.append(_cue(line.character))
        if line.direction:
            out.append(f"({one_line(line.direction)})")
        out += text_rows(line.text, _parenthetical)
        if line_id:
            out[-1] += f" [[id: {line_id} ]]"
        if line.notes:  # spaces inside keep "[laugh]" at either end from touching the brackets
            out[-1] += f" [[ {line.notes} ]]"
    return "\n".join(out) + "\n"
