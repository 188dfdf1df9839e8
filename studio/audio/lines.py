"""Per-line export: one file per script line (its selected take), named by a template, plus a manifest.

Template fields: ``{id}`` (line id), ``{character}`` / ``{speaker}`` (speaker name), ``{index}``
(1-based position in the script, zero-padded to 4), ``{scene}`` (scene title) and ``{take}`` (take
key); ``/`` makes folders, e.g. ``{character}/{id}.wav``. The extension picks the format. Field values
are made safe for file names; a template that gives two lines the same file is refused.

Each take is resampled to the project rate, goes through its voice's effect chain (with the tail) and
is optionally normalised: ``"peak"`` to a sample peak,
``"loudness"`` to an integrated loudness (falling back to peak for lines under 0.4 s) without letting
the true peak pass −1 dBTP. The manifest (``manifest.json`` and ``manifest.csv``) lists id,
character, text, file, duration and take key for every file written.

Thread contract: runs on the export's worker thread; reports to its job state.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import string
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from studio.audio.decode import read_audio
from studio.audio.effects import process_clip
from studio.audio.errors import DecodeError, ExportError
from studio.audio.job import JobState, check_cancel
from studio.audio.limiter import true_peak
from studio.audio.loudness import LoudnessMeter
from studio.audio.resample import resample
from studio.audio.writers import EncodeSettings, OutputSet, format_for_path, open_writer
from studio.core.effects import active
from studio.core.project import Project

TEMPLATE_FIELDS = ("id", "character", "speaker", "index", "scene", "take")
NORMALISE_MODES = ("none", "peak", "loudness")
LINE_TRUE_PEAK_DB = -1.0


@dataclass(frozen=True)
class LineExportOptions:
    folder: Path
    template: str = "{id}.wav"
    normalise: str = "none"  # none | peak | loudness
    peak_db: float = -1.0
    loudness_lufs: float = -23.0
    bit_depth: int = 24
    bitrate_kbps: int = 192
    channels: int | None = None  # None: as the take


@dataclass(frozen=True)
class LineFile:
    id: str
    character: str
    text: str
    file: str  # relative to the folder, "/"-separated
    duration: float
    take: str


@dataclass
class LinesReport:
    files: list[LineFile] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # line ids without a selected take


_UNSAFE = re.compile(r'[\x00-\x1f<>:"/\\|?*]+')


def safe_component(value: str, fallback: str = "_") -> str:
    """A value made safe as one file-name component (no separators, no leading dots)."""
    cleaned = _UNSAFE.sub("_", value).strip().strip(".").strip()
    return cleaned[:120] or fallback


def check_template(template: str) -> None:
    if not template.strip():
        raise ExportError("The per-line file name template is empty.")
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ExportError(f"The file name template {template!r} is not valid: {exc}.") from exc
    for name in names:
        if name not in TEMPLATE_FIELDS:
            allowed = ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
            raise ExportError(f"Unknown field {{{name}}} in the file name template; use {allowed}.")
    if "{id}" not in template and "{index}" not in template:
        raise ExportError(
            "The file name template must contain {id} or {index} so every line gets its own file."
        )
    path = PurePosixPath(template.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        raise ExportError("The file name template must be a relative path inside the export folder.")
    format_for_path(Path(path.name.replace("{", "").replace("}", "")))


def line_file_name(template: str, values: dict[str, str]) -> str:
    safe = {k: safe_component(v) for k, v in values.items()}
    parts = [safe_component(p.format(**safe)) for p in template.replace("\\", "/").split("/") if p]
    return "/".join(parts)


def _normalise(data: np.ndarray, rate: int, options: LineExportOptions) -> np.ndarray:
    if options.normalise == "none" or data.size == 0:
        return data
    peak = float(np.abs(data).max())
    if peak <= 0:
        return data
    gain_db = options.peak_db - 20 * math.log10(peak)
    if options.normalise == "loudness":
        meter = LoudnessMeter(rate, data.shape[1])
        meter.add(data)
        lufs = meter.integrated_lufs()
        if math.isfinite(lufs):
            tp = true_peak(data.T)
            gain_db = min(options.loudness_lufs - lufs, LINE_TRUE_PEAK_DB - 20 * math.log10(tp))
    return (data * np.float32(10 ** (gain_db / 20))).astype(np.float32)


def export_lines(
    project: Project,
    media_resolver: Callable[[str], Path],
    options: LineExportOptions,
    outputs: OutputSet,
    state: JobState,
    sample_rate: int | None = None,
) -> LinesReport:
    """Write every line's selected take into ``options.folder`` (via ``outputs``) plus the manifest."""
    if options.normalise not in NORMALISE_MODES:
        raise ExportError(
            f"Unknown normalisation {options.normalise!r}: use one of {', '.join(NORMALISE_MODES)}."
        )
    check_template(options.template)
    rate = int(sample_rate or project.settings.sample_rate)
    fmt = format_for_path(Path(options.template))
    report = LinesReport()
    names: dict[str, str] = {}
    order = list(project.line_order) or list(project.lines)
    for i, line_id in enumerate(order):
        check_cancel(state)
        state.set_progress(i / max(1, len(order)))
        line = project.lines[line_id]
        take = project.takes.get(line.selected_take) if line.selected_take else None
        if take is None:
            report.skipped.append(line_id)
            continue
        speaker = project.speakers.get(line.speaker_id)
        scene = project.scenes.get(line.scene_id)
        values = {
            "id": line.id,
            "character": speaker.name if speaker else "",
            "speaker": speaker.name if speaker else "",
            "index": f"{i + 1:04d}",
            "scene": scene.title if scene else "",
            "take": take.key,
        }
        rel = line_file_name(options.template, values)
        clash = names.get(rel.casefold())
        if clash is not None:
            raise ExportError(
                f"The file name template gives lines {clash!r} and {line.id!r} the same file {rel!r}; add {{id}} to it."
            )
        names[rel.casefold()] = line.id
        try:
            data, file_rate = read_audio(media_resolver(take.media))
        except DecodeError as exc:
            raise ExportError(f"Line {line.id!r}: its selected take cannot be read ({exc}).") from exc
        data = resample(data[:, :2], file_rate, rate)
        chain = active(speaker.voice.effects) if speaker else ()
        if chain:  # the voice's effect chain, tail included, as in the mix
            data = np.ascontiguousarray(process_clip(chain, np.ascontiguousarray(data.T), rate).T)
        channels = options.channels or data.shape[1]
        if channels != data.shape[1]:
            data = np.repeat(data, 2, axis=1) if channels == 2 else data.mean(axis=1, keepdims=True)
        data = _normalise(data, rate, options)
        settings = EncodeSettings(fmt, rate, channels, options.bit_depth, options.bitrate_kbps)
        dest = options.folder / Path(*rel.split("/"))
        tmp = outputs.temp_for(dest)
        writer = open_writer(tmp, settings)
        try:
            writer.write(data)
            writer.close()
        except BaseException:
            writer.abort()
            raise
        report.files.append(
            LineFile(line.id, values["character"], line.text, rel, round(data.shape[0] / rate, 3), take.key)
        )
    write_manifest(report, options.folder, outputs, project.settings.title, rate)
    state.set_progress(1.0)
    return report


MANIFEST_COLUMNS = ("id", "character", "text", "file", "duration", "take")


def write_manifest(report: LinesReport, folder: Path, outputs: OutputSet, title: str, rate: int) -> None:
    doc = {
        "project": title,
        "sample_rate": rate,
        "lines": [asdict(f) for f in report.files],
        "skipped": report.skipped,
    }
    outputs.temp_for(folder / "manifest.json").write_text(
        json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(MANIFEST_COLUMNS)
    for f in report.files:
        w.writerow([f.id, f.character, f.text, f.file, f"{f.duration:.3f}", f.take])
    outputs.temp_for(folder / "manifest.csv").write_text(buf.getvalue(), encoding="utf-8", newline="")
