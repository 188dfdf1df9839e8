"""Script import and export: Higgs tagged text, screenplay text, Fountain and CSV, and the project glue.

Formats (each module's docstring gives its exact rules and what survives a round trip):

* ``"higgs"`` — :mod:`studio.core.formats.higgs_text`: ``[SPEAKER0] text`` turns as the Higgs
  Audio reference repository writes them, plus ``#`` comments that keep names, ids, scenes.
* ``"screenplay"`` — :mod:`studio.core.formats.screenplay_text`: ``NAME: (direction) text``,
  ``== Scene ==`` headings, two blank lines start a new scene.
* ``"fountain"`` — :mod:`studio.core.formats.fountain`: a Fountain subset (headings, cues,
  parentheticals, dialogue; title page, boneyard and notes handled; ids as ``[[id: X]]``).
* ``"csv"`` — :mod:`studio.core.formats.csv_table`: ``id, character, text[, direction, scene,
  notes]`` for game voice-over.

Every reader gives each line a unique id: the id from the file where it has one, else a natural id
that stays the same across re-imports of the file. Malformed input raises
:class:`ScriptFormatError` naming the line number and the problem.

Project glue: :func:`script_to_ops` turns a parsed script into one undoable :class:`Batch`
(speakers, scenes and lines added, existing speakers and scenes reused by name);
:func:`project_to_script` reads a project's script back out.

Thread contract: parse/dump/detect are pure and safe from any thread; read/write touch only the
given file; the project functions read the project, so call them on the thread that owns it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.core.files import atomic_write
from studio.core.formats import csv_table, fountain, higgs_text, ink, screenplay_text, xlsx_table, yarn
from studio.core.formats.records import (
    ParsedLine,
    ParsedScene,
    ParsedScript,
    ScriptFormatError,
    all_characters,
    natural_ids,
)
from studio.core.model import (
    SPEAKER_COLOURS,
    LineKind,
    LineStage,
    LineStatus,
    Scene,
    ScriptLine,
    Speaker,
    Voice,
    VoiceKind,
    new_id,
)
from studio.core.ops import Batch, Insert, SetSettings, Update
from studio.core.project import Project

__all__ = [
    "ALL_FORMATS",
    "FORMATS",
    "GAME_FORMATS",
    "MergeReport",
    "ParsedLine",
    "ParsedScene",
    "ParsedScript",
    "ScriptFormatError",
    "detect_format",
    "dump",
    "merge_script",
    "parse",
    "project_to_script",
    "read_script",
    "script_to_ops",
    "write_ids",
    "write_script",
]

FORMATS: tuple[str, ...] = ("higgs", "screenplay", "fountain", "csv")
# Game writers' formats: Yarn Spinner and Ink (text), spreadsheets (binary: read_script/write_script only).
GAME_FORMATS: tuple[str, ...] = ("yarn", "ink", "xlsx")
ALL_FORMATS: tuple[str, ...] = FORMATS + GAME_FORMATS
# Formats whose files carry line ids as tags that write_ids can add to the writer's own file.
TAGGED_FORMATS: tuple[str, ...] = ("yarn", "ink")

_PARSERS: dict[str, Callable[[str], ParsedScript]] = {
    "higgs": higgs_text.parse,
    "screenplay": screenplay_text.parse,
    "fountain": fountain.parse,
    "csv": csv_table.parse,
    "yarn": yarn.parse,
    "ink": ink.parse,
}
_WRITERS: dict[str, Callable[[ParsedScript], str]] = {
    "higgs": higgs_text.dump,
    "screenplay": screenplay_text.dump,
    "fountain": fountain.dump,
    "csv": csv_table.dump,
    "yarn": yarn.dump,
    "ink": ink.dump,
}
_EXTENSIONS = {
    ".csv": "csv",
    ".fountain": "fountain",
    ".spmd": "fountain",
    ".yarn": "yarn",
    ".ink": "ink",
    ".xlsx": "xlsx",
}
_CSV_HEADER = re.compile(r"^\W*id\W.*\bcharacter\b.*\btext\b", re.IGNORECASE)


def _check_format(fmt: str) -> str:
    if fmt not in _PARSERS:
        if fmt == "xlsx":
            raise ValueError("xlsx is a binary format: use read_script/write_script with a file")
        raise ValueError(f"unknown script format {fmt!r}; use one of {', '.join(ALL_FORMATS)}")
    return fmt


def detect_format(path_or_name: str | os.PathLike[str], text: str = "") -> str:
    """The format of a script file: by extension (``.csv``, ``.fountain``), else by its text.

    For ``.txt`` and other names the text is sniffed: lines starting with ``[SPEAKERn]`` → "higgs";
    ``NAME: text`` lines → "screenplay"; a CSV header with id/character/text → "csv"; Fountain
    headings or a title page → "fountain". With nothing to go on: "screenplay".
    """
    suffix = Path(os.fspath(path_or_name)).suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    rows = [row.strip() for row in text.lstrip("\ufeff").splitlines()[:500]]
    rows = [row for row in rows if row]
    if rows and _CSV_HEADER.match(rows[0]) and ("," in rows[0] or ";" in rows[0] or "\t" in rows[0]):
        return "csv"
    tags = sum(1 for row in rows if higgs_text.TAG.match(row))
    cues = sum(1 for row in rows if screenplay_text.CUE.match(row))
    headings = sum(1 for row in rows if fountain.HEADING.match(row))
    if tags and tags >= cues:
        return "higgs"
    if rows and fountain.TITLE_KEY.match(rows[0]) or (headings and headings >= cues):
        return "fountain"
    if cues:
        return "screenplay"
    return "screenplay"


def parse(text: str, fmt: str) -> ParsedScript:
    """Read a script from ``text`` in format ``fmt`` (one of :data:`FORMATS`).

    Raises :class:`ScriptFormatError` for malformed input, ``ValueError`` for an unknown format.
    """
    return _PARSERS[_check_format(fmt)](text)


def dump(script: ParsedScript, fmt: str) -> str:
    """Write ``script`` as text in format ``fmt``; ``parse(dump(s, f), f) == s`` for what ``f`` can hold."""
    return _WRITERS[_check_format(fmt)](script)


def read_script(path: str | os.PathLike[str], fmt: str | None = None) -> ParsedScript:
    """Read a script file (UTF-8, with or without BOM); ``fmt`` None = :func:`detect_format`.

    Errors name the file: ``ScriptFormatError("lines.csv, line 4: the text for Bob is empty")``.
    ``OSError`` when the file cannot be read.
    """
    path = Path(path)
    data = path.read_bytes()
    if (fmt or detect_format(path)) == "xlsx":
        try:
            return xlsx_table.parse_bytes(data)
        except ScriptFormatError as exc:
            raise exc.with_source(path.name) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_number = data.count(b"\n", 0, exc.start) + 1
        raise ScriptFormatError(
            line_number,
            f"this is not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8 and import it again",
            path.name,
        ) from None
    try:
        return parse(text, fmt or detect_format(path, text))
    except ScriptFormatError as exc:
        raise exc.with_source(path.name) from None


def write_script(path: str | os.PathLike[str], script: ParsedScript, fmt: str | None = None) -> None:
    """Write ``script`` to ``path`` atomically (temporary file, then rename). UTF-8; CSV gets a BOM so
    spreadsheet programs read it as UTF-8. ``fmt`` None = by extension (``.txt`` → "screenplay")."""
    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt == "xlsx":
        data = xlsx_table.dump_bytes(script)
    else:
        data = dump(script, fmt).encode("utf-8-sig" if fmt == "csv" else "utf-8")
    atomic_write(path, data)


def write_ids(path: str | os.PathLike[str], fmt: str | None = None) -> int:
    """Add the line ids an import gives to a Yarn (``#line:``) or Ink (``#id:``) file's untagged
    lines, in the file itself (atomically), leaving everything else as written. Returns how many
    lines were tagged; 0 leaves the file untouched."""
    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt not in TAGGED_FORMATS:
        raise ValueError(f"only {' and '.join(TAGGED_FORMATS)} files carry line id tags, not {fmt}")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScriptFormatError(1, "this is not UTF-8 text", path.name) from None
    try:
        tagged, added = (yarn.add_line_tags if fmt == "yarn" else ink.add_id_tags)(text)
    except ScriptFormatError as exc:
        raise exc.with_source(path.name) from None
    if added:
        atomic_write(path, tagged.encode("utf-8"))
    return added


# ---- project glue -------------------------------------------------------------------------------


def _key(name: str) -> str:
    return name.strip().casefold()


def _cast_ops(project: Project, script: ParsedScript) -> tuple[list[Any], dict[str, str], dict[str, str]]:
    """Speakers and scenes ``script`` needs that ``project`` lacks: (ops, speaker id by name key,
    scene id by title key) — see :func:`script_to_ops` for how they are reused and coloured."""
    ops: list[Any] = []
    speaker_ids: dict[str, str] = {}
    for speaker in project.speakers.values():
        speaker_ids.setdefault(_key(speaker.name), speaker.id)
    used_colours = {speaker.colour for speaker in project.speakers.values()}
    free_colours = [colour for colour in SPEAKER_COLOURS if colour not in used_colours]
    used_variants = {s.voice.variant for s in project.speakers.values() if s.voice.kind == VoiceKind.PIPER}
    next_variant = 0
    added = 0
    for name in all_characters(script):
        if _key(name) in speaker_ids:
            continue
        if free_colours:
            colour = free_colours.pop(0)
        else:
            colour = SPEAKER_COLOURS[(len(project.speakers) + added) % len(SPEAKER_COLOURS)]
        while next_variant in used_variants:
            next_variant += 1
        used_variants.add(next_variant)
        speaker = Speaker(new_id("speaker"), name, colour, Voice(variant=next_variant))
        speaker_ids[_key(name)] = speaker.id
        ops.append(Insert(speaker, None, "Add speaker"))
        added += 1

    scene_ids: dict[str, str] = {}
    for existing in project.scenes.values():
        scene_ids.setdefault(_key(existing.title), existing.id)
    titles = [scene.title for scene in script.scenes] + [line.scene for line in script.lines if line.scene]
    descriptions = {scene.title: scene.description for scene in script.scenes}
    for title in titles:
        if _key(title) in scene_ids:
            continue
        scene = Scene(new_id("scene"), title, descriptions.get(title, ""))
        scene_ids[_key(title)] = scene.id
        ops.append(Insert(scene, None, "Add scene"))

    return ops, speaker_ids, scene_ids


LINE_ID_STEP = 10  # generated ids leave room to insert lines between: L010, L020 …


def _line_numbers(taken: set[str]) -> Iterator[str]:
    """Short sequential ids (``L010``, ``L020`` …) after the highest such id the project has, for lines
    the script does not name (readable in tables and file names, unlike random ids)."""
    highest = max((int(i[1:]) for i in taken if len(i) > 1 and i[0] == "L" and i[1:].isdigit()), default=0)
    n = highest // LINE_ID_STEP * LINE_ID_STEP
    while True:
        n += LINE_ID_STEP
        candidate = f"L{n:03d}"
        if candidate not in taken:
            yield candidate


def new_line_id(taken: Any) -> str:
    """The next short sequential line id (``L010`` …) not in ``taken``."""
    return next(_line_numbers(set(taken)))


def _generated(script: ParsedScript) -> list[bool]:
    """Which lines of ``script`` have the id the parser made up (the file names none for them)."""
    made = natural_ids([(line.character, line.text) for line in script.lines])
    return [line.id == natural for line, natural in zip(script.lines, made, strict=True)]


def _content_keys(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str, int]]:
    """(character, text, n-th repeat) per line, characters compared without case: how a line the file
    names no id for is found again in the project on re-import."""
    seen: dict[tuple[str, str], int] = {}
    keys = []
    for character, text in pairs:
        pair = (character.casefold().strip(), text.strip())
        seen[pair] = seen.get(pair, 0) + 1
        keys.append((*pair, seen[pair] - 1))
    return keys


def script_to_ops(project: Project, script: ParsedScript) -> Batch:
    """One undoable edit that adds ``script`` to the end of ``project``'s script.

    Characters become Speakers — an existing speaker with the same name (ignoring case) is reused;
    new ones get the palette colours not yet in use (cycling when all are) and Piper variants not yet
    used by another Piper speaker, lowest first (0, 1, 2 … in a new project). Scenes are reused by
    title (ignoring case) or added with their description. Lines keep their ids, except an id the
    project already has: that line gets a fresh id. Nothing is changed until the Batch is applied.
    """
    ops, speaker_ids, scene_ids = _cast_ops(project, script)
    made_up_ids = _generated(script)
    taken = set(project.lines)
    numbers = _line_numbers(taken | {ln.id for ln, made in zip(script.lines, made_up_ids, strict=True) if not made})
    for line, made_up in zip(script.lines, made_up_ids, strict=True):
        # a line the file names no id for gets a short readable one (L010 …), not the parser's hash
        line_id = line.id if line.id and line.id not in taken and not made_up else next(numbers)
        taken.add(line_id)
        record = ScriptLine(
            id=line_id,
            speaker_id=speaker_ids[_key(line.character)],
            text=line.text,
            direction=line.direction,
            scene_id=scene_ids[_key(line.scene)] if line.scene else "",
            notes=line.notes,
            kind=LineKind.of_text(line.text),
            translations=line.translations,
        )
        ops.append(Insert(record, None, "Add line"))
    return Batch(tuple(ops), "Import script")


@dataclass(frozen=True)
class MergeReport:
    """What re-importing a script did: line ids added and changed, how many were unchanged, and the
    project's lines the file no longer has (kept until the user removes them)."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    unchanged: int = 0
    removed: tuple[str, ...] = ()

    def summary(self) -> str:
        text = f"{len(self.added)} added, {len(self.changed)} changed, {self.unchanged} unchanged"
        if self.removed:
            text += f"; {len(self.removed)} no longer in the file (kept): {', '.join(self.removed[:10])}"
            if len(self.removed) > 10:
                text += ", …"
        return text


# Fields whose change makes the line's takes say the wrong thing.
_AUDIBLE = ("text", "direction", "speaker_id")


def _merged_notes(old: str, new: str) -> str:
    """The file's notes, keeping the workflow's "locked by …" / "unlocked by …" stamps."""
    stamps = [row for row in old.split("\n") if row.startswith(("locked by ", "unlocked by "))]
    return "\n".join([new, *stamps]).strip() if stamps else new


def merge_script(project: Project, script: ParsedScript) -> tuple[Batch, MergeReport]:
    """One undoable edit that brings ``project`` up to date with an edited ``script``, by line id.

    A line whose id the project has is updated in place (text, direction, speaker, scene, notes,
    and the translations the file has): a changed text, direction or speaker makes it stale, and a
    rendered or approved line goes back to ready (a locked line stays locked and is not re-rendered).
    A new id is added after the line that precedes it in the file. Lines the file no longer has are
    reported in :class:`MergeReport` and kept. Never duplicates a line. Languages of the file's
    translations that the project lacks become target languages.
    """
    ops, speaker_ids, scene_ids = _cast_ops(project, script)
    order = list(project.line_order)
    position = {line_id: index for index, line_id in enumerate(order)}
    added: list[str] = []
    changed: list[str] = []
    unchanged = 0
    previous = ""
    # Lines the file names no id for are found again by content (character, text, repeat), and new
    # ones get short readable ids (L010 …) rather than the parser's hash.
    names = {speaker.id: speaker.name for speaker in project.speakers.values()}
    ordered = list(project.ordered_lines())
    by_content = dict(
        zip(_content_keys((names.get(ln.speaker_id, ""), ln.text) for ln in ordered), (ln.id for ln in ordered), strict=True)
    )
    file_keys = _content_keys((ln.character, ln.text) for ln in script.lines)
    numbers = _line_numbers(set(project.lines) | {ln.id for ln in script.lines})
    resolved: list[str] = []
    for parsed, made_up, content in zip(script.lines, _generated(script), file_keys, strict=True):
        speaker_id = speaker_ids[_key(parsed.character)]
        scene_id = scene_ids[_key(parsed.scene)] if parsed.scene else ""
        line_id = parsed.id
        if made_up and line_id not in project.lines:
            line_id = by_content.get(content) or next(numbers)
        resolved.append(line_id)
        existing = project.lines.get(line_id)
        if existing is None:
            record = ScriptLine(
                id=line_id,
                speaker_id=speaker_id,
                text=parsed.text,
                direction=parsed.direction,
                scene_id=scene_id,
                notes=parsed.notes,
                kind=LineKind.of_text(parsed.text),
                translations=parsed.translations,
            )
            at = position[previous] + 1 if previous in position else len(order)
            if at == len(order):
                order.append(line_id)
                position[line_id] = at
            else:
                order.insert(at, line_id)
                position = {known: index for index, known in enumerate(order)}
            ops.append(Insert(record, at, "Add line"))
            added.append(line_id)
        else:
            translations = dict(existing.translations)
            translations.update(dict(parsed.translations))
            wanted: dict[str, Any] = {
                "text": parsed.text,
                "direction": parsed.direction,
                "speaker_id": speaker_id,
                "scene_id": scene_id,
                "notes": _merged_notes(existing.notes, parsed.notes),
                "translations": tuple(sorted(translations.items())),
            }
            changes = {name: value for name, value in wanted.items() if getattr(existing, name) != value}
            if changes:
                if "text" in changes:
                    changes["kind"] = LineKind.of_text(parsed.text)
                if any(name in changes for name in _AUDIBLE):
                    changes["status"] = LineStatus.STALE
                    changes["status_detail"] = ""
                    if existing.stage in (LineStage.RENDERED, LineStage.APPROVED):
                        changes["stage"] = LineStage.READY
                ops.append(Update("line", line_id, tuple(changes.items()), "Update line"))
                changed.append(line_id)
            else:
                unchanged += 1
        previous = line_id
    languages = {code for parsed in script.lines for code, _ in parsed.translations}
    new_languages = sorted(languages - set(project.settings.target_languages) - {project.settings.source_language})
    if new_languages:
        targets = (*project.settings.target_languages, *new_languages)
        ops.append(SetSettings((("target_languages", targets),), "Add languages"))
    in_file = set(resolved)
    removed = tuple(line_id for line_id in project.line_order if line_id not in in_file)
    report = MergeReport(tuple(added), tuple(changed), unchanged, removed)
    return Batch(tuple(ops), "Re-import script"), report


def project_to_script(project: Project) -> ParsedScript:
    """The project's script: lines in script order, every speaker (as characters) and every scene.

    A line whose speaker or scene no longer exists shows the speaker id / no scene.
    """
    names = {speaker.id: speaker.name for speaker in project.speakers.values()}
    titles = {scene.id: scene.title for scene in project.scenes.values()}
    lines = tuple(
        ParsedLine(
            id=line.id,
            character=names.get(line.speaker_id, line.speaker_id),
            text=line.text,
            direction=line.direction,
            scene=titles.get(line.scene_id, ""),
            notes=line.notes,
            translations=line.translations,
        )
        for line in project.ordered_lines()
    )
    scenes: dict[str, ParsedScene] = {}
    for scene in project.scenes.values():
        scenes.setdefault(scene.title, ParsedScene(scene.title, scene.description))
    return ParsedScript.from_lines(lines, scenes.values(), names.values())
