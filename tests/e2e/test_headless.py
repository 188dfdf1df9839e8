"""Headless from end to end: a project cast, configured, rendered and exported with only the CLI, and the
same through the README's Python API example (run here verbatim)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
SCRIPT = "id,character,text\nL010,Ada,Welcome back to the show.\nL020,Ben,\"Thanks, it is good to be here.\"\nL030,Cy,I brought three questions.\n"


def chorus(*args: str, cwd: Path = REPO, code: int = 0, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "studio.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env or dict(os.environ),
        cwd=cwd,
    )
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    return result


def loudness(path: Path) -> float:
    data, rate = sf.read(path)
    return float(pyloudnorm.Meter(rate).integrated_loudness(data))


def test_new_import_cast_configure_render_export_with_the_cli_only(tmp_path: Path) -> None:
    show, bank = str(tmp_path / "show.chorus"), str(tmp_path / "bank")
    (tmp_path / "s.csv").write_text(SCRIPT)
    chorus("new", str(tmp_path / "show"))
    chorus("import-script", show, str(tmp_path / "s.csv"))
    chorus("voices", "add", "Warm", "--variant", "2", "--bank", bank)
    chorus("voices", "add", "Bright", "--variant", "5", "--bank", bank)
    chorus("cast", show, "Ada", "Warm", "--bank", bank)
    chorus("cast", show, "Ben", "Bright", "--bank", bank)
    chorus("speakers", "set", show, "Cy", "--variant", "6")
    chorus("settings", show, "length_scale", "1.1")
    chorus("settings", show, "export_preset", "ebu")
    chorus("settings", show, "sample_rate", "44100")

    speakers = {s["name"]: s for s in json.loads(chorus("speakers", "list", show, "--json").stdout)}
    assert [speakers[n]["variant"] for n in ("Ada", "Ben", "Cy")] == [2, 5, 6]
    assert speakers["Ada"]["bank_voice"] and speakers["Ben"]["bank_voice"] and not speakers["Cy"]["bank_voice"]
    settings = {r["key"]: r for r in json.loads(chorus("settings", show, "--json").stdout)}
    assert settings["export_preset"]["value"] == "ebu" and settings["length_scale"]["value"] == 1.1
    assert settings["sample_rate"]["value"] == 44100 and settings["workers"]["default"] == "auto"

    out = tmp_path / "show.wav"
    chorus("render", show, "--export", str(out))
    lines = json.loads(chorus("lines", "list", show, "--json").stdout)
    assert [ln["status"] for ln in lines] == ["done"] * 3 and all(ln["take"] for ln in lines)
    info = sf.info(out)
    assert info.samplerate == 44100 and 3.0 < info.duration < 15.0
    assert abs(loudness(out) - -23.0) < 1.0  # the EBU R128 preset set from the CLI

    # Changing a line and a voice from the CLI makes exactly those lines stale.
    chorus("lines", "set", show, "L030", "--text", "I brought four questions.")
    chorus("speakers", "set", show, "Ada", "--variant", "3")
    stale = json.loads(chorus("lines", "list", show, "--status", "stale", "--json").stdout)
    assert sorted(ln["id"] for ln in stale) == ["L010", "L030"]


def test_bad_settings_and_voices_are_refused_in_plain_words(tmp_path: Path) -> None:
    show = str(tmp_path / "p.chorus")
    (tmp_path / "s.csv").write_text(SCRIPT)
    chorus("new", str(tmp_path / "p"))
    chorus("import-script", show, str(tmp_path / "s.csv"))
    assert "never stored in a project" in chorus("settings", show, "api_key", "sk-123", code=2).stderr
    assert "piper has no option 'model'" in chorus("settings", show, "model", "x", code=2).stderr
    assert "takes podcast | ebu | acx | none" in chorus("settings", show, "export_preset", "loud", code=2).stderr
    assert "set backend higgs first" in chorus("settings", show, "higgs.batch_size", "8", code=2).stderr
    chorus("settings", show, "backend", "higgs")
    chorus("settings", show, "batch_size", "16")
    assert "between 1 and 256" in chorus("settings", show, "batch_size", "0", code=2).stderr
    warned = chorus("speakers", "set", show, "Ada", "--smart")
    assert "Ada" in warned.stdout
    chorus("settings", show, "backend", "piper")
    assert "cannot speak the smart voice" in chorus("speakers", "set", show, "Ada", "--smart").stderr
    assert "needs --transcript" in chorus("speakers", "set", show, "Ben", "--clip", "x.wav", code=2).stderr
    assert "no speaker 'Zed'" in chorus("cast", show, "Zed", "Warm", code=2).stderr
    assert re.match(r"chorus \d", chorus("--version").stdout)


def test_the_readme_python_api_example_runs(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text()
    block = re.search(r"<!-- api-example.*?-->\s*```python\n(.*?)```", readme, re.S)
    assert block, "the README lost its Python API example"
    (tmp_path / "projects").symlink_to(REPO / "projects")
    (tmp_path / "example.py").write_text(block.group(1))
    result = subprocess.run(
        [sys.executable, "example.py"], capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr
    assert "20 rendered, 0 failed" in result.stdout
    mix = tmp_path / "tavern-api.wav"
    assert sf.info(mix).duration > 20 and abs(loudness(mix) - -23.0) < 1.0
    assert len(list((tmp_path / "tavern-lines").rglob("*.wav"))) == 20
    data, _ = sf.read(mix)
    assert np.abs(data).max() < 1.0
