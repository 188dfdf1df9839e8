"""Recording scripts for human actors: per character, a printable HTML page and a CSV of their lines.

Each row is one of the character's dialogue lines in script order, with the line id, the scene,
the context an actor needs to pitch the line (the previous dialogue line of the same scene and who
says it; nothing at the start of a scene), the direction, the text in the chosen language and the
line's stage. The HTML page is self-contained (inline style, no scripts, no external files), prints
one table per scene and escapes everything it shows; the CSV has the same columns (UTF-8 with a
byte-order mark so spreadsheet programs read accents and emoji).

Lines that have no text in the chosen language yet, and music/humming requests, are left out (a
report counts the untranslated ones).

Thread contract: pure functions of the project (call on its thread); :func:`write_recording_scripts`
writes files and may run on a worker thread with a snapshot of the project.
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from studio.core.model import LineKind
from studio.core.project import Project
from studio.core.workflow import check_language, is_source, line_text, project_languages

COLUMNS = ("id", "scene", "context_speaker", "context", "direction", "text", "stage")


class RecordingScriptError(ValueError):
    """Bad input for a recording script (unknown language or character); the message is one line."""


@dataclass(frozen=True)
class RecordingLine:
    id: str
    scene: str
    context_speaker: str
    context: str
    direction: str
    text: str
    stage: str

    def row(self) -> list[str]:
        return [getattr(self, name) for name in COLUMNS]


@dataclass(frozen=True)
class CharacterScript:
    character: str
    language: str
    lines: tuple[RecordingLine, ...]


@dataclass
class RecordingReport:
    folder: Path
    language: str
    files: list[str] = field(default_factory=list)  # relative to folder
    lines: int = 0
    untranslated: int = 0

    def summary_lines(self) -> list[str]:
        out = [
            f"Wrote recording scripts for {len(self.files) // 2} character(s), {self.lines} line(s), "
            f"language {self.language}, to {self.folder}"
        ]
        if self.untranslated:
            out.append(f"  {self.untranslated} line(s) have no {self.language} text yet and were left out")
        return out


def recording_scripts(
    project: Project, language: str = "", characters: Sequence[str] = ()
) -> tuple[list[CharacterScript], int]:
    """The recording script of each character (those named, matched case-insensitively; default all
    who speak) in ``language`` ("" = source), and how many of their lines are untranslated."""
    code = _language(project, language)
    wanted = _characters(project, characters)
    scripts: dict[str, list[RecordingLine]] = {}
    untranslated = 0
    previous: dict[str, tuple[str, str]] = {}  # scene id → (speaker, text) of its last dialogue line
    for line in project.ordered_lines():
        if line.kind != LineKind.DIALOGUE:
            continue
        speaker = project.speakers.get(line.speaker_id)
        name = speaker.name if speaker else ""
        scene = project.scenes.get(line.scene_id)
        text = line_text(project, line, code)
        context_speaker, context = previous.get(line.scene_id, ("", ""))
        shown = text or line.text  # context falls back to the source text when untranslated
        previous[line.scene_id] = (name, shown)
        if wanted is not None and name.casefold() not in wanted:
            continue
        if not text:
            untranslated += 1
            continue
        scripts.setdefault(name, []).append(
            RecordingLine(
                line.id,
                scene.title if scene else "",
                context_speaker,
                context,
                line.direction,
                text,
                line.stage.value,
            )
        )
    label = code or project.settings.source_language
    return [CharacterScript(name, label, tuple(rows)) for name, rows in scripts.items()], untranslated


def to_csv(script: CharacterScript) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(line.row() for line in script.lines)
    return "\ufeff" + buffer.getvalue()


_STYLE = """
body { font-family: "Segoe UI", "Helvetica Neue", Arial, sans-serif; color: #111; margin: 2em; }
h1 { font-size: 1.6em; margin: 0 0 .2em; }
p.meta { color: #555; margin: 0 0 1.5em; }
h2 { font-size: 1.15em; margin: 1.6em 0 .4em; border-bottom: 2px solid #333; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
th, td { border: 1px solid #bbb; padding: .35em .5em; vertical-align: top; text-align: left;
         overflow-wrap: anywhere; }
th { background: #eee; font-size: .85em; }
col.id { width: 9em; } col.context { width: 30%; } col.direction { width: 14%; }
col.stage { width: 6.5em; } col.text { width: auto; }
td.id { font-family: Consolas, "DejaVu Sans Mono", monospace; font-size: .85em; }
td.context { color: #555; font-size: .9em; }
td.context b { color: #333; }
td.direction { font-style: italic; }
td.text { font-size: 1.1em; }
td.stage { font-size: .85em; }
tr.locked td.stage, tr.approved td.stage { font-weight: bold; }
@media print {
  body { margin: 0; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  h2 { break-after: avoid; page-break-after: avoid; }
}
"""


def to_html(script: CharacterScript, title: str = "") -> str:
    e = html.escape
    heading = f"{script.character or 'Unnamed'} — recording script"
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{e(script.language)}">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(heading)}{' · ' + e(title) if title else ''}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(heading)}</h1>",
        f'<p class="meta">{e(title) + " · " if title else ""}language {e(script.language)} · '
        f"{len(script.lines)} line(s)</p>",
    ]
    scene: str | None = None
    for line in script.lines:
        if line.scene != scene:
            if scene is not None:
                parts.append("</tbody></table>")
            scene = line.scene
            parts.append(f"<h2>{e(scene or 'No scene')}</h2>")
            parts.append(
                '<table><colgroup><col class="id"><col class="context"><col class="direction">'
                '<col class="text"><col class="stage"></colgroup>'
                "<thead><tr><th>Line id</th><th>Context (previous line)</th><th>Direction</th>"
                "<th>Text</th><th>Stage</th></tr></thead><tbody>"
            )
        context = (
            f"<b>{e(line.context_speaker)}:</b> {e(line.context)}" if line.context else "<i>(scene start)</i>"
        )
        parts.append(
            f'<tr class="{e(line.stage)}" data-id="{e(line.id)}">'
            f'<td class="id">{e(line.id)}</td>'
            f'<td class="context">{context}</td>'
            f'<td class="direction">{e(line.direction)}</td>'
            f'<td class="text">{e(line.text)}</td>'
            f'<td class="stage">{e(line.stage)}</td></tr>'
        )
    if scene is not None:
        parts.append("</tbody></table>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def file_stem(name: str, taken: Iterable[str] = ()) -> str:
    """A file name for a character: letters, digits, ``-`` and ``_`` kept; ``-2``… when taken."""
    stem = re.sub(r"[^\w-]+", "_", name, flags=re.UNICODE).strip("_.") or "unnamed"
    used = {t.casefold() for t in taken}
    candidate, n = stem, 2
    while candidate.casefold() in used:
        candidate, n = f"{stem}-{n}", n + 1
    return candidate


def write_recording_scripts(
    project: Project, folder: Path, language: str = "", characters: Sequence[str] = ()
) -> RecordingReport:
    """Write ``{character}.html`` and ``{character}.csv`` per character into ``folder`` (made if
    missing); each file is written to a temporary name and renamed when complete."""
    scripts, untranslated = recording_scripts(project, language, characters)
    code = _language(project, language) or project.settings.source_language
    report = RecordingReport(folder, code, untranslated=untranslated)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecordingScriptError(f"cannot create {folder}: {exc.strerror or exc}") from None
    stems: list[str] = []
    for script in scripts:
        stem = file_stem(script.character, stems)
        stems.append(stem)
        for name, text in (
            (f"{stem}.html", to_html(script, project.settings.title)),
            (f"{stem}.csv", to_csv(script)),
        ):
            _write(folder / name, text)
            report.files.append(name)
        report.lines += len(script.lines)
    return report


def _write(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.part")
    try:
        temp.write_text(text, encoding="utf-8", newline="")
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise RecordingScriptError(f"cannot write {path}: {exc.strerror or exc}") from None


def _language(project: Project, language: str) -> str:
    if not language:
        return ""
    try:
        code = check_language(language)
    except ValueError as exc:
        raise RecordingScriptError(str(exc)) from None
    known = project_languages(project)
    if code not in known:
        raise RecordingScriptError(
            f"the project has no language {code!r}; its languages are {', '.join(known)}"
        )
    return "" if is_source(project, code) else code


def _characters(project: Project, names: Sequence[str]) -> set[str] | None:
    if not names:
        return None
    known = {s.name.casefold(): s.name for s in project.speakers.values()}
    for name in names:
        if name.casefold() not in known:
            listed = ", ".join(sorted(known.values())) or "(none)"
            raise RecordingScriptError(f"no character named {name!r}; the project has {listed}")
    return {name.casefold() for name in names}


__all__ = [
    "COLUMNS",
    "CharacterScript",
    "RecordingLine",
    "RecordingReport",
    "RecordingScriptError",
    "file_stem",
    "recording_scripts",
    "to_csv",
    "to_html",
    "write_recording_scripts",
]
