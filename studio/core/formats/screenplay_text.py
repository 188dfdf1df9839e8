"""Screenplay-style text: ``NAME: line``, parenthetical directions, scene headings, blank-line breaks.

::

    == The kitchen ==
    > Morning. Rain on the window.

    ALICE: (whispering) Hello there.
    BOB: Hi.

    (quietly)
    BOB: Is anyone up?
    ALICE:
    (tired)
    Not yet.
    Come back later.


    BOB: Two blank lines above start a new scene.

Rules, line by line (leading and trailing spaces are ignored):

* ``NAME: text`` starts a line of NAME. A name starts with a letter and holds letters, digits,
  spaces and ``. ' ’ - _`` (at most 40 characters); a full-width colon ``：`` works too. The colon
  must be followed by a space or the end of the line (``http://…``, ``10:30`` are not names).
  ``NAME:`` alone takes its text from the lines below it. A name outside this rule is forced with
  a leading ``@``: ``@Guard #2: Halt!`` (the name runs to the first colon followed by a space, or
  ``：``); the writer does that by itself.
* A line that is none of the kinds listed here continues the current line's text (joined with a line
  break). Text with no current line (e.g. after a blank line, which ends a line) is an error.
* A parenthetical at the start of the text is the line's direction: ``ALICE: (whispering) Hello``.
  Write ``ALICE: () (aside) Hello`` for a text that itself starts with a parenthesis.
* A ``(direction)`` on its own line applies to what follows it in the same block: the next
  ``NAME:`` line, or, inside a line of text, the text after it — which becomes a new line of the
  same character. A direction with no text after it in its block is a stage direction: skipped.
* ``== Title ==`` starts a scene (the closing ``==`` is optional). A title seen before switches
  back to that scene. ``> text`` lines after a heading, before its first line, are the scene's
  description.
* Two or more blank lines start a new scene when the part above holds lines. Such scenes are named
  "Scene N" (N = their position among the script's scenes); lines above the first break that have
  no heading become "Scene 1" then.
* ``#`` starts a comment. ``# id: X`` and ``# notes: text`` give the id and notes of the next
  ``NAME:`` line (values escaped as in the Higgs format: ``\\n``, ``\\\\``). Other comments are
  ignored.

Round trip: names hold no ``": "`` and no ``：``; directions sit on one line with balanced
parentheses; scene titles and descriptions sit on one line, titles without ``=`` at their ends. A
multi-line text is written as continuation lines; one that would read as another kind is joined to
the line above with a space. Ids equal to the natural id (:mod:`studio.core.formats.records`) are not
written. Lines without a scene that come after a scene's lines join that scene.

Thread contract: pure functions; safe from any thread.
"""

from __future__ import annotations

import re

from studio.core.formats.records import (
    LineDraft,
    ParsedLine,
    ParsedScene,
    ParsedScript,
    ScriptFormatError,
    comment_meta,
    escape_value,
    finish_lines,
    leading_parenthetical,
    one_line,
    split_text_lines,
    text_rows,
    writing_order,
)

CUE = re.compile(
    r"^(?P<name>[^\W\d_][\w.'’ -]{0,39}?)[ \t]*(?::(?:[ \t]+|$)|：[ \t]*)(?P<rest>.*)$",
)
FORCED_CUE = re.compile(r"^@(?P<name>.+?)[ \t]*(?::(?:[ \t]+|$)|：[ \t]*)(?P<rest>.*)$")
_HEADING = re.compile(r"^={2,}\s*(?P<title>.*?)\s*=*\s*$")
_KEYS = frozenset({"id", "notes"})


def parse(text: str) -> ParsedScript:
    drafts: list[LineDraft] = []
    scenes: dict[str, str] = {}  # title -> description, in file order
    scene = ""
    lines_in_part = 0  # lines since the last scene start (heading or blank-line break)
    blank_run = 0
    preamble = False  # after a heading, before its first line: "> description" allowed
    current: LineDraft | None = None
    current_has_text = False
    pending_direction: str | None = None
    pending: dict[str, tuple[str, int]] = {}

    def new_scene_name() -> str:
        number = len(scenes) + 1
        name = f"Scene {number}"
        while name in scenes:
            number += 1
            name = f"Scene {number}"
        return name

    def start_line(number: int, character: str, direction: str) -> LineDraft:
        nonlocal current, current_has_text, lines_in_part, preamble
        draft = LineDraft(number, character, direction=direction, scene=scene)
        drafts.append(draft)
        current, current_has_text = draft, False
        lines_in_part += 1
        preamble = False
        return draft

    def add_text(piece: str) -> None:
        nonlocal current_has_text
        assert current is not None
        if piece:
            current.parts.append(piece)
            current_has_text = True

    for number, row in enumerate(split_text_lines(text), start=1):
        stripped = row.strip()
        if not stripped:
            blank_run += 1
            current, pending_direction = None, None
            continue
        if stripped.startswith("#"):
            meta = comment_meta(stripped[1:].strip(), _KEYS)
            if meta is not None:
                key, value = meta
                if key == "id" and not value:
                    raise ScriptFormatError(number, "'# id:' needs a line id after the colon")
                pending[key] = (value, number)
            continue
        if blank_run >= 2 and lines_in_part and not _HEADING.match(stripped):
            if not scene:  # the lines above had no heading: they become the first scene
                scene = new_scene_name()
                scenes[scene] = ""
                for draft in drafts:
                    draft.scene = scene
            scene = new_scene_name()
            scenes[scene] = ""
            lines_in_part = 0
        blank_run = 0

        heading = _HEADING.match(stripped)
        if heading:
            title = heading.group("title")
            if not title:
                raise ScriptFormatError(number, "this scene heading has no title; write '== Title =='")
            scene = title
            scenes.setdefault(scene, "")
            lines_in_part, preamble = 0, True
            current, pending_direction = None, None
            continue
        if stripped.startswith(">"):
            if not preamble:
                raise ScriptFormatError(
                    number,
                    "a '>' scene description must come right after a '== heading ==', before the scene's lines",
                )
            scenes[scene] = f"{scenes[scene]}\n{stripped[1:].strip()}".strip()
            continue

        paren = leading_parenthetical(stripped)
        if paren is not None:
            direction, rest = paren
            if current is not None and not current_has_text:  # "ALICE:" then "(tired)"
                current.direction = ", ".join(d for d in (current.direction, direction) if d)
                add_text(rest)
            elif current is not None and rest:  # "(laughs) okay" inside a line: a new line
                start_line(number, current.character, direction)
                add_text(rest)
            elif current is None and rest:
                raise ScriptFormatError(
                    number,
                    "this text has no speaker; start it with a name and a colon, "
                    f"such as 'ALICE: {stripped[:30]}'",
                )
            else:  # applies to what comes next in this block
                pending_direction = direction
            continue

        cue = FORCED_CUE.match(stripped) if stripped.startswith("@") else CUE.match(stripped)
        if cue:
            rest = cue.group("rest").strip()
            direction = pending_direction or ""
            inline = leading_parenthetical(rest)
            if inline is not None:
                direction = inline[0] or direction
                rest = inline[1]
            draft = start_line(number, cue.group("name").strip(), direction)
            if "id" in pending:
                draft.id, draft.id_line_number = pending["id"]
            if "notes" in pending:
                draft.notes.append(pending["notes"][0])
            pending.clear()
            pending_direction = None
            add_text(rest)
            continue

        if current is None:
            raise ScriptFormatError(
                number,
                f"this text has no speaker; start it with a name and a colon, such as 'ALICE: {stripped[:30]}'",
            )
        if pending_direction is not None:
            start_line(number, current.character, pending_direction)
            pending_direction = None
        add_text(stripped)

    lines = finish_lines(drafts)
    return ParsedScript.from_lines(lines, (ParsedScene(t, d) for t, d in scenes.items()))


def _cue(name: str) -> str:
    """The name as written before the colon: forced with ``@`` unless it follows the plain rule."""
    name = one_line(name)
    plain = CUE.match(f"{name}: x")
    return name if plain and plain.group("name").strip() == name and not name.startswith("@") else f"@{name}"


def _misread(row: str) -> bool:
    """Whether a text row after the first would read as something other than more text."""
    return (
        row.startswith(("#", "(", ">", "@")) or _HEADING.match(row) is not None or CUE.match(row) is not None
    )


def _read_back(line: ParsedLine) -> tuple[str, str]:
    cue = _cue(line.character)
    match = FORCED_CUE.match(f"{cue}: x") if cue.startswith("@") else CUE.match(f"{cue}: x")
    name = match.group("name").strip() if match else cue
    return name, "\n".join(text_rows(line.text, _misread))


def dump(script: ParsedScript) -> str:
    out: list[str] = []
    for item in writing_order(script, _read_back):
        if out:
            out.append("")
        if isinstance(item[0], ParsedScene):
            scene, first = item
            out.append(f"== {one_line(scene.title)} ==")
            if first and scene.description:
                out += [f"> {part.strip()}" for part in scene.description.split("\n") if part.strip()]
            continue
        line, line_id = item
        if line_id:
            out.append(f"# id: {escape_value(line_id)}")
        if line.notes:
            out.append(f"# notes: {escape_value(line.notes)}")
        first_text, *more = text_rows(line.text, _misread)
        if line.direction:
            first_text = f"({one_line(line.direction)}) {first_text}"
        elif first_text.startswith("("):
            first_text = f"() {first_text}"
        out.append(f"{_cue(line.character)}: {first_text}")
        out += more
    return "\n".join(out) + "\n"
