"""CSV for game voice-over: one row per line, the spreadsheet a dialogue author keeps.

* The first non-empty row is the header. It must name the columns ``id``, ``character`` and
  ``text``; ``direction``, ``scene`` and ``notes`` are optional. Header names are matched without
  regard to case or surrounding spaces; other columns are ignored; a known column named twice is an
  error. ``text:fr``, ``text:de`` … columns hold the line's text in other languages (ISO 639-1
  codes; an empty cell = not translated yet).
* RFC 4180 quoting: fields may be quoted with ``"``, hold commas, line breaks and doubled quotes
  ``""``. Spaces after a delimiter are skipped. The delimiter is ``,``, or ``;`` / tab when the
  header row has no comma (spreadsheets in some locales). UTF-8 with or without a BOM; CRLF or LF.
* Every row must have as many fields as the header. Rows whose fields are all empty are skipped.
* A direction wholly in parentheses, ``(softly)``, is read without them: ``softly``.
* ``character`` and ``text`` must not be empty. An ``id`` is kept as given (spaces around it
  dropped) and must be unique; an empty ``id`` gets the natural id (:mod:`studio.core.formats.records`):
  stable across re-imports of the file, even when other rows are added, removed or reordered.
* Errors name the physical line of the file where the row starts (a row with a quoted line break
  spans several physical lines).

Written with all six columns, CRLF row ends, minimal quoting. Round trip: every field is kept
(values are read with surrounding spaces removed); scene descriptions and scenes without lines are
not part of CSV.

Thread contract: pure functions; safe from any thread.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator

from studio.core.formats.records import (
    LineDraft,
    ParsedScript,
    ScriptFormatError,
    finish_lines,
    leading_parenthetical,
    split_text_lines,
)

COLUMNS = ("id", "character", "text", "direction", "scene", "notes")
REQUIRED = ("id", "character", "text")
TRANSLATION_COLUMN = re.compile(r"^text\s*[:@]\s*([a-z]{2,3}(?:[-_][a-z0-9]{2,8})?)$", re.IGNORECASE)


def _delimiter(header_line: str) -> str:
    if "," in header_line:
        return ","
    for candidate in (";", "\t"):
        if candidate in header_line:
            return candidate
    return ","


def _csv_error(number: int, exc: csv.Error) -> ScriptFormatError:
    reason = str(exc)
    if "unexpected end of data" in reason or "EOF" in reason:
        problem = "a quoted field is never closed (unbalanced quotes); close it with a double quote"
    elif "expected after" in reason:
        problem = 'text follows a closing quote; inside a quoted field write a double quote as two ("")'
    elif "NUL" in reason:
        problem = "the row holds a NUL character; is this a text file?"
    else:
        problem = f"the row cannot be read as CSV ({reason})"
    return ScriptFormatError(number, problem)


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(physical line where the row starts, fields) for each row of a CSV text."""
    physical = split_text_lines(text)
    first = next((row for row in physical if row.strip()), "")
    stream = io.StringIO("\n".join(physical), newline="")
    reader = csv.reader(stream, delimiter=_delimiter(first), strict=True, skipinitialspace=True)
    ended_at = 0  # physical lines read so far
    while True:
        start = ended_at + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _csv_error(start, exc) from None
        ended_at = reader.line_num
        yield start, row


def parse(text: str) -> ParsedScript:
    return parse_rows(_csv_rows(text))


def _translation_column(name: str) -> str | None:
    """``text:fr`` → "fr" (also ``text:pt-BR``); None for any other column name."""
    match = TRANSLATION_COLUMN.match(name)
    return match.group(1).lower() if match else None


def parse_rows(rows: Iterable[tuple[int, list[str]]], what: str = "row") -> ParsedScript:
    """A script from table rows, each (its line or row number, its fields as text): CSV and xlsx."""
    columns: dict[str, int] = {}
    languages: dict[str, int] = {}
    width = 0
    drafts: list[LineDraft] = []
    for start, row in rows:
        if not "".join(row).strip():
            continue
        if not columns:
            names = [field.strip().lstrip("\ufeff").lower() for field in row]
            for index, name in enumerate(names):
                language = _translation_column(name)
                if language is not None:
                    if language in languages:
                        raise ScriptFormatError(start, f"the header names the column 'text:{language}' twice")
                    languages[language] = index
                if name in COLUMNS:
                    if name in columns:
                        raise ScriptFormatError(start, f"the header names the column {name!r} twice")
                    columns[name] = index
            missing = [name for name in REQUIRED if name not in columns]
            if missing:
                found = ", ".join(repr(field.strip()) for field in row)
                raise ScriptFormatError(
                    start,
                    f"the header row must name the columns id, character and text; missing "
                    f"{', '.join(missing)} (the first row holds {found})",
                )
            width = len(row)
            continue
        if len(row) != width:
            raise ScriptFormatError(
                start, f"this {what} has {len(row)} fields but the header has {width} columns"
            )
        draft = LineDraft(start, row[columns["character"]].strip())
        if not draft.character:
            raise ScriptFormatError(start, "the character is empty")
        draft.parts.append(row[columns["text"]].strip())
        if not draft.parts[0]:
            raise ScriptFormatError(start, f"the text for {draft.character} is empty")
        draft.id = row[columns["id"]].strip()
        if "direction" in columns:
            direction = row[columns["direction"]].strip()
            paren = leading_parenthetical(direction) if direction.startswith("(") else None
            draft.direction = paren[0] if paren is not None and not paren[1] else direction
        if "scene" in columns:
            draft.scene = row[columns["scene"]].strip()
        if "notes" in columns:
            draft.notes.append(row[columns["notes"]].strip())
        for language, index in languages.items():
            draft.translations[language] = row[index].strip()
        drafts.append(draft)
    if not columns:
        raise ScriptFormatError(
            1, "the file is empty; a script table needs a header row naming id, character and text"
        )
    return ParsedScript.from_lines(finish_lines(drafts, what))


def table_rows(script: ParsedScript) -> list[list[str]]:
    """The header and one row per line, as CSV and xlsx write them (``text:xx`` columns when translated)."""
    languages = sorted({code for line in script.lines for code, _ in line.translations})
    rows = [[*COLUMNS, *(f"text:{code}" for code in languages)]]
    for line in script.lines:
        translated = dict(line.translations)
        rows.append(
            [
                line.id,
                line.character,
                line.text,
                line.direction,
                line.scene,
                line.notes,
                *(translated.get(code, "") for code in languages),
            ]
        )
    return rows


def dump(script: ParsedScript) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(table_rows(script))
    return buffer.getvalue()
