"""``chorus voices add/edit --fx PRESET`` sets a bank voice's effect chain; ``show`` lists it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.cli import main
from studio.core import effects as fxc


def test_a_voice_chain_from_a_preset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bank = ["--bank", str(tmp_path / "bank")]
    assert main(["voices", "add", "Ghost", "--profile", "A hollow whisper", "--fx", "Cave", *bank]) == 0
    capsys.readouterr()
    assert main(["voices", "show", "Ghost", *bank]) == 0
    out = capsys.readouterr().out
    assert "effects:" in out and "3. Reverb (room 0.92" in out
    assert main(["voices", "edit", "Ghost", "--fx", "radio", "--json", *bank]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [fx["kind"] for fx in data["effects"]] == [fx.kind for fx in fxc.preset("radio")]
    assert main(["voices", "edit", "Ghost", "--fx", "none", *bank]) == 0
    capsys.readouterr()
    assert main(["voices", "show", "Ghost", *bank]) == 0
    assert "effects" not in capsys.readouterr().out
    assert main(["voices", "edit", "Ghost", "--fx", "bogus", *bank]) == 2
    assert "unknown preset 'bogus'" in capsys.readouterr().err
