"""Lexicon files: W3C PLS (Pronunciation Lexicon Specification 1.0, as ElevenLabs uses) and CSV.

**PLS**: each ``<lexeme>`` gives one entry per ``<grapheme>``; its first ``<alias>`` becomes the
replacement and its first ``<phoneme>`` (IPA alphabet) the phonemes. PLS has no case or whole-word
rules: imported entries match whole words regardless of case; exported files keep graphemes, aliases
and phonemes (CSV keeps everything). Entries with the same replacement and phonemes are written as
one lexeme with several graphemes.

**CSV**: a header row naming ``word`` (or ``grapheme``) and ``replacement`` (or ``alias``) and/or
``phonemes``, optionally ``kind``, ``speaker``, ``match_case``, ``whole_word``, ``note``.

The **user lexicon** (every project on this machine) is a CSV file in the data folder.

Errors are :class:`LexiconFileError` with one line naming the file and line.

Thread contract: pure functions plus file reads/writes; safe from any thread.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from pathlib import Path
from xml.parsers import expat

from studio.core.files import atomic_write
from studio.core.lexicon import LexiconError, make_entry
from studio.core.model import LexiconEntry

PLS_NS = "http://www.w3.org/2005/01/pronunciation-lexicon"
XML_NS = "http://www.w3.org/XML/1998/namespace"
USER_LEXICON_FILE = "lexicon.csv"
CSV_COLUMNS: tuple[str, ...] = (
    "word",
    "replacement",
    "phonemes",
    "kind",
    "speaker",
    "match_case",
    "whole_word",
    "note",
)
_COLUMN_ALIASES = {"grapheme": "word", "alias": "replacement", "phoneme": "phonemes", "ipa": "phonemes"}
_TRUE = {"1", "true", "yes", "y", "x"}
_FALSE = {"", "0", "false", "no", "n"}

# name of a speaker (any case) -> speaker id; None for files whose entries may not name a speaker
SpeakerLookup = Callable[[str], str | None]


class LexiconFileError(ValueError):
    """A lexicon file that cannot be read; the message names the file and the line."""


# ---- PLS ------------------------------------------------------------------------------------------


def read_pls(path: str | Path, *, match_case: bool = False) -> list[LexiconEntry]:
    """Entries of a PLS file (one per grapheme)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LexiconFileError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    return parse_pls(data, str(path), match_case=match_case)


def parse_pls(data: bytes, name: str = "<pls>", *, match_case: bool = False) -> list[LexiconEntry]:
    parser = expat.ParserCreate(namespace_separator=" ")
    entries: list[LexiconEntry] = []
    stack: list[str] = []
    text: list[str] = []
    alphabet = ["ipa"]
    lexeme: dict[str, list[str]] = {}
    lexeme_line = [0]

    def fail(message: str, line: int | None = None) -> LexiconFileError:
        return LexiconFileError(f"{name}, line {line or parser.CurrentLineNumber}: {message}")

    def local(tag: str) -> str:
        namespace, _, tail = tag.rpartition(" ")
        if namespace and namespace != PLS_NS:
            raise fail(f"<{tail}> is not a PLS element (namespace {namespace})")
        return tail

    def start(tag: str, attrs: dict[str, str]) -> None:
        element = local(tag)
        if not stack and element != "lexicon":
            raise fail(f"a PLS file starts with <lexicon>, not <{element}>")
        if element == "lexicon":
            alphabet[0] = attrs.get("alphabet", "ipa")
        elif element == "lexeme":
            lexeme.clear()
            lexeme_line[0] = parser.CurrentLineNumber
        elif element == "phoneme":
            used = attrs.get("alphabet", alphabet[0])
            if used.lower() != "ipa":
                raise fail(f"phonemes in the {used!r} alphabet are not supported (use IPA)")
        stack.append(element)
        text.clear()

    def end(tag: str) -> None:
        element = stack.pop()
        value = "".join(text).strip()
        text.clear()
        if element in ("grapheme", "alias", "phoneme") and stack and stack[-1] == "lexeme":
            lexeme.setdefault(element, []).append(value)
        elif element == "lexeme":
            graphemes = [g for g in lexeme.get("grapheme", []) if g]
            if not graphemes:
                raise fail("a <lexeme> without a <grapheme>", lexeme_line[0])
            alias = next((a for a in lexeme.get("alias", []) if a), "")
            phoneme = next((p for p in lexeme.get("phoneme", []) if p), "")
            if not alias and not phoneme:
                raise fail(
                    f"the <lexeme> for {graphemes[0]!r} has neither <alias> nor <phoneme>", lexeme_line[0]
                )
            for grapheme in graphemes:
                try:
                    entries.append(make_entry(grapheme, alias, phoneme, match_case=match_case))
                except LexiconError as exc:
                    raise fail(str(exc), lexeme_line[0]) from None

    def chars(data: str) -> None:
        text.append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise LexiconFileError(
            f"{name}, line {exc.lineno}: not well-formed XML ({expat.ErrorString(exc.code)})"
        ) from None
    return entries


def write_pls(entries: Iterable[LexiconEntry], path: str | Path, language: str = "en") -> None:
    """A PLS file of ``entries`` (graphemes sharing a replacement and phonemes form one lexeme)."""
    atomic_write_text(Path(path), pls_text(entries, language))


def pls_text(entries: Iterable[LexiconEntry], language: str = "en") -> str:
    ET.register_namespace("", PLS_NS)
    root = ET.Element(
        f"{{{PLS_NS}}}lexicon", {"version": "1.0", "alphabet": "ipa", f"{{{XML_NS}}}lang": language or "en"}
    )
    groups: dict[tuple[str, str], list[str]] = {}
    for entry in entries:
        group = groups.setdefault((entry.replacement, entry.phonemes), [])
        if entry.grapheme not in group:
            group.append(entry.grapheme)
    for (alias, phonemes), graphemes in groups.items():
        lexeme = ET.SubElement(root, f"{{{PLS_NS}}}lexeme")
        for grapheme in graphemes:
            ET.SubElement(lexeme, f"{{{PLS_NS}}}grapheme").text = grapheme
        if phonemes:
            ET.SubElement(lexeme, f"{{{PLS_NS}}}phoneme").text = phonemes
        if alias:
            ET.SubElement(lexeme, f"{{{PLS_NS}}}alias").text = alias
    ET.indent(root, "  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---- CSV ------------------------------------------------------------------------------------------


def _flag(value: str, column: str, fail: Callable[[str], LexiconFileError]) -> bool | None:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return None if lowered == "" else False
    raise fail(f"{column} must be yes or no, not {value!r}")


def read_csv(path: str | Path, speakers: SpeakerLookup | None = None) -> list[LexiconEntry]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise LexiconFileError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise LexiconFileError(f"{path}: not UTF-8 text (save the CSV as UTF-8)") from None
    return parse_csv(text, str(path), speakers)


def parse_csv(text: str, name: str = "<csv>", speakers: SpeakerLookup | None = None) -> list[LexiconEntry]:
    """Entries of CSV ``text``; ``speakers`` turns a speaker column's name into an id (None: no speakers)."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise LexiconFileError(
            f"{name}, line 1: the file is empty (a header row names the columns)"
        ) from None
    except csv.Error as exc:
        raise LexiconFileError(f"{name}, line 1: {exc}") from None
    columns = [_COLUMN_ALIASES.get(h.strip().lower(), h.strip().lower()) for h in header]
    unknown = [h for h, c in zip(header, columns, strict=True) if c and c not in CSV_COLUMNS]
    if unknown:
        raise LexiconFileError(
            f"{name}, line 1: unknown column {unknown[0]!r} (columns: {', '.join(CSV_COLUMNS)})"
        )
    if "word" not in columns or ("replacement" not in columns and "phonemes" not in columns):
        raise LexiconFileError(
            f"{name}, line 1: the header needs a word column and a replacement or phonemes column"
        )
    entries: list[LexiconEntry] = []
    try:
        for row in reader:
            line = reader.line_num

            def fail(message: str, line: int = line) -> LexiconFileError:
                return LexiconFileError(f"{name}, line {line}: {message}")

            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(columns):
                raise fail(f"{len(row)} cells but the header names {len(columns)} columns")
            cells = {c: v for c, v in zip(columns, row, strict=False) if c}
            speaker_id = ""
            speaker = cells.get("speaker", "").strip()
            if speaker:
                found = speakers(speaker) if speakers is not None else None
                if found is None:
                    raise fail(
                        f"no speaker named {speaker!r}"
                        if speakers is not None
                        else "the user lexicon has no speakers"
                    )
                speaker_id = found
            match_case = _flag(cells.get("match_case", ""), "match_case", fail)
            whole_word = _flag(cells.get("whole_word", ""), "whole_word", fail)
            try:
                entries.append(
                    make_entry(
                        cells.get("word", ""),
                        cells.get("replacement", ""),
                        cells.get("phonemes", ""),
                        kind=cells.get("kind", "").strip().lower(),
                        speaker_id=speaker_id,
                        match_case=bool(match_case),
                        whole_word=True if whole_word is None else whole_word,
                        note=cells.get("note", "").strip(),
                    )
                )
            except LexiconError as exc:
                raise fail(str(exc)) from None
    except csv.Error as exc:
        raise LexiconFileError(f"{name}, line {reader.line_num}: {exc}") from None
    return entries


def csv_text(entries: Iterable[LexiconEntry], speaker_names: Callable[[str], str] | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        speaker = (speaker_names(e.speaker_id) if speaker_names else e.speaker_id) if e.speaker_id else ""
        writer.writerow(
            [
                e.grapheme,
                e.replacement,
                e.phonemes,
                e.kind,
                speaker,
                "yes" if e.match_case else "no",
                "yes" if e.whole_word else "no",
                e.note,
            ]
        )
    return out.getvalue()


def write_csv(
    entries: Iterable[LexiconEntry], path: str | Path, speaker_names: Callable[[str], str] | None = None
) -> None:
    atomic_write_text(Path(path), csv_text(entries, speaker_names))


# ---- by extension, and the user lexicon -----------------------------------------------------------


def read_file(path: str | Path, speakers: SpeakerLookup | None = None) -> list[LexiconEntry]:
    """A ``.pls``/``.xml`` or ``.csv`` lexicon file."""
    suffix = Path(path).suffix.lower()
    if suffix in (".pls", ".xml"):
        return read_pls(path)
    if suffix == ".csv":
        return read_csv(path, speakers)
    raise LexiconFileError(
        f"{path}: unknown lexicon format {suffix or '(no extension)'!r} (use .pls or .csv)"
    )


def write_file(
    entries: Iterable[LexiconEntry],
    path: str | Path,
    speaker_names: Callable[[str], str] | None = None,
    language: str = "en",
) -> None:
    suffix = Path(path).suffix.lower()
    if suffix in (".pls", ".xml"):
        write_pls(entries, path, language)
    elif suffix == ".csv":
        write_csv(entries, path, speaker_names)
    else:
        raise LexiconFileError(
            f"{path}: unknown lexicon format {suffix or '(no extension)'!r} (use .pls or .csv)"
        )


def user_lexicon_path(data_dir: Path) -> Path:
    return data_dir / USER_LEXICON_FILE


def load_user_lexicon(path: Path) -> tuple[LexiconEntry, ...]:
    """The user lexicon at ``path`` (none yet = empty)."""
    if not path.is_file():
        return ()
    return tuple(read_csv(path))


def save_user_lexicon(path: Path, entries: Iterable[LexiconEntry]) -> None:
    atomic_write_text(path, csv_text(entries))


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) so that a crash leaves the old file or the new one."""
    atomic_write(path, text.encode("utf-8"))
