"""`chorus lexicon` as a user runs it on the demo podcast: an entry stales exactly the lines that use it,
`chorus render` renders only those, and the alias is heard in the new take."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "projects" / "podcast.chorus"


def chorus(*args: str, home: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "studio.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "CHORUS_HOME": str(home)},
        cwd=REPO,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def podcast(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A rendered copy of the demo podcast (takes unchecked: this module is about the lexicon)."""
    root = tmp_path_factory.mktemp("lexicon")
    target = root / "podcast.chorus"
    shutil.copytree(DEMO, target, ignore=shutil.ignore_patterns("*-wal", "*-shm", "backups", ".chorus-lock"))
    home = root / "home"
    data = json.loads(chorus("render", str(target), "--no-check", "--json", home=home).stdout)
    assert data["jobs"] == 15 and data["done"] == 15
    return target, home


def test_an_entry_stales_exactly_its_lines_and_render_does_only_those(podcast: tuple[Path, Path]) -> None:
    project, home = podcast
    lines = json.loads(chorus("lines", "list", str(project), "--json", home=home).stdout)
    assert len(lines) == 15 and not [x for x in lines if x["status"] == "stale"]
    using = [x["id"] for x in lines if "signal chain" in x["text"].lower()]
    assert len(using) == 2

    out = chorus("lexicon", "add", str(project), "Signal Chain", "Morning Garden", home=home).stdout
    assert "2 line(s) now stale" in out
    stale = json.loads(chorus("lines", "list", str(project), "--status", "stale", "--json", home=home).stdout)
    assert sorted(x["id"] for x in stale) == sorted(using)
    said = json.loads(chorus("lexicon", "say", str(project), using[0], "--json", home=home).stdout)
    assert "Morning Garden" in said["engine_text"] and said["entries"] == ["Signal Chain"]

    data = json.loads(chorus("render", str(project), "--no-check", "--json", home=home).stdout)
    assert data["jobs"] == 2 and data["done"] == 2 and data["up_to_date"] == 13
    assert json.loads(chorus("render", str(project), "--json", home=home).stdout)["jobs"] == 0

    listed = json.loads(chorus("lexicon", "list", str(project), "--json", home=home).stdout)
    assert listed[0]["word"] == "Signal Chain" and sorted(listed[0]["lines"]) == sorted(using)
    # the script the user sees is unchanged
    info = json.loads(chorus("info", str(project), "--json", home=home).stdout)
    assert sum("The Signal Chain" in x["text"] for x in info["lines"]) == 2


def test_the_alias_is_heard_in_the_take(podcast: tuple[Path, Path], whisper) -> None:  # noqa: ANN001
    pytest.importorskip("faster_whisper", reason="the speech recogniser (faster-whisper) is not installed")
    project, home = podcast
    chorus("lexicon", "add", str(project), "Signal Chain", "Morning Garden", home=home)
    chorus("render", str(project), "--no-check", "--lines", "EP12_150", home=home)
    info = json.loads(chorus("info", str(project), "--json", home=home).stdout)
    line = next(x for x in info["lines"] if x["id"] == "EP12_150")
    sys.path.insert(0, str(REPO))
    from studio.core.store import ProjectFile

    with ProjectFile.open(project, read_only=True) as pf:
        take = pf.project.selected_take(line["id"])
        assert take is not None
        audio = pf.media_path(take.media)
    heard = whisper.transcribe(str(audio), language="en").text.lower()
    assert "morning garden" in heard.replace(",", ""), heard
    assert "signal" not in heard, heard


def test_user_and_speaker_scopes_import_export_and_errors(podcast: tuple[Path, Path], tmp_path: Path) -> None:
    project, home = podcast
    chorus("lexicon", "add", str(project), "AFK", "away from keyboard", "--user", home=home)
    assert (home / "lexicon.csv").is_file()
    chorus("lexicon", "add", str(project), "musical", "--ipa", "mjˈuːzɪkəl", "--speaker", "Theo", home=home)
    stale = json.loads(chorus("lines", "list", str(project), "--status", "stale", "--json", home=home).stdout)
    assert [x["id"] for x in stale] == ["EP12_140"]  # Theo's line; Maya's "musical" line is not his
    out = tmp_path / "theo.pls"
    chorus("lexicon", "export", str(project), str(out), "--speaker", "Theo", home=home)
    assert "<phoneme>mjˈuːzɪkəl</phoneme>" in out.read_text(encoding="utf-8")
    scopes = {
        x["word"]: x["scope"]
        for x in json.loads(chorus("lexicon", "list", str(project), "--json", home=home).stdout)
    }
    assert scopes["AFK"] == "user" and scopes["musical"] == "speaker:Theo"
    chorus("lexicon", "remove", str(project), "musical", "--speaker", "Theo", home=home)
    # its take without the entry is current again: rendering finds nothing to do and the line is done
    assert json.loads(chorus("render", str(project), "--json", home=home).stdout)["jobs"] == 0
    assert not json.loads(
        chorus("lines", "list", str(project), "--status", "stale", "--json", home=home).stdout
    )

    bad = tmp_path / "bad.csv"
    bad.write_text("word,alias\nok,okay\nbroken,\n", encoding="utf-8")
    result = chorus("lexicon", "import", str(project), str(bad), home=home, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{bad}, line 3: the entry for 'broken'" in result.stderr
    result = chorus("lexicon", "add", str(project), "x", "y", "--speaker", "Nobody", home=home, check=False)
    assert result.returncode == 2 and "no speaker named 'Nobody'" in result.stderr
