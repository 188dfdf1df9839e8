"""What every script format reads into and writes from, plus the pieces the formats share.

* :class:`ParsedLine`, :class:`ParsedScene`, :class:`ParsedScript` — a script independent of how a
  Project stores it. ``ParsedLine.scene`` is the scene *title* ("" = no scene).
* :class:`ScriptFormatError` — malformed input, with the 1-based physical line number it starts on.
* Line ids: a line without an id in its file gets a *natural id* made from its character, its text
  and how many identical (character, text) lines came before it. Re-importing the same file — or
  the file with other lines added, removed or reordered — gives an unchanged line the same id.
  Writers leave out ids that equal the natural id, so exports stay clean.

Thread contract: pure functions and immutable records; safe from any thread.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ParsedLine:
    id: str
    character: str
    text: str
    direction: str = ""
    scene: str = ""  # scene title; "" = none
    notes: str = ""
    # Text in other languages: (ISO 639-1 code, text), sorted by code (CSV/xlsx ``text:fr`` columns).
    translations: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedScene:
    title: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class ParsedScript:
    lines: tuple[ParsedLine, ...]
    scenes: tuple[ParsedScene, ...] = ()
    characters: tuple[str, ...] = ()

    @classmethod
    def from_lines(
        cls,
        lines: Iterable[ParsedLine],
        scenes: Iterable[ParsedScene] = (),
        characters: Iterable[str] = (),
    ) -> ParsedScript:
        """A script whose ``characters`` and ``scenes`` also hold every name and title its lines use.

        Given characters and scenes come first, in the given order; the others follow in order of
        first use. Scenes added this way have no description.
        """
        lines = tuple(lines)
        names = dict.fromkeys(characters)
        names.update(dict.fromkeys(line.character for line in lines))
        by_title = {scene.title: scene for scene in scenes}
        for line in lines:
            if line.scene and line.scene not in by_title:
                by_title[line.scene] = ParsedScene(line.scene)
        return cls(lines, tuple(by_title.values()), tuple(names))


class ScriptFormatError(ValueError):
    """Malformed script input. ``line_number`` is the 1-based physical line the problem starts on.

    ``str(error)`` reads ``"script.csv, line 4: the text is empty"`` (``source`` is the file name,
    "" when parsing text that did not come from a file).
    """

    def __init__(self, line_number: int, problem: str, source: str = "") -> None:
        self.line_number = line_number
        self.problem = problem
        self.source = source
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = f"line {self.line_number}"
        return f"{self.source}, {where}: {self.problem}" if self.source else f"{where}: {self.problem}"

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[type[ScriptFormatError], tuple[int, str, str]]:
        return (type(self), (self.line_number, self.problem, self.source))

    def with_source(self, source: str) -> ScriptFormatError:
        return ScriptFormatError(self.line_number, self.problem, source)


@dataclass
class LineDraft:
    """A line while a parser is still reading it (text may arrive in pieces)."""

    line_number: int
    character: str
    parts: list[str] = field(default_factory=list)
    direction: str = ""
    scene: str = ""
    notes: list[str] = field(default_factory=list)
    id: str = ""
    id_line_number: int = 0  # where the explicit id was given (for duplicate-id errors)
    translations: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        if len(self.parts) == 1:
            return self.parts[0].strip()
        return "\n".join(part for part in self.parts if part).strip()


def natural_ids(pairs: Iterable[tuple[str, str]], wanted: Sequence[bool] | None = None) -> list[str]:
    """The natural id of each (character, text) in order: ``line_`` + 10 hex digits of a hash.

    The n-th repeat of the same (character, text) hashes n in too, so repeats get distinct ids.
    With ``wanted``, only those positions are hashed (the others give ""), but every pair still
    counts as a repeat.
    """
    seen: dict[tuple[str, str], int] = {}
    ids: list[str] = []
    blake2b = hashlib.blake2b
    for index, pair in enumerate(pairs):
        repeat = seen.get(pair, 0)
        seen[pair] = repeat + 1
        if wanted is not None and not wanted[index]:
            ids.append("")
            continue
        key = f"{pair[0]}\x1f{pair[1]}\x1f{repeat}".encode("utf-8", "surrogatepass")
        ids.append("line_" + blake2b(key, digest_size=5).hexdigest())
    return ids


def finish_lines(drafts: Sequence[LineDraft], what: str = "line") -> list[ParsedLine]:
    """Turn drafts into lines: check each has text, check explicit ids, give the others natural ids.

    Names that differ only in capitals are one character, spelt as first seen ("Bob", then "BOB").
    Raises :class:`ScriptFormatError` for a line with no text or an id used twice.
    """
    taken: dict[str, int] = {}
    texts: list[str] = []
    spelling: dict[str, str] = {}  # one character, however its name is capitalised
    for draft in drafts:
        draft.character = spelling.setdefault(draft.character.casefold(), draft.character)
        text = draft.text
        if not text:
            raise ScriptFormatError(draft.line_number, f"{draft.character} has no text to say in this {what}")
        texts.append(text)
        if draft.id:
            first = taken.get(draft.id)
            if first is not None:
                raise ScriptFormatError(
                    draft.id_line_number or draft.line_number,
                    f"the line id {draft.id!r} is already used by the {what} at line {first}; "
                    "line ids must be unique",
                )
            taken[draft.id] = draft.line_number
    wanted = [not d.id for d in drafts]
    naturals = (
        natural_ids([(d.character, t) for d, t in zip(drafts, texts, strict=True)], wanted)
        if any(wanted)
        else [""] * len(drafts)  # every line has its id: nothing to hash
    )
    lines: list[ParsedLine] = []
    for draft, text, natural in zip(drafts, texts, naturals, strict=True):
        line_id = draft.id
        if not line_id:
            line_id, repeat = natural, 2
            while line_id in taken:
                line_id = f"{natural}-{repeat}"
                repeat += 1
            taken[line_id] = draft.line_number
        notes = "\n".join(n for n in draft.notes if n).strip() if draft.notes else ""
        translations = tuple(sorted((code, value) for code, value in draft.translations.items() if value))
        lines.append(ParsedLine(line_id, draft.character, text, draft.direction, draft.scene, notes, translations))
    return lines


ReadBack = Callable[[ParsedLine], tuple[str, str]]


def ids_to_write(lines: Sequence[ParsedLine], read_back: ReadBack | None = None) -> list[str]:
    """For writers: each line's id, or "" where reading the output back without an id gives the
    same id. ``read_back(line)`` is the (character, text) the format's reader will see for the line
    (a writer may have to change a name or join text rows); default: unchanged."""
    spelling: dict[str, str] = {}  # as finish_lines: one character however it is capitalised
    pairs = []
    for line in lines:
        character, text = read_back(line) if read_back else (line.character, line.text)
        pairs.append((spelling.setdefault(character.casefold(), character), text))
    naturals = natural_ids(pairs)
    return ["" if line.id == natural else line.id for line, natural in zip(lines, naturals, strict=True)]


def split_text_lines(text: str) -> list[str]:
    """A whole file's text as physical lines: BOM dropped, CRLF and CR read as LF."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def one_line(value: str) -> str:
    """``value`` on one line (for writers of single-line fields): line breaks become spaces."""
    parts = value.replace("\r", "\n").split("\n")  # the breaks readers split on, no others
    return " ".join(part.strip() for part in parts if part.strip())


def text_rows(text: str, misread: Callable[[str], bool]) -> list[str]:
    """For writers: ``text`` as physical rows (blank rows dropped). A second or later row that the
    format's reader would take for something else (``misread``) is joined to the row above with a
    space instead: the words survive, only that line break is lost."""
    rows: list[str] = []
    for part in text.replace("\r", "\n").split("\n"):
        part = part.strip()
        if not part:
            continue
        if rows and misread(part):
            rows[-1] = f"{rows[-1]} {part}"
        else:
            rows.append(part)
    return rows or [""]


# ---- "# key: value" comments of the Higgs and screenplay text formats -------------------------

_ESCAPE = re.compile(r"\\(.)")


_UNESCAPED = {"n": "\n", "r": "\r"}


def escape_value(value: str) -> str:
    """A comment value on one line: backslash → ``\\\\``, LF → ``\\n``, CR → ``\\r``."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def unescape_value(value: str) -> str:
    return _ESCAPE.sub(lambda m: _UNESCAPED.get(m.group(1), m.group(1)), value)


_META = re.compile(r"^(?P<key>[A-Za-z][A-Za-z _-]*?)\s*:\s*(?P<value>.*)$")


def comment_meta(comment: str, keys: frozenset[str]) -> tuple[str, str] | None:
    """``"id: L1"`` → ("id", "L1") when the key is one of ``keys`` (case-insensitive), else None."""
    match = _META.match(comment)
    if match is None:
        return None
    key = match.group("key").strip().lower()
    if key not in keys:
        return None
    return key, unescape_value(match.group("value").strip()).strip()


# ---- parentheticals ---------------------------------------------------------------------------


def leading_parenthetical(text: str) -> tuple[str, str] | None:
    """``"(whispering) Hello"`` → ("whispering", "Hello"); None when ``text`` does not open with one.

    Parentheses nest: ``"(a (b) c) d"`` → ("a (b) c", "d"). An unclosed "(" is not a parenthetical.
    """
    if not text.startswith("("):
        return None
    depth = 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return text[1:index].strip(), text[index + 1 :].strip()
    return None


# ---- for writers ------------------------------------------------------------------------------

WriteItem = tuple[ParsedScene, bool] | tuple[ParsedLine, str]


def writing_order(script: ParsedScript, read_back: ReadBack | None = None) -> list[WriteItem]:
    """What a sequential text format writes, in order: (scene, first time it is written) at each
    scene change and (line, id to write or "") for each line — see :func:`ids_to_write`.

    Scenes without lines are placed where they stand in ``script.scenes`` relative to the scenes
    that have lines, so reading the output back gives ``script.scenes`` in the same order.
    """
    by_title = {scene.title: scene for scene in script.scenes}
    position = {title: index for index, title in enumerate(by_title)}
    used = {line.scene for line in script.lines if line.scene}
    written: set[str] = set()
    items: list[WriteItem] = []

    def empty_scenes_before(limit: int) -> None:
        for title, scene in by_title.items():
            if position[title] >= limit:
                break
            if title not in used and title not in written:
                items.append((scene, True))
                written.add(title)

    current = ""
    for line, line_id in zip(script.lines, ids_to_write(script.lines, read_back), strict=True):
        if line.scene and line.scene != current:
            current = line.scene
            empty_scenes_before(position.get(current, len(position)))
            items.append((by_title.get(current, ParsedScene(current)), current not in written))
            written.add(current)
        items.append((line, line_id))
    empty_scenes_before(len(position))
    return items


def all_characters(script: ParsedScript) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*script.characters, *(line.character for line in script.lines)]))
