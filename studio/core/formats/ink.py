"""Ink ``.ink`` scripts (inkle's narrative language), read for the lines a voice actor says.

Reading:

* Knots ``=== name ===`` (also ``== name``, ``=== function name(x) ===``) are scenes; stitches
  ``= name`` stay in their knot's scene. Content before the first knot has no scene. A tag-only
  line ``# scene: Title`` / ``# description: …`` right under a knot names its scene / describes it
  (an empty ``# scene:`` = no scene).
* Skipped: ``//`` and ``/* … */`` comments, ``VAR``/``CONST``/``LIST``/``INCLUDE``/``EXTERNAL``
  declarations, ``~`` logic, ``TODO:`` notes, lines that are only diverts (``-> knot``) or threads.
* Choices ``*`` / ``+`` (nested ``* *``), with an optional ``(label)`` and leading ``{conditions}``,
  are lines: the text outside ``[…]`` is what is said (a choice wholly in brackets says nothing).
  Gathers ``-`` (nested ``- -``) are lines with their markers removed.
* Diverts ``-> target`` and glue ``<>`` inside a line are dropped; ``{…}`` inline logic is kept
  as written.
* Tags run from ``#`` to the next ``#`` or the end of the line: ``#id:X`` gives the line its id (as
  ink localisation tools write them), ``#speaker:Name`` (or ``#character:`` / ``#char:``) its
  character, other tags go to its notes (``#angry #loud``).
* The character is the tag's, else a ``Name:`` prefix (before the first colon that is not escaped;
  at most four words), else ``Narrator``. ``\\`` escapes the next character.
* Lines without ``#id:`` get the natural id (:mod:`studio.core.formats.records`);
  :func:`add_id_tags` writes them back into the file.

Writing: each scene's lines under a knot named after it (a ``# scene:`` tag keeps the real title when
the name had to change), ``Name: text #id:ID`` per line. Round trip: id, character, text, scene,
scene description and hashtag notes survive; directions, other notes and line breaks do not.

Thread contract: pure functions; safe from any thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from studio.core.formats.records import (
    LineDraft,
    ParsedLine,
    ParsedScene,
    ParsedScript,
    ScriptFormatError,
    escape_value,
    finish_lines,
    one_line,
    split_text_lines,
    unescape_value,
)

NARRATOR = "Narrator"
_KNOT = re.compile(r"^={2,}\s*(?:function\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(?:\([^)]*\))?\s*=*\s*$")
_STITCH = re.compile(r"^=\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\([^)]*\))?\s*$")
_SKIP = re.compile(r"^(?:VAR|CONST|LIST|INCLUDE|EXTERNAL)\b|^~|^TODO\s*:")
_DIVERT_TARGET = re.compile(r"\s*(?:[A-Za-z_][A-Za-z0-9_.]*(?:\([^)]*\))?)?")
_SPEAKER_TAGS = ("speaker", "character", "char")


@dataclass
class _Spoken:
    draft: LineDraft
    tag_at: int  # column where a new tag can be inserted (before a trailing comment)


def _strip_comments(rows: list[str]) -> list[str]:
    """Rows with ``//`` and ``/* */`` comments blanked out (columns kept where possible)."""
    out: list[str] = []
    in_block = 0  # line where the open block comment started
    for number, row in enumerate(rows, start=1):
        kept: list[str] = []
        i = 0
        n = len(row)
        while i < n:
            if in_block:
                close = row.find("*/", i)
                if close < 0:
                    i = n
                    break
                in_block = 0
                i = close + 2
                continue
            c = row[i]
            if c == "\\" and i + 1 < n:
                kept.append(row[i : i + 2])
                i += 2
                continue
            if row.startswith("//", i):
                break
            if row.startswith("/*", i):
                in_block = number
                i += 2
                continue
            kept.append(c)
            i += 1
        out.append("".join(kept))
    if in_block:
        raise ScriptFormatError(in_block, "a /* comment is never closed with */")
    return out


def _choice_text(body: str) -> str:
    """The part of a choice that is said after it is chosen: everything outside ``[…]``."""
    out: list[str] = []
    depth = 0
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            if not depth:
                out.append(body[i : i + 2])
            i += 2
            continue
        if c == "[":
            depth += 1
        elif c == "]" and depth:
            depth -= 1
        elif not depth:
            out.append(c)
        i += 1
    return "".join(out)


def _scan(body: str) -> tuple[list[tuple[str, bool]], list[str]]:
    """(character, escaped) pairs of the said text, and the tags, of one line's content."""
    chars: list[tuple[str, bool]] = []
    tags: list[str] = []
    current: list[str] | None = None
    i = 0
    n = len(body)
    brace = 0
    while i < n:
        c = body[i]
        if c == "\\" and i + 1 < n:
            if current is not None:
                current.append(body[i + 1])
            else:
                chars.append((body[i + 1], True))
            i += 2
            continue
        if current is None and brace:
            brace += {"{": 1, "}": -1}.get(c, 0)
            chars.append((c, False))
            i += 1
            continue
        if c == "#":
            if current is not None:
                tags.append("".join(current).strip())
            current = []
            i += 1
            continue
        if current is not None:
            current.append(c)
            i += 1
            continue
        if c == "{":
            brace = 1
            chars.append((c, False))
            i += 1
            continue
        if body.startswith("->", i) or body.startswith("<-", i):
            match = _DIVERT_TARGET.match(body, i + 2)
            i = match.end() if match else i + 2
            continue
        if body.startswith("<>", i):
            i += 2
            if chars and chars[-1][0].isspace():
                while i < n and body[i].isspace():
                    i += 1
            continue
        chars.append((c, False))
        i += 1
    if current is not None:
        tags.append("".join(current).strip())
    return chars, [tag for tag in tags if tag]


def _split_character(chars: list[tuple[str, bool]]) -> tuple[str, str]:
    for index, (c, escaped) in enumerate(chars):
        if c == ":" and not escaped:
            name = "".join(ch for ch, _ in chars[:index]).strip()
            if name and len(name.split()) <= 4 and ("{", False) not in chars[:index]:
                return name, "".join(ch for ch, _ in chars[index + 1 :]).strip()
            break
    return "", "".join(ch for ch, _ in chars).strip()


def _tag_value(tag: str) -> tuple[str, str] | None:
    key, sep, value = tag.partition(":")
    if not sep:
        return None
    return key.strip().lower(), value.strip()


def _read(text: str) -> tuple[list[_Spoken], list[ParsedScene]]:
    raw_rows = split_text_lines(text)
    rows = _strip_comments(raw_rows)
    spoken: list[_Spoken] = []
    scenes: dict[str, ParsedScene] = {}
    scene = ""
    knot_start = False  # only tag lines seen since the knot header
    for number, row in enumerate(rows, start=1):
        stripped = row.strip()
        if not stripped:
            continue
        if stripped.startswith("=="):
            match = _KNOT.match(stripped)
            if match is None:
                raise ScriptFormatError(number, "a knot header needs a name: '=== name ==='")
            scene = match.group(1)
            knot_start = True
            continue
        if stripped.startswith("=") and not stripped.startswith("=>"):
            if _STITCH.match(stripped) is None:
                raise ScriptFormatError(number, "a stitch header needs a name: '= name'")
            knot_start = False
            continue
        if _SKIP.match(stripped):
            continue
        if stripped.startswith("#"):
            _, tags = _scan(stripped)
            for tag in tags:
                pair = _tag_value(tag)
                if knot_start and pair is not None and pair[0] == "scene":
                    scene = pair[1]
                elif knot_start and pair is not None and pair[0] == "description" and scene:
                    scenes[scene] = ParsedScene(scene, unescape_value(pair[1]))
            continue
        knot_start = False
        indent = len(row) - len(row.lstrip())
        content = row[indent:]
        choice = False
        marker = re.match(r"^(?:[*+]\s*)+", content)
        if marker:
            choice = True
        else:
            marker = re.match(r"^(?:-(?!>)\s*)+", content)
        if marker:
            content = content[marker.end() :]
            label = re.match(r"^\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*", content)
            if label:
                content = content[label.end() :]
            while choice and content.startswith("{"):
                close = content.find("}")
                if close < 0:
                    raise ScriptFormatError(number, "a choice condition '{' is never closed with '}'")
                content = content[close + 1 :].lstrip()
        if choice:
            content = _choice_text(content)
        chars, tags = _scan(content)
        character, said = _split_character(chars)
        notes: list[str] = []
        line_id = ""
        for tag in tags:
            pair = _tag_value(tag)
            if pair is not None and pair[0] == "id":
                if line_id:
                    raise ScriptFormatError(number, "this line has two #id: tags")
                line_id = pair[1]
                if not line_id:
                    raise ScriptFormatError(number, "the #id: tag has no id after it")
            elif pair is not None and pair[0] in _SPEAKER_TAGS and pair[1]:
                if character:  # a "Name:" prefix when the tag names the speaker is part of the text
                    said = f"{character}: {said}"
                character = pair[1]
            else:
                notes.append("#" + tag)
        if not said:
            if line_id:
                raise ScriptFormatError(number, f"the line tagged #id:{line_id} has no text to say")
            continue
        draft = LineDraft(number, character or NARRATOR)
        draft.parts.append(said)
        draft.scene = scene
        draft.id = line_id
        draft.id_line_number = number
        if notes:
            draft.notes.append(" ".join(notes))
        if scene and scene not in scenes:
            scenes[scene] = ParsedScene(scene)
        original = raw_rows[number - 1]
        kept = row.rstrip()
        spoken.append(_Spoken(draft, len(kept) if original.startswith(kept) else len(original.rstrip())))
    return spoken, list(scenes.values())


def parse(text: str) -> ParsedScript:
    spoken, scenes = _read(text)
    return ParsedScript.from_lines(finish_lines([s.draft for s in spoken]), scenes)


def add_id_tags(text: str) -> tuple[str, int]:
    """``text`` with ``#id:ID`` added to every line that has none (the ids :func:`parse` gives
    them), everything else untouched; returns (new text, lines tagged)."""
    spoken, _ = _read(text)
    lines = finish_lines([s.draft for s in spoken])
    rows = split_text_lines(text)
    newline = "\r\n" if "\r\n" in text else "\n"
    added = 0
    for item, line in zip(spoken, lines, strict=True):
        if item.draft.id:
            continue
        row = rows[item.draft.line_number - 1]
        rows[item.draft.line_number - 1] = f"{row[: item.tag_at].rstrip()} #id:{line.id}{row[item.tag_at :]}"
        added += 1
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    return bom + newline.join(rows), added


# ---- writing ------------------------------------------------------------------------------------

_ESCAPE = re.compile(r"([\\#{}<>])")


def escape_text(text: str) -> str:
    """Text as the reader gives it back: backslash before ``\\ # { } < >``, ``//``, ``/*`` and ``->``."""
    escaped = _ESCAPE.sub(r"\\\1", one_line(text))
    return escaped.replace("//", "/\\/").replace("/*", "/\\*").replace("->", "-\\>")


def _name(character: str) -> str:
    name = escape_text(character).replace(":", "\\:")
    return "\\" + name if name[0] in "*+-=~(" or _SKIP.match(name) else name


def _line(line: ParsedLine) -> str:
    tags = f" #id:{_tag_safe(line.id)}{_hashtags(line.notes)}"
    character = one_line(line.character)
    if len(character.split()) <= 4 and character == line.character.strip():
        return f"{_name(line.character)}: {escape_text(line.text)}{tags}"
    # a long name goes in a speaker tag; the text's colons are escaped so none reads as a name
    text = escape_text(line.text).replace(":", "\\:")
    if text[0] in "*+-=~(" or _SKIP.match(text):
        text = "\\" + text
    return f"{text} #speaker:{escape_text(character)}{tags}"


def _tag_safe(value: str) -> str:
    return re.sub(r"[\s#]+", "_", value)


def _knot_name(scene: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]+", "_", scene).strip("_") or "scene"
    if not (base[0].isalpha() or base[0] == "_"):
        base = "_" + base
    if base in ("function", "DONE", "END"):
        base = "_" + base
    name, n = base, 2
    while name.casefold() in used:
        name = f"{base}_{n}"
        n += 1
    used.add(name.casefold())
    return name


def _hashtags(notes: str) -> str:
    tokens = notes.split()
    if tokens and all(t.startswith("#") and len(t) > 1 and ":" not in t for t in tokens):
        return " " + " ".join("#" + _tag_safe(t[1:]) for t in tokens)
    return ""


def dump(script: ParsedScript) -> str:
    descriptions = {scene.title: scene.description for scene in script.scenes}
    runs: list[tuple[str, list[ParsedLine]]] = []
    for line in script.lines:
        if runs and runs[-1][0] == line.scene:
            runs[-1][1].append(line)
        else:
            runs.append((line.scene, [line]))
    with_lines = {scene for scene, _ in runs}
    for known in script.scenes:
        if known.title not in with_lines:
            runs.append((known.title, []))
    used: set[str] = set()
    # the first run is top-level content when it has no scene; every other run is a knot
    names = [
        "" if index == 0 and not scene else _knot_name(scene, used) for index, (scene, _) in enumerate(runs)
    ]
    described: set[str] = set()
    out: list[str] = []
    for _index, ((scene, lines), name) in enumerate(zip(runs, names, strict=True)):
        if name:
            out.append(f"=== {name} ===")
            if name != scene:
                out.append(f"# scene: {escape_text(scene)}")
            description = descriptions.get(scene, "")
            if description and scene not in described:
                out.append(f"# description: {escape_text(escape_value(description))}")
                described.add(scene)
        out.extend(_line(line) for line in lines)
        out.append(f"-> {names[1]}" if not name and len(names) > 1 else "-> DONE")
        out.append("")
    return "\n".join(out)
