"""`chorus voices …` end to end, as a user runs it: a real subprocess, a bank in a temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

CHORUS = Path(sys.executable).parent / "chorus"


def voice_signal(seconds: float, seed: int = 0, rate: int = 24000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(125 + 25 * seed + 15 * np.sin(2 * np.pi * 0.8 * t)) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 8)) * np.clip(np.sin(2 * np.pi * 2.2 * t), 0, None) ** 0.5
    return (0.2 * x).astype(np.float32)


def run(bank: Path, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHORUS_VOICE_BANK": str(bank)}
    env.pop("CHORUS_DEBUG", None)
    proc = subprocess.run(
        [str(CHORUS), "voices", *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == code, (args, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    return proc


def test_voices_cli_end_to_end(tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    sf.write(tmp_path / "ada.wav", voice_signal(2.5, 0), 24000)
    (tmp_path / "ada.txt").write_text("Hello, I am Ada.\n", encoding="utf-8")
    broken = (tmp_path / "ada.wav").read_bytes()
    (tmp_path / "broken.wav").write_bytes(broken[: len(broken) // 2])

    proc = run(
        bank,
        "add",
        "Ada",
        "--clip",
        str(tmp_path / "ada.wav"),
        "--tag",
        "gender:female",
        "--tag",
        "calm",
        "--set",
        "temperature=0.7",
        "--owner",
        "Ada L",
        "--consent",
        "signed form",
        "--licence",
        "CC-BY-4.0",
        "--json",
    )
    added = json.loads(proc.stdout)
    assert "chorus: warning: short: 2.5 s of speech" in proc.stderr and added["warnings"]
    assert added["clips"][0]["transcript"] == "Hello, I am Ada."  # from the sidecar
    assert Path(added["clips"][0]["path"]).is_file() and Path(added["clips"][0]["path"]).is_relative_to(bank)
    assert added["settings"] == {"temperature": 0.7} and added["provenance"]["owner"] == "Ada L"
    run(bank, "add", "Narrator", "--profile", "Male, British accent, calm", "--language", "en")

    bad = run(bank, "add", "Broken", "--clip", str(tmp_path / "broken.wav"), "--transcript", "x", code=2)
    assert bad.stderr.startswith("chorus: error: broken.wav is truncated")
    bad = run(bank, "edit", "Ada", "--set", "top_k=many", code=2)
    assert "top_k must be a number" in bad.stderr

    edited = json.loads(
        run(
            bank, "edit", "ada", "--transcript", "Hello, I am Ada Lovelace.", "--untag", "calm", "--json"
        ).stdout
    )
    assert edited["clips"][0]["transcript"] == "Hello, I am Ada Lovelace." and edited["tags"]["free"] == []
    listed = json.loads(run(bank, "list", "--tag", "gender:female", "--json").stdout)
    assert [v["name"] for v in listed] == ["Ada"]
    table = run(bank, "list", "--search", "british").stdout
    assert "Narrator" in table and "Ada" not in table
    run(bank, "add", "Bob", "--profile", "Gruff")
    run(bank, "remove", "Bob")

    pack = tmp_path / "out.chorusvoice"
    run(bank, "export", "Ada", "Narrator", str(pack))
    run(bank, "export", "--all", "--presets", str(tmp_path / "presets"))
    assert (
        json.loads((tmp_path / "presets" / "config.json").read_text())["Ada"]["transcript"]
        == "Hello, I am Ada Lovelace."
    )
    mine = json.loads(run(bank, "list", "--json").stdout)
    assert [v["name"] for v in mine] == ["Ada", "Narrator"]
    imported = json.loads(run(bank, "import", str(pack), "--bank", str(tmp_path / "fresh"), "--json").stdout)

    def strip(voices: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**v, "clips": [{**c, "path": ""} for c in v["clips"]]} for v in voices]

    assert imported["layout"] == "pack" and strip(imported["imported"]) == strip(mine)

    presets = json.loads(
        run(bank, "import", str(tmp_path / "presets"), "--bank", str(tmp_path / "third"), "--json").stdout
    )
    assert presets["layout"] == "vllm" and [v["name"] for v in presets["imported"]] == ["Ada"]

    evil = tmp_path / "evil.chorusvoice"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr(
            "manifest.json", json.dumps({"format": "chorus-voice-pack", "version": 1, "voices": []})
        )
        archive.writestr("../../escape.wav", b"RIFF")
    bad = run(bank, "import", str(evil), "--bank", str(tmp_path / "fourth"), code=2)
    assert "unsafe path '../../escape.wav'" in bad.stderr
    assert not (tmp_path / "escape.wav").exists()


def test_add_without_transcript_transcribes_the_clip_and_show_flags_a_wrong_one(
    tmp_path: Path, piper_takes
) -> None:
    """Issue 11 item 5: the speech recogniser (an engine process) fills a missing transcript."""
    bank = tmp_path / "bank"
    clip = tmp_path / "tavern.wav"
    clip.write_bytes(Path(piper_takes["tavern"]).read_bytes())
    added = run(bank, "add", "Innkeeper", "--clip", str(clip))
    assert "transcribed the clip" in added.stderr and "no transcript" not in added.stderr
    [data] = json.loads(run(bank, "list", "--json").stdout)
    [heard] = data["clips"]
    assert (
        "everything in this tavern" in heard["transcript"].lower() and heard["heard"] == heard["transcript"]
    )
    assert heard["mismatch"] == ""
    run(bank, "edit", "Innkeeper", "--transcript", "Welcome back to the show, where we talk about the city.")
    shown = run(bank, "show", "Innkeeper").stdout
    assert "! the clip says: “" in shown and "tavern" in shown.split("! the clip says:")[1]
    [data] = json.loads(run(bank, "list", "--json").stdout)
    assert data["clips"][0]["mismatch"].startswith("the clip says:")
    kept = run(bank, "add", "Quiet", "--clip", str(clip), "--no-transcribe")
    assert "no transcript" in kept.stderr
