"""Game voice-over end to end: a two-language spreadsheet, Piper renders English and refuses French,
every engine profile's layout and manifests, and a locked line that `chorus render` never touches."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import soundfile

from studio.core.store import ProjectFile
from studio.render.takes import finished_ops, plan_render

REPO = Path(__file__).resolve().parents[2]

SCRIPT = (
    "id,character,text,scene,text:fr\r\n"
    'VO_1,Bram,"Welcome, stranger!",Inn,"Bienvenue, étranger !"\r\n'
    'VO_2,Ann,"A pint, please.",Inn,"Une bière, s\'il vous plaît."\r\n'
    "VO_3,Bram,Coming right up.,Inn,Tout de suite.\r\n"
)


def chorus(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "studio.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ),
        cwd=REPO,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def _fake_french_takes(project_path: Path) -> None:
    """French takes as a cross-lingual backend would leave them (Piper cannot speak French)."""
    with ProjectFile.open(project_path) as pf:
        plan = plan_render(pf.project, pf.media_dir, language="fr")
        assert [p.job.language for p in plan.jobs] == ["fr"] * 3
        assert plan.jobs[0].job.text == "Bienvenue, étranger !"
        for i, planned in enumerate(plan.jobs):
            t = np.arange(int(22050 * (0.5 + 0.1 * i))) / 22050
            soundfile.write(
                planned.job.out_path, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 22050
            )
            pf.project.apply(
                finished_ops(
                    pf.project,
                    planned,
                    media=Path(planned.job.out_path).name,
                    duration=len(t) / 22050,
                    sample_rate=22050,
                )
            )


def test_two_language_project_exports_with_every_profile_and_a_locked_line_stays(tmp_path: Path) -> None:
    project = tmp_path / "vo.chorus"
    chorus("new", str(project))
    (tmp_path / "vo.csv").write_text(SCRIPT, encoding="utf-8")
    chorus("import-script", str(project), str(tmp_path / "vo.csv"))
    assert "targets fr" in chorus("languages", str(project)).stdout
    scripts = tmp_path / "scripts"
    out = chorus(
        "export-recording-script", str(project), str(scripts), "--language", "fr", "--characters", "Bram"
    )
    assert "1 character(s), 2 line(s), language fr" in out.stdout
    assert sorted(p.name for p in scripts.iterdir()) == ["Bram.csv", "Bram.html"]
    rows = list(csv.DictReader((scripts / "Bram.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert [(r["id"], r["context_speaker"], r["text"]) for r in rows] == [
        ("VO_1", "", "Bienvenue, étranger !"),
        ("VO_3", "Ann", "Tout de suite."),
    ]
    bad = chorus("export-recording-script", str(project), str(scripts), "--characters", "Zed", check=False)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "no character named 'Zed'" in bad.stderr
    chorus("render", str(project), "--no-check") if "--no-check" in chorus(
        "render", "--help"
    ).stdout else chorus("render", str(project))
    refused = chorus("render", str(project), "--language", "fr", check=False)
    assert refused.returncode != 0
    assert "speaks 'en', not 'fr'" in refused.stderr + refused.stdout
    _fake_french_takes(project)
    both = chorus("render", str(project), "--language", "all").stdout  # every language current: no work
    assert "Language en:" in both and "Language fr:" in both and "0 jobs" in both
    unknown = chorus("render", str(project), "--language", "de", check=False)
    assert unknown.returncode == 2 and "no language 'de'" in unknown.stderr and "Traceback" not in unknown.stderr
    info = json.loads(chorus("info", str(project), "--json").stdout)
    assert info["stages"]["rendered"] == 3
    by_language = {entry["language"]: entry for entry in info["languages"]}
    assert by_language["en"]["current"] == 3 and by_language["fr"]["current"] == 3

    with ProjectFile.open(project) as pf:
        takes = {(t.language or "en", t.line_id): t.key for t in pf.project.takes.values()}
    for name, rate, depth in (
        ("unreal", 48000, "PCM_16"),
        ("wwise", 48000, "PCM_24"),
        ("fmod", 48000, "PCM_16"),
        ("unity", 44100, "PCM_16"),
    ):
        out = tmp_path / name
        chorus("export", str(project), str(out), "--profile", name)
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        assert (
            manifest["profile"] == name and manifest["languages"] == ["en", "fr"] and not manifest["skipped"]
        )
        assert len(manifest["lines"]) == 6
        for entry in manifest["lines"]:
            path = out / entry["file"]
            assert entry["file"] == f"{entry['language']}/{entry['id']}.wav"
            info_ = soundfile.info(str(path))
            assert (info_.samplerate, info_.channels, info_.subtype) == (rate, 1, depth)
            assert abs(info_.duration - entry["duration"]) < 0.01 and entry["duration"] > 0.3
            data, _ = soundfile.read(str(path))
            assert np.abs(data).max() > 0.01  # audible
            assert entry["take"] == takes[(entry["language"], entry["id"])]
        with open(out / "manifest.csv", encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert [(r["language"], r["id"], r["take"]) for r in rows] == [
            (e["language"], e["id"], e["take"]) for e in manifest["lines"]
        ]
        assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["en", "fr"]
    root = ET.parse(tmp_path / "wwise" / "ExternalSources.wsources").getroot()
    assert root.tag == "ExternalSourcesList" and root.get("SchemaVersion") == "1"
    sources = root.findall("Source")
    assert len(sources) == 6 and all((tmp_path / "wwise" / s.get("Path", "")).is_file() for s in sources)
    assert all(s.get("Conversion") and s.get("Destination", "").endswith(".wem") for s in sources)
    dialogue = list(
        csv.DictReader((tmp_path / "unreal" / "dialogue.csv").read_text(encoding="utf-8-sig").splitlines())
    )
    assert {(d["Key"], d["Culture"]) for d in dialogue} == {
        (f"VO_{i}", c) for i in (1, 2, 3) for c in ("en", "fr")
    }
    strings = list(csv.DictReader((tmp_path / "unity" / "fr.csv").read_text(encoding="utf-8").splitlines()))
    assert [s["id"] for s in strings] == ["line:VO_1", "line:VO_2", "line:VO_3"]
    assert strings[0]["text"] == "Bienvenue, étranger !"
    keys = list(
        csv.DictReader((tmp_path / "fmod" / "en" / "keys.csv").read_text(encoding="utf-8").splitlines())
    )
    assert [k["key"] for k in keys] == ["VO_1", "VO_2", "VO_3"]

    # lock VO_1, then change its text and VO_2's: render re-renders VO_2 only
    with ProjectFile.open(project) as pf:
        locked_take = pf.project.lines["VO_1"].selected_take
        locked_media = pf.project.takes[locked_take].media
        before = (pf.media_dir / locked_media).read_bytes()
    chorus("stage", str(project), "locked", "--lines", "VO_1", "--who", "qa-lead")
    (tmp_path / "vo.csv").write_text(
        SCRIPT.replace("Welcome, stranger!", "Welcome back, stranger!").replace(
            "A pint, please.", "Two pints!"
        ),
        encoding="utf-8",
    )
    out = chorus("import-script", str(project), str(tmp_path / "vo.csv")).stdout
    assert "0 added, 2 changed, 1 unchanged" in out
    rendered = chorus("render", str(project)).stdout
    assert "1 locked line(s) left as they are" in rendered
    with ProjectFile.open(project) as pf:
        line = pf.project.lines["VO_1"]
        assert line.stage.value == "locked" and "locked by qa-lead" in line.notes
        assert line.selected_take == locked_take and line.text == "Welcome back, stranger!"
        assert (pf.media_dir / locked_media).read_bytes() == before
        assert pf.project.takes[pf.project.lines["VO_2"].selected_take].recipe != ""
        assert pf.project.lines["VO_2"].status.value == "done"
    info = json.loads(chorus("info", str(project), "--json").stdout)
    assert info["stages"]["locked"] == 1
