"""Engine-ready export profiles: per-line files in the layout a game engine's audio pipeline reads.

One folder per language, one file per line named by its id (the file-name template may also use
``{character}``, ``{scene}``, ``{language}``, ``{index}``), at the profile's sample rate, bit depth
and channel count, each line normalised to the profile's loudness (true peak ≤ −1 dBTP). Every
profile writes ``manifest.json`` and ``manifest.csv`` (language, id, character, text, file,
duration, take hash) at the top of the export folder, plus what its engine reads:

* ``unreal`` — ``{language}/{id}.wav`` (16-bit 48 kHz mono), ``dialogue.csv``: the dialogue table
  Unreal's localisation dashboard imports (Key, Speaker, SpokenText, AudioFile, Culture).
* ``wwise`` — ``{language}/{id}.wav`` (24-bit 48 kHz mono) and ``ExternalSources.wsources``: Wwise's
  External Sources list (``<ExternalSourcesList SchemaVersion="1" Root=…>`` of ``<Source Path=…
  Conversion=…/>``) naming every file with the profile's conversion setting.
* ``fmod`` — an audio table per language: ``{language}/{id}.wav`` whose file names are the
  programmer-instrument keys, plus ``{language}/keys.csv`` (key, file, text).
* ``unity`` — Yarn Spinner's localisation layout: ``{language}/{id}.wav`` and ``{language}.csv``
  strings tables (language, id ``line:…``, text, file, node, lineNumber, lock, comment).

Lines without a selected take in a language are listed under ``skipped`` in the manifest.

Thread contract: runs on the export's worker thread (or the CLI); reports to its job state.
"""

from __future__ import annotations

import csv
import io
import json
import string
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from studio.audio.decode import read_audio
from studio.audio.errors import DecodeError, ExportError
from studio.audio.job import JobState, check_cancel
from studio.audio.lines import LineExportOptions, _normalise, line_file_name
from studio.audio.resample import resample
from studio.audio.writers import EncodeSettings, OutputSet, open_writer
from studio.core.project import Project
from studio.core.workflow import is_source, line_text, project_languages, selected_take_key

PROFILE_FIELDS = ("id", "character", "speaker", "scene", "language", "index", "take")


@dataclass(frozen=True)
class ExportProfile:
    name: str
    template: str = "{language}/{id}.wav"
    sample_rate: int = 48000
    bit_depth: int = 16
    channels: int = 1
    loudness_lufs: float | None = -23.0  # per-line integrated loudness; None = as rendered
    conversion: str = ""  # Wwise conversion setting named in the .wsources list


PROFILES: dict[str, ExportProfile] = {
    "unreal": ExportProfile("unreal", bit_depth=16),
    "wwise": ExportProfile("wwise", bit_depth=24, conversion="Default Conversion Settings"),
    "fmod": ExportProfile("fmod", bit_depth=16),
    "unity": ExportProfile("unity", sample_rate=44100, bit_depth=16),
}


@dataclass(frozen=True)
class ProfileFile:
    language: str
    id: str
    character: str
    text: str
    file: str  # relative to the export folder, "/"-separated
    duration: float
    take: str
    scene: str = ""


@dataclass
class ProfileReport:
    profile: str
    folder: Path
    files: list[ProfileFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (language, line id)
    extras: list[str] = field(default_factory=list)  # engine files written besides the audio

    def summary_lines(self) -> list[str]:
        languages = sorted({f.language for f in self.files})
        lines = [
            f"Exported {len(self.files)} file(s) for {self.profile} in {len(languages)} language(s) "
            f"({', '.join(languages)}) to {self.folder}"
        ]
        if self.skipped:
            lines.append(f"  {len(self.skipped)} line(s) have no take in a language and were skipped")
        lines.append("  also: manifest.json, manifest.csv" + "".join(f", {e}" for e in self.extras))
        return lines


def get_profile(name: str, **overrides: object) -> ExportProfile:
    try:
        profile = PROFILES[name]
    except KeyError:
        raise ExportError(f"Unknown export profile {name!r}: use one of {', '.join(PROFILES)}.") from None
    given = {k: v for k, v in overrides.items() if v is not None}
    return replace(profile, **given) if given else profile  # type: ignore[arg-type]


def check_profile_template(template: str) -> None:
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ExportError(f"The file name template {template!r} is not valid: {exc}.") from exc
    unknown = [n for n in names if n not in PROFILE_FIELDS]
    if unknown:
        allowed = ", ".join("{" + f + "}" for f in PROFILE_FIELDS)
        raise ExportError(f"Unknown field {{{unknown[0]}}} in the file name template; use {allowed}.")
    if "id" not in names and "index" not in names:
        raise ExportError(
            "The file name template must contain {id} or {index} so every line gets its own file."
        )
    if not template.lower().endswith(".wav"):
        raise ExportError("Engine profiles write WAV files: the file name template must end in .wav.")


def export_profile(
    project: Project,
    media_resolver: Callable[[str], Path],
    profile: ExportProfile,
    folder: Path,
    state: JobState,
    languages: list[str] | None = None,
) -> ProfileReport:
    """Write every line's selected take in each language (default: all the project's) into
    ``folder`` as ``profile`` lays it out, with the manifests; all files appear together or none."""
    check_profile_template(profile.template)
    wanted = languages or list(project_languages(project))
    known = project_languages(project)
    for code in wanted:
        if code not in known:
            raise ExportError(f"The project has no language {code!r}; its languages are {', '.join(known)}.")
    if profile.template.count("{language}") == 0 and len(wanted) > 1:
        raise ExportError(
            "Several languages need {language} in the file name template, or they overwrite each other."
        )
    report = ProfileReport(profile.name, folder)
    outputs = OutputSet()
    options = LineExportOptions(
        folder=folder,
        normalise="loudness" if profile.loudness_lufs is not None else "none",
        loudness_lufs=profile.loudness_lufs if profile.loudness_lufs is not None else -23.0,
    )
    order = list(project.line_order)
    total = max(1, len(order) * len(wanted))
    names: dict[str, str] = {}
    try:
        done = 0
        for code in wanted:
            language = "" if is_source(project, code) else code
            for index, line_id in enumerate(order):
                check_cancel(state)
                state.set_progress(done / total)
                done += 1
                line = project.lines[line_id]
                key = selected_take_key(project, line, language)
                take = project.takes.get(key) if key else None
                text = line_text(project, line, language)
                if take is None or not text:
                    report.skipped.append((code, line_id))
                    continue
                speaker = project.speakers.get(line.speaker_id)
                scene = project.scenes.get(line.scene_id)
                values = {
                    "id": line.id,
                    "character": speaker.name if speaker else "",
                    "speaker": speaker.name if speaker else "",
                    "scene": scene.title if scene else "",
                    "language": code,
                    "index": f"{index + 1:04d}",
                    "take": take.key,
                }
                rel = line_file_name(profile.template, values)
                clash = names.get(rel.casefold())
                if clash is not None:
                    raise ExportError(
                        f"The file name template gives {clash} and {code}:{line.id} the same file {rel!r}; add {{id}} to it."
                    )
                names[rel.casefold()] = f"{code}:{line.id}"
                try:
                    data, file_rate = read_audio(media_resolver(take.media))
                except DecodeError as exc:
                    raise ExportError(
                        f"Line {line.id!r} ({code}): its selected take cannot be read ({exc})."
                    ) from exc
                data = resample(data[:, :2], file_rate, profile.sample_rate)
                if profile.channels != data.shape[1]:
                    data = (
                        np.repeat(data, 2, axis=1)
                        if profile.channels == 2
                        else data.mean(axis=1, keepdims=True)
                    )
                data = _normalise(np.ascontiguousarray(data, dtype=np.float32), profile.sample_rate, options)
                settings = EncodeSettings("wav", profile.sample_rate, profile.channels, profile.bit_depth)
                writer = open_writer(outputs.temp_for(folder / Path(*rel.split("/"))), settings)
                try:
                    writer.write(data)
                    writer.close()
                except BaseException:
                    writer.abort()
                    raise
                report.files.append(
                    ProfileFile(
                        code,
                        line.id,
                        values["character"],
                        text,
                        rel,
                        round(data.shape[0] / profile.sample_rate, 3),
                        take.key,
                        values["scene"],
                    )
                )
        _write_manifest(report, profile, project.settings.title, outputs)
        _ENGINE_FILES[profile.name](report, profile, outputs)
        outputs.commit()
    except BaseException:
        outputs.rollback()
        raise
    state.set_progress(1.0)
    return report


def _text(outputs: OutputSet, path: Path, text: str, bom: bool = False) -> None:
    outputs.temp_for(path).write_text(("\ufeff" if bom else "") + text, encoding="utf-8", newline="")


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


MANIFEST_COLUMNS = ("language", "id", "character", "scene", "text", "file", "duration", "take")


def _write_manifest(report: ProfileReport, profile: ExportProfile, title: str, outputs: OutputSet) -> None:
    doc = {
        "project": title,
        "profile": profile.name,
        "sample_rate": profile.sample_rate,
        "bit_depth": profile.bit_depth,
        "channels": profile.channels,
        "loudness_lufs": profile.loudness_lufs,
        "languages": sorted({f.language for f in report.files}),
        "lines": [asdict(f) for f in report.files],
        "skipped": [{"language": code, "id": line_id} for code, line_id in report.skipped],
    }
    _text(outputs, report.folder / "manifest.json", json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    rows = [list(MANIFEST_COLUMNS)]
    rows += [
        [f.language, f.id, f.character, f.scene, f.text, f.file, f"{f.duration:.3f}", f.take]
        for f in report.files
    ]
    _text(outputs, report.folder / "manifest.csv", _csv(rows))


def _unreal(report: ProfileReport, profile: ExportProfile, outputs: OutputSet) -> None:
    rows = [["Key", "Speaker", "SpokenText", "AudioFile", "Culture"]]
    rows += [[f.id, f.character, f.text, f.file, f.language] for f in report.files]
    _text(outputs, report.folder / "dialogue.csv", _csv(rows), bom=True)
    report.extras.append("dialogue.csv")


def _wwise(report: ProfileReport, profile: ExportProfile, outputs: OutputSet) -> None:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    lines.append(f'<ExternalSourcesList SchemaVersion="1" Root={quoteattr(str(report.folder))}>')
    for f in report.files:
        destination = f.file.rsplit(".", 1)[0] + ".wem"
        lines.append(
            f"\t<Source Path={quoteattr(f.file)} Conversion={quoteattr(profile.conversion)} "
            f"Destination={quoteattr(destination)}/>"
        )
    lines.append("</ExternalSourcesList>")
    _text(outputs, report.folder / "ExternalSources.wsources", "\n".join(lines) + "\n")
    report.extras.append("ExternalSources.wsources")


def _fmod(report: ProfileReport, profile: ExportProfile, outputs: OutputSet) -> None:
    by_language: dict[str, list[ProfileFile]] = {}
    for f in report.files:
        by_language.setdefault(f.language, []).append(f)
    for code, files in by_language.items():
        rows = [["key", "file", "text"]]
        rows += [[Path(f.file).stem, f.file, f.text] for f in files]
        _text(outputs, report.folder / code / "keys.csv", _csv(rows))
        report.extras.append(f"{code}/keys.csv")


def _unity(report: ProfileReport, profile: ExportProfile, outputs: OutputSet) -> None:
    by_language: dict[str, list[ProfileFile]] = {}
    for f in report.files:
        by_language.setdefault(f.language, []).append(f)
    for code, files in by_language.items():
        rows = [["language", "id", "text", "file", "node", "lineNumber", "lock", "comment"]]
        rows += [
            [code, f"line:{f.id}", f.text, f.file, f.scene, str(number), f.take[:8], ""]
            for number, f in enumerate(files, start=1)
        ]
        _text(outputs, report.folder / f"{code}.csv", _csv(rows))
        report.extras.append(f"{code}.csv")


_ENGINE_FILES: dict[str, Callable[[ProfileReport, ExportProfile, OutputSet], None]] = {
    "unreal": _unreal,
    "wwise": _wwise,
    "fmod": _fmod,
    "unity": _unity,
}
