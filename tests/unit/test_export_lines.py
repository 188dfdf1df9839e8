"""Per-line export: one file per line named by template, resampled, normalised, with a manifest."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.audio.errors import ExportError
from studio.audio.export import ExportRequest, run_export
from studio.audio.ffmpeg_tool import probe
from studio.audio.loudness import LoudnessMeter
from studio.audio.synthetic import ProjectBuilder, speechlike


def game_scene(tmp_path: Path) -> ProjectBuilder:
    b = ProjectBuilder(tmp_path / "media", title="Scene 3")
    b.speaker("s1", "Guard")
    b.speaker("s2", "Thief/Rogue")  # a name that is not a safe folder name
    lines = [
        ("G_001", "s1", "Halt! Who goes there?", 22050, 1.2),
        ("T_001", "s2", "Just a humble traveller.", 24000, 1.7),
    ]
    lines += [
        ("G_002", "s1", "At this hour?", 22050, 0.9),
        ("T_002", "s2", "Especially at this hour.", 24000, 2.1),
    ]
    for i, (lid, spk, text, rate, secs) in enumerate(lines):
        m = b.media(speechlike(secs, rate, seed=i, level=0.05 + 0.1 * i), rate)
        b.line(lid, spk, text, m, rate, secs)
    b.line("G_003", "s1", "Not rendered yet.")  # no take
    return b


def test_one_file_per_line_named_by_id_with_manifest(tmp_path: Path) -> None:
    b = game_scene(tmp_path)
    out = tmp_path / "lines"
    result = run_export(
        b.project, b.resolver(), ExportRequest(lines_dir=out, lines_template="{id}.wav", bit_depth=16)
    )
    report = result.lines
    assert report is not None and report.skipped == ["G_003"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["G_001.wav", "T_001.wav", "G_002.wav", "T_002.wav", "manifest.json", "manifest.csv"]
    )
    doc = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert doc["sample_rate"] == 48000 and doc["skipped"] == ["G_003"]
    rows = list(csv.DictReader((out / "manifest.csv").open(encoding="utf-8", newline="")))
    assert [r["id"] for r in rows] == [e["id"] for e in doc["lines"]] == ["G_001", "T_001", "G_002", "T_002"]
    for row, entry in zip(rows, doc["lines"], strict=True):
        line = b.project.lines[row["id"]]
        take = b.project.takes[line.selected_take]
        info = sf.info(str(out / row["file"]))
        assert info.samplerate == 48000 and info.channels == 1 and info.subtype == "PCM_16"
        assert row["text"] == entry["text"] == line.text
        assert row["character"] == entry["character"] == b.project.speakers[line.speaker_id].name
        assert row["take"] == entry["take"] == take.key
        assert float(row["duration"]) == pytest.approx(info.frames / 48000, abs=1e-3)
        assert float(row["duration"]) == pytest.approx(take.duration, abs=1e-3)


def test_character_folders_and_safe_names(tmp_path: Path) -> None:
    b = game_scene(tmp_path)
    out = tmp_path / "lines"
    result = run_export(
        b.project, b.resolver(), ExportRequest(lines_dir=out, lines_template="{character}/{id}.flac")
    )
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*.flac"))
    assert files == [
        "Guard/G_001.flac",
        "Guard/G_002.flac",
        "Thief_Rogue/T_001.flac",
        "Thief_Rogue/T_002.flac",
    ]
    assert result.lines is not None
    assert [f.file for f in result.lines.files] == [
        "Guard/G_001.flac",
        "Thief_Rogue/T_001.flac",
        "Guard/G_002.flac",
        "Thief_Rogue/T_002.flac",
    ]
    assert probe(out / "Guard" / "G_001.flac").codec == "flac"


def test_normalised_lines(tmp_path: Path) -> None:
    b = game_scene(tmp_path)
    peak_dir, loud_dir = tmp_path / "peak", tmp_path / "loud"
    run_export(
        b.project, b.resolver(), ExportRequest(lines_dir=peak_dir, lines_normalise="peak", bit_depth=32)
    )
    for f in peak_dir.glob("*.wav"):
        data, _ = sf.read(f)
        assert 20 * math.log10(np.abs(data).max()) == pytest.approx(-1.0, abs=0.01)
    run_export(
        b.project,
        b.resolver(),
        ExportRequest(
            lines_dir=loud_dir, lines_normalise="loudness", lines_loudness_lufs=-23.0, bit_depth=32
        ),
    )
    for f in loud_dir.glob("*.wav"):
        data, rate = sf.read(f, always_2d=True)
        m = LoudnessMeter(rate, 1)
        m.add(data)
        assert m.integrated_lufs() == pytest.approx(-23.0, abs=0.05)


@pytest.mark.parametrize(
    "template, match",
    [
        ("{name}.wav", "Unknown field"),
        ("{character}.wav", "must contain"),
        ("../{id}.wav", "inside the export folder"),
        ("{id}.xyz", "audio format"),
        ("lines.wav", "must contain"),
    ],
)
def test_bad_templates_are_refused_and_nothing_is_written(tmp_path: Path, template: str, match: str) -> None:
    b = game_scene(tmp_path)
    with pytest.raises(ExportError, match=match):
        run_export(
            b.project, b.resolver(), ExportRequest(lines_dir=tmp_path / "lines", lines_template=template)
        )
    assert not (tmp_path / "lines").exists()


def test_two_lines_on_one_file_name_are_refused(tmp_path: Path) -> None:
    b = game_scene(tmp_path)
    m = b.media(speechlike(0.5, 22050), 22050)
    b.line("X/1", "s1", "One.", m, 22050, 0.5)
    b.line("X_1", "s1", "Two.", m, 22050, 0.5)  # both become X_1.wav
    with pytest.raises(ExportError, match="same file 'X_1.wav'"):
        run_export(b.project, b.resolver(), ExportRequest(lines_dir=tmp_path / "lines"))
    assert not (tmp_path / "lines").exists()


def test_index_and_scene_fields(tmp_path: Path) -> None:
    b = game_scene(tmp_path)
    out = tmp_path / "lines"
    run_export(b.project, b.resolver(), ExportRequest(lines_dir=out, lines_template="{index}_{id}.ogg"))
    assert sorted(p.name for p in out.glob("*.ogg")) == [
        "0001_G_001.ogg",
        "0002_T_001.ogg",
        "0003_G_002.ogg",
        "0004_T_002.ogg",
    ]
