"""`chorus fx …` as a user runs it (one real subprocess for the happy path; the rest in-process)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from studio.cli import main
from studio.core import effects as fxc
from studio.core.store import ProjectFile
from studio.render.takes import line_recipe, voice_identity

REPO = Path(__file__).resolve().parents[2]
SCHEMA1 = REPO / "tests" / "data" / "projects" / "schema1.chorus"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "old.chorus"
    shutil.copytree(SCHEMA1, root)
    (root / "media").mkdir(exist_ok=True)
    return root


def test_fx_edits_a_chain_end_to_end(project: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "studio.cli", "fx", "preset", str(project), "--track", "Ava", "Phone"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Preset Phone: track Ava: 7 effect(s)" in proc.stdout
    assert main(["fx", "add", str(project), "--speaker", "ava", "reverb", "room_size=0.9", "--at", "1"]) == 0
    assert main(["fx", "bypass", str(project), "2", "--track", "Ava"]) == 0
    assert main(["fx", "set", str(project), "--track", "Ava", "1", "cutoff_hz=400"]) == 0
    assert main(["fx", "move", str(project), "--track", "Ava", "7", "1"]) == 0
    assert main(["fx", "remove", str(project), "--track", "Ava", "2"]) == 0
    with ProjectFile.open(project) as pf:
        track = pf.project.tracks["trk_a"]
        assert [f.kind for f in track.effects] == [
            "gain",
            "lowpass",
            "peak",
            "compressor",
            "distortion",
            "bitcrush",
        ]
        assert track.effects[1].bypass
        assert pf.project.speakers["spk_a"].voice.effects == (fxc.effect("reverb", room_size=0.9),)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fx", "add", "{p}", "--track", "Ava", "flanger"], "unknown effect 'flanger'"),
        (["fx", "add", "{p}", "--track", "Ava", "pitch_shift"], "not on a track"),
        (["fx", "add", "{p}", "--track", "Nobody", "gain"], "no track named 'Nobody'"),
        (["fx", "add", "{p}", "gain"], "name one --track or one --speaker"),
        (["fx", "remove", "{p}", "--track", "Ava", "3"], "no effect at position 3"),
        (["fx", "preset", "{p}", "--track", "Ava", "Disco"], "unknown preset 'Disco'"),
        (["fx", "set", "{p}", "--track", "Ava", "1", "ratio"], "name=value"),
    ],
)
def test_bad_input_is_one_line(project: Path, capsys, argv: list[str], message: str) -> None:
    assert main([a.replace("{p}", str(project)) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_old_variants_keep_their_recipe_until_upgraded(project: Path, capsys) -> None:
    with ProjectFile.open(project) as pf:
        speaker = pf.project.speakers["spk_a"]
        assert voice_identity(speaker) == {"kind": "piper", "model": "en_US-joe-medium", "variant": 3}
        before = line_recipe(pf.project, pf.project.lines["line_1"])
    assert main(["fx", "variants", str(project)]) == 0
    assert "style 1 (older" in capsys.readouterr().out
    assert main(["fx", "variants", str(project), "--upgrade"]) == 0
    assert "1 voice(s) moved to variant style 2" in capsys.readouterr().out
    with ProjectFile.open(project) as pf:
        assert pf.project.speakers["spk_a"].voice.variant_style == 2
        assert line_recipe(pf.project, pf.project.lines["line_1"]) != before
