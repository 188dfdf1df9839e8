"""The `chorus` command as a user runs it: info, new, script import/export, render with Piper, re-render."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "projects" / "podcast.chorus"


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


def test_info_on_the_shipped_demo_prints_speakers_and_lines() -> None:
    out = chorus("info", str(DEMO)).stdout
    assert "Maya" in out and "Theo" in out
    assert "EP12_010" in out and "Welcome back to The Signal Chain" in out
    data = json.loads(chorus("info", str(REPO / "projects" / "tavern.chorus"), "--json").stdout)
    assert {s["name"] for s in data["speakers"]} == {"Innkeeper", "Player", "Bram"}
    assert len(data["lines"]) == 20 and data["lines"][0]["id"] == "TAVERN_010"


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    result = chorus("info", str(tmp_path / "nothing"), check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "not a Chorus project" in result.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("id,character\nA,Bob\n")
    chorus("new", str(tmp_path / "p"))
    result = chorus("import-script", str(tmp_path / "p.chorus"), str(bad), check=False)
    assert result.returncode != 0 and "line 1" in result.stderr and "Traceback" not in result.stderr


def test_new_import_export_roundtrip(tmp_path: Path) -> None:
    chorus("new", str(tmp_path / "show"), "--title", "Show")
    chorus("import-script", str(tmp_path / "show.chorus"), str(REPO / "projects" / "sources" / "tavern.csv"))
    chorus("export-script", str(tmp_path / "show.chorus"), str(tmp_path / "out.fountain"))
    chorus("new", str(tmp_path / "again"))
    chorus("import-script", str(tmp_path / "again.chorus"), str(tmp_path / "out.fountain"))
    a = json.loads(chorus("info", str(tmp_path / "show.chorus"), "--json").stdout)["lines"]
    b = json.loads(chorus("info", str(tmp_path / "again.chorus"), "--json").stdout)["lines"]
    assert [(x["id"], x["speaker"], x["text"]) for x in a] == [(x["id"], x["speaker"], x["text"]) for x in b]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("demo") / "podcast.chorus"
    shutil.copytree(DEMO, target, ignore=shutil.ignore_patterns("*-wal", "*-shm"))
    result = chorus("render", str(target))
    assert "Rendered 15 line(s)" in result.stdout and "0 failed" in result.stdout
    return target


def test_render_demo_podcast_with_piper_gives_real_speech(rendered: Path) -> None:
    info = json.loads(chorus("info", str(rendered), "--json").stdout)
    assert all(line["status"] == "done" for line in info["lines"])
    takes = sorted((rendered / "media").glob("take_*.wav"))
    assert len(takes) == 15
    for take in takes:
        audio, rate = sf.read(take)
        seconds = len(audio) / rate
        assert 0.5 < seconds < 20
        assert np.sqrt(np.mean(audio**2)) > 0.01  # not silent
    # Duration plausible for the text: 0.2–0.8 s per word over the whole script.
    total_words = sum(len(line["text"].split()) for line in info["lines"])
    total_seconds = sum(len(sf.read(t)[0]) / sf.info(t).samplerate for t in takes)
    assert 0.2 < total_seconds / total_words < 0.8
    # Every line is on the timeline, on its speaker's dialogue track.
    assert sum(t["clips"] for t in info["tracks"] if t["kind"] == "dialogue") == 15


def test_render_again_starts_no_job_and_one_changed_line_rerenders_only_it(rendered: Path) -> None:
    assert "0 jobs" in chorus("render", str(rendered)).stdout
    code = (
        "import sys; from studio.core.store import ProjectFile; from studio.core import ops;"
        "pf = ProjectFile.open(sys.argv[1]); pf.project.apply(ops.change_text('EP12_050', 'So, what makes a voice real?'));"
        "pf.close()"
    )
    subprocess.run([sys.executable, "-c", code, str(rendered)], check=True, cwd=REPO)
    out = chorus("render", str(rendered)).stdout
    assert "Rendering 1 line(s)" in out and "Rendered 1 line(s)" in out
    assert len(list((rendered / "media").glob("take_*.wav"))) == 16


def test_check_after_render_passes_and_catches_a_broken_take(rendered: Path, tmp_path: Path) -> None:
    result = chorus("check", str(rendered))
    assert result.returncode == 0 and "15 checked, 0 suspect" in result.stdout
    assert result.stdout.splitlines()[0].split()[:4] == ["line", "speaker", "verdict", "WER"]
    data = json.loads(chorus("check", str(rendered), "--lines", "EP12_010", "--json").stdout)
    [line] = data["lines"]
    assert line["verdict"] == "ok" and line["transcript"].lower().startswith("welcome back")
    # a copy whose first take is replaced by another line's audio: suspect, exit 1, reasons printed
    broken = tmp_path / "broken.chorus"
    shutil.copytree(rendered, broken, ignore=shutil.ignore_patterns("*-wal", "*-shm"))
    takes = {x["id"]: x for x in json.loads(chorus("check", str(broken), "--json").stdout)["lines"]}
    first, other = (broken / "media" / f"take_{takes[i]['take']}.wav" for i in ("EP12_010", "EP12_020"))
    shutil.copy(other, first)
    result = chorus("check", str(broken), "--lines", "EP12_010", "--recheck", check=False)
    assert result.returncode == 1 and "suspect" in result.stdout and "words differ" in result.stdout
    assert "Traceback" not in result.stderr


def test_transcribe_prints_text_and_word_timings(rendered: Path, tmp_path: Path) -> None:
    take = sorted((rendered / "media").glob("take_*.wav"))[0]
    text = chorus("transcribe", str(take)).stdout.strip()
    assert len(text.split()) >= 5
    [data] = json.loads(chorus("transcribe", str(take), "--json").stdout)
    assert data["text"] == text and data["words"][0][1] <= data["words"][-1][2] <= data["duration"] + 0.1
    missing = chorus("transcribe", str(tmp_path / "none.wav"), check=False)
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
