"""Yarn Spinner ``.yarn`` scripts: nodes of dialogue as game writers keep them.

Reading:

* A file is a series of nodes. A node is header lines ``key: value`` (``title:`` is required and
  unique in the file), a ``---`` line, the body, and a ``===`` line. Lines before the first header
  that start with ``#`` (file tags) and ``//`` comments are skipped anywhere.
* Each node is a scene: its title, or the value of a ``scene:`` header when the node has one (an
  empty ``scene:`` = no scene). A ``description:`` header is the scene's description.
* In a body, ``<<commands>>`` lines are skipped; ``->`` options and ``=>`` line-group items are read
  as lines (their indentation is ignored); every other non-blank line is a line of dialogue.
* A line is ``Character: text`` (the character is everything before the first colon that is not
  escaped with ``\\``); a line without one is said by ``Narrator``. Trailing hashtags are read off:
  ``#line:ID`` gives the line its id, other hashtags are kept in its notes (``#lastline #tense``).
  A trailing ``<<if …>>`` condition and a ``//`` comment are dropped. ``\\`` escapes the next
  character (``\\#``, ``\\<``, ``\\{``, ``\\:``, ``\\/``, ``\\\\``); ``{$inline}`` expressions and ``[markup]``
  are kept as written.
* A line without ``#line:`` gets the natural id (:mod:`studio.core.formats.records`);
  :func:`add_line_tags` writes those ids back into the file, leaving everything else as it was.

Writing: one node per run of lines in one scene (title made a Yarn identifier, with a ``scene:``
header when that changed it; a scene met again gets a new node ``Title_2``), ``Character: text
#line:ID`` per line with ``\\`` escapes where the reader would misread. Round trip: id, character,
text, scene, scene description and hashtag notes survive; directions, other notes and line breaks
inside a text do not (a text is one line; breaks become spaces).

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
    escape_value,
    finish_lines,
    one_line,
    split_text_lines,
    unescape_value,
)

NARRATOR = "Narrator"
_HEADER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*:\s?(.*)$")
_TITLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LINE_TAG = "line:"


@dataclass
class _Node:
    title: str
    line_number: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Spoken:
    """One dialogue line found in the body, with where its tags end (for :func:`add_line_tags`)."""

    draft: LineDraft
    tag_at: int  # column in the physical line where a new hashtag can be inserted


def _scan(body: str) -> tuple[list[tuple[str, bool]], list[str], int]:
    """Split a line's content into (character, escaped) pairs of its text, its hashtags, and the
    column where the hashtags end (before a trailing condition or comment)."""
    chars: list[tuple[str, bool]] = []
    tags: list[str] = []
    i = 0
    n = len(body)
    brace = 0
    end_of_tags = n
    while i < n:
        c = body[i]
        if c == "\\" and i + 1 < n:
            chars.append((body[i + 1], True))
            i += 2
            continue
        if brace:
            brace += {"{": 1, "}": -1}.get(c, 0)
            chars.append((c, False))
            i += 1
            continue
        if c == "{":
            brace = 1
            chars.append((c, False))
            i += 1
            continue
        if body.startswith("//", i) and (i == 0 or body[i - 1].isspace()):
            end_of_tags = i
            break
        if body.startswith("<<", i):
            close = body.find(">>", i + 2)
            if close < 0:
                end_of_tags = i
                break
            i = close + 2
            end_of_tags = i  # Yarn writes a line's tags after its condition
            continue
        if c == "#" and (i == 0 or body[i - 1].isspace()):
            j = i + 1
            while j < n and not body[j].isspace():
                j += 1
            tags.append(body[i + 1 : j])
            i = j
            end_of_tags = j
            continue
        if tags and not c.isspace():
            # text after a hashtag: Yarn reads it as more tag text; keep it with the last tag
            j = i
            while j < n and not body[j].isspace():
                j += 1
            tags[-1] += " " + body[i:j]
            i = j
            end_of_tags = j
            continue
        chars.append((c, False))
        i += 1
    while end_of_tags > 0 and body[end_of_tags - 1].isspace():
        end_of_tags -= 1
    return chars, tags, end_of_tags


def _split_character(chars: list[tuple[str, bool]]) -> tuple[str, str]:
    for index, (c, escaped) in enumerate(chars):
        if c == ":" and not escaped:
            name = "".join(ch for ch, _ in chars[:index]).strip()
            if name and ("{", False) not in chars[:index]:
                return name, "".join(ch for ch, _ in chars[index + 1 :]).strip()
            break
    return "", "".join(ch for ch, _ in chars).strip()


def _read(text: str) -> tuple[list[_Spoken], list[ParsedScene]]:
    rows = split_text_lines(text)
    spoken: list[_Spoken] = []
    scenes: dict[str, ParsedScene] = {}
    node: _Node | None = None
    in_body = False
    titles: dict[str, int] = {}
    scene = ""
    for number, raw in enumerate(rows, start=1):
        stripped = raw.strip()
        if not in_body:
            if not stripped or stripped.startswith("//"):
                continue
            if stripped.startswith("#") and node is None:
                continue  # file tags
            if stripped == "---":
                if node is None:
                    raise ScriptFormatError(
                        number, "'---' starts a node body, but the node has no title: header"
                    )
                if not node.title:
                    raise ScriptFormatError(node.line_number, "this node has no title: header")
                first = titles.get(node.title)
                if first is not None:
                    raise ScriptFormatError(
                        node.line_number, f"the node title {node.title!r} is already used at line {first}"
                    )
                titles[node.title] = node.line_number
                scene = node.headers.get("scene", node.title).strip()
                if scene and scene not in scenes:
                    description = unescape_value(node.headers.get("description", "")).strip()
                    scenes[scene] = ParsedScene(scene, description)
                in_body = True
                continue
            if stripped == "===":
                raise ScriptFormatError(number, "'===' ends a node, but no node body was started with '---'")
            match = _HEADER.match(raw)
            if match is None:
                raise ScriptFormatError(
                    number,
                    "expected a node header such as 'title: Start' or the '---' line that starts the body",
                )
            if node is None:
                node = _Node("", number)
            key, value = match.group(1).lower(), match.group(2).strip()
            if key == "title":
                if not _TITLE.match(value):
                    raise ScriptFormatError(
                        number, f"the node title {value!r} must be letters, digits and underscores"
                    )
                node.title = value
                node.line_number = number
            node.headers[key] = value
            continue
        if stripped == "===":
            in_body = False
            node = None
            continue
        if not stripped or stripped.startswith("//"):
            continue
        if stripped.startswith("<<"):
            if ">>" not in stripped:
                raise ScriptFormatError(number, "a <<command>> is never closed with '>>'")
            continue
        indent = len(raw) - len(raw.lstrip())
        content = raw[indent:]
        offset = indent
        if content.startswith("->") or content.startswith("=>"):
            rest = content[2:]
            offset += 2 + (len(rest) - len(rest.lstrip()))
            content = rest.lstrip()
        chars, tags, tag_end = _scan(content)
        character, said = _split_character(chars)
        if not said:
            if tags or character:
                raise ScriptFormatError(number, f"{character or 'this line'} has no text to say")
            continue
        draft = LineDraft(number, character or NARRATOR)
        draft.parts.append(said)
        draft.scene = scene
        other: list[str] = []
        for tag in tags:
            if tag.startswith(_LINE_TAG):
                if draft.id:
                    raise ScriptFormatError(number, "this line has two #line: tags")
                draft.id = tag[len(_LINE_TAG) :].strip()
                draft.id_line_number = number
                if not draft.id:
                    raise ScriptFormatError(number, "the #line: tag has no id after it")
            else:
                other.append("#" + tag)
        if other:
            draft.notes.append(" ".join(other))
        spoken.append(_Spoken(draft, offset + tag_end))
    if in_body and node is not None:
        raise ScriptFormatError(node.line_number, f"the node {node.title!r} is never closed with '==='")
    if node is not None:
        raise ScriptFormatError(node.line_number, "this node has headers but no '---' body")
    return spoken, list(scenes.values())


def parse(text: str) -> ParsedScript:
    spoken, scenes = _read(text)
    lines = finish_lines([s.draft for s in spoken])
    return ParsedScript.from_lines(lines, scenes)


def add_line_tags(text: str) -> tuple[str, int]:
    """``text`` with ``#line:ID`` added to every dialogue line that has none (the ids :func:`parse`
    gives them), everything else untouched; returns (new text, lines tagged)."""
    spoken, _ = _read(text)
    lines = finish_lines([s.draft for s in spoken])
    rows = split_text_lines(text)
    newline = "\r\n" if "\r\n" in text else "\n"
    added = 0
    for item, line in zip(spoken, lines, strict=True):
        if item.draft.id:
            continue
        row = rows[item.draft.line_number - 1]
        at = item.tag_at
        rows[item.draft.line_number - 1] = f"{row[:at].rstrip()} #{_LINE_TAG}{line.id}{row[at:]}"
        added += 1
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    return bom + newline.join(rows), added


# ---- writing ------------------------------------------------------------------------------------

_ESCAPE_ALWAYS = re.compile(r"([\\#{}<>])")
_ESCAPE_KEEP_BRACES = re.compile(r"([\\#<>])")


def _balanced(text: str) -> bool:
    depth = 0
    for c in text:
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


def escape_text(text: str) -> str:
    """Text as Yarn reads it back: backslash before ``\\ # < >``, before ``//``, and before braces
    unless they pair up as ``{$inline}`` expressions (which the reader keeps as written)."""
    text = one_line(text)
    pattern = _ESCAPE_KEEP_BRACES if _balanced(text) else _ESCAPE_ALWAYS
    escaped = pattern.sub(r"\\\1", text)
    return escaped.replace("//", "/\\/")


def _name(character: str) -> str:
    name = _ESCAPE_ALWAYS.sub(r"\\\1", one_line(character)).replace("//", "/\\/").replace(":", "\\:")
    return "\\" + name if name[0] in "-=" else name


def _tag_safe(value: str) -> str:
    return re.sub(r"[\s#]+", "_", value)


def _node_title(scene: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]+", "_", scene).strip("_") or "Start"
    if not (base[0].isalpha() or base[0] == "_"):
        base = "_" + base
    title, n = base, 2
    while title.casefold() in used:
        title = f"{base}_{n}"
        n += 1
    used.add(title.casefold())
    return title


def _hashtags(notes: str) -> str:
    tokens = notes.split()
    if tokens and all(t.startswith("#") and len(t) > 1 and not t.startswith(f"#{_LINE_TAG}") for t in tokens):
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
    for known in script.scenes:  # scenes without lines still become (empty) nodes
        if known.title not in with_lines:
            runs.append((known.title, []))
    used: set[str] = set()
    described: set[str] = set()
    out: list[str] = []
    for scene, lines in runs:
        title = _node_title(scene, used)
        out.append(f"title: {title}")
        if title != scene:
            out.append(f"scene: {one_line(scene)}")
        description = descriptions.get(scene, "")
        if description and scene not in described:
            out.append("description: " + escape_value(description))
            described.add(scene)
        out.append("---")
        for line in lines:
            out.append(
                f"{_name(line.character)}: {escape_text(line.text)} #{_LINE_TAG}{_tag_safe(line.id)}{_hashtags(line.notes)}"
            )
        out.append("===")
        out.append("")
    return "\n".join(out)
