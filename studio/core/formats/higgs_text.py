"""Higgs Audio tagged text: one turn per line, ``[SPEAKER0] text``.

A plain file as users of the Higgs Audio reference repository write it imports as is::

    [SPEAKER0] I can't believe you did that without even asking me first!
    [SPEAKER1] Oh, come on! [laugh] It wasn't a big deal.

Tag ``[SPEAKERn]`` becomes character ``SPEAKERn``. Only ``[SPEAKER<digits>]`` at the start of a line
(case-insensitive, leading spaces allowed) is a speaker tag; tags such as ``[laugh]`` or
``[humming start]`` anywhere are text. A line without a tag continues the turn above it (joined
with a line break); a blank line ends a turn, so untagged text after a blank line is an error.

Lines starting with ``#`` are comments. Chorus writes (and reads) these::

    # SPEAKER0 = Alice                  character name of a tag (header)
    # scene: The kitchen                the following turns belong to this scene
    # description: Rain on the window.  description of the scene named just above
    # id: line_1                        id of the next turn
    # direction: whispering             direction of the next turn
    # notes: Pick-up from session 2     notes of the next turn

Values are on one line: a line break is written ``\\n`` and a backslash ``\\\\``. Other comments are
ignored. The header order of ``SPEAKERn = name`` lines is the order of the characters; tags without a
header line follow, by number.

Round trip (export then import gives the same script): every field is kept, except blank lines
inside a text (dropped), a text line that would read as a comment or a tag (joined to the line above
with a space) and line breaks in names and scene titles (spaces). Ids equal to the natural id (:mod:`studio.core.formats.records`) are
not written. Lines without a scene that come after a scene's lines join that scene.

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
    all_characters,
    comment_meta,
    escape_value,
    finish_lines,
    one_line,
    split_text_lines,
    text_rows,
    writing_order,
)

TAG = re.compile(r"^\s*\[SPEAKER(\d+)\][ \t]*(.*)$", re.IGNORECASE)
_MAPPING = re.compile(r"^SPEAKER(\d+)\s*=\s*(.*)$", re.IGNORECASE)
_NAME_IS_TAG = re.compile(r"^SPEAKER(\d+)$")
_KEYS = frozenset({"id", "direction", "notes", "scene", "description"})


def _read_header(rows: list[str]) -> dict[int, str]:
    """``# SPEAKERn = name`` comments, in file order."""
    names: dict[int, str] = {}
    owner: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        stripped = row.strip()
        if not stripped.startswith("#"):
            continue
        match = _MAPPING.match(stripped[1:].strip())
        if match is None:
            continue
        tag = int(match.group(1))
        name = match.group(2).strip()
        if not name:
            raise ScriptFormatError(
                number, f"SPEAKER{tag} has no name after '='; write '# SPEAKER{tag} = NAME'"
            )
        if tag in names:
            raise ScriptFormatError(number, f"SPEAKER{tag} is named twice in the header")
        if name.casefold() in owner:
            raise ScriptFormatError(
                number,
                f"{name!r} is already the name of SPEAKER{owner[name.casefold()]}; give each tag its own name",
            )
        names[tag] = name
        owner[name.casefold()] = tag
    return names


def parse(text: str) -> ParsedScript:
    rows = split_text_lines(text)
    header = _read_header(rows)
    declared = {name.casefold() for name in header.values()}
    undeclared: dict[int, str] = {}  # tag -> name, tags used without a header line
    drafts: list[LineDraft] = []
    scenes: dict[str, str] = {}  # title -> description, in file order
    scene = ""
    current: LineDraft | None = None
    pending: dict[str, tuple[str, int]] = {}  # key -> (value, line number)

    for number, row in enumerate(rows, start=1):
        stripped = row.strip()
        if not stripped:
            current = None
            continue
        if stripped.startswith("#"):
            meta = comment_meta(stripped[1:].strip(), _KEYS)
            if meta is None:
                continue
            key, value = meta
            if key == "scene":
                if not value:
                    raise ScriptFormatError(number, "'# scene:' needs a scene title after the colon")
                scene = value
                scenes.setdefault(scene, "")
                current = None
            elif key == "description":
                if not scene:
                    raise ScriptFormatError(number, "'# description:' must come after a '# scene:' comment")
                scenes[scene] = f"{scenes[scene]}\n{value}".strip()
            else:
                if key == "id" and not value:
                    raise ScriptFormatError(number, "'# id:' needs a line id after the colon")
                pending[key] = (value, number)
            continue
        match = TAG.match(row)
        if match is None:
            if current is None:
                raise ScriptFormatError(
                    number, "this text has no speaker tag; start the line with a tag such as [SPEAKER0]"
                )
            current.parts.append(stripped)
            continue
        tag = int(match.group(1))
        name = header.get(tag)
        if name is None:
            name = f"SPEAKER{tag}"
            if name.casefold() in declared:
                raise ScriptFormatError(
                    number,
                    f"[SPEAKER{tag}] has no name in the header and {name} is the name of another tag; "
                    f"add '# SPEAKER{tag} = NAME' to the header",
                )
            undeclared.setdefault(tag, name)
        current = LineDraft(number, name, [match.group(2).strip()], scene=scene)
        if "id" in pending:
            current.id, current.id_line_number = pending["id"]
        current.direction = pending.get("direction", ("", 0))[0]
        current.notes.append(pending.get("notes", ("", 0))[0])
        pending.clear()
        drafts.append(current)

    lines = finish_lines(drafts, "turn")
    characters = list(header.values()) + [undeclared[tag] for tag in sorted(undeclared)]
    return ParsedScript.from_lines(
        lines, (ParsedScene(title, description) for title, description in scenes.items()), characters
    )


def speaker_tags(characters: tuple[str, ...]) -> dict[str, int]:
    """Tag number per character: a character named ``SPEAKERn`` keeps n; others take the lowest free."""
    tags: dict[str, int] = {}
    used: set[int] = set()
    for name in characters:
        match = _NAME_IS_TAG.match(name)
        if match and int(match.group(1)) not in used:
            tags[name] = int(match.group(1))
            used.add(tags[name])
    free = 0
    for name in characters:
        if name in tags:
            continue
        while free in used:
            free += 1
        tags[name] = free
        used.add(free)
    return tags


def _misread(row: str) -> bool:
    """Whether a text row after the first would read as a comment or a new turn."""
    return row.startswith("#") or TAG.match(row) is not None


def _read_back(line: ParsedLine) -> tuple[str, str]:
    return one_line(line.character), "\n".join(text_rows(line.text, _misread))


def dump(script: ParsedScript) -> str:
    characters = all_characters(script)
    tags = speaker_tags(characters)
    out = ["# Chorus script: Higgs Audio tagged text. Lines starting with # are comments."]
    out += [f"# SPEAKER{tags[name]} = {one_line(name)}" for name in characters]
    for item in writing_order(script, _read_back):
        if isinstance(item[0], ParsedScene):
            scene, first = item
            out += ["", f"# scene: {escape_value(scene.title)}"]
            if first and scene.description:
                out.append(f"# description: {escape_value(scene.description)}")
            continue
        line, line_id = item
        if line_id:
            out.append(f"# id: {escape_value(line_id)}")
        if line.direction:
            out.append(f"# direction: {escape_value(line.direction)}")
        if line.notes:
            out.append(f"# notes: {escape_value(line.notes)}")
        first_text, *more = text_rows(line.text, _misread)
        out.append(f"[SPEAKER{tags[line.character]}] {first_text}")
        out += more
    return "\n".join(out) + "\n"
