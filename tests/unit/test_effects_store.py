"""Effect chains and variant styles in the project file; a schema-1 project opens and keeps its recipes."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from studio.core import effects as fxc
from studio.core import ops
from studio.core.model import LATEST_VARIANT_STYLE, Speaker, Track
from studio.core.store import SCHEMA_VERSION, ProjectFile

SCHEMA1 = Path(__file__).parents[1] / "data" / "projects" / "schema1.chorus"


def test_schema1_project_opens_with_empty_chains_and_its_old_variants(tmp_path: Path) -> None:
    root = tmp_path / "old.chorus"
    shutil.copytree(SCHEMA1, root)
    (root / "media").mkdir(exist_ok=True)
    with ProjectFile.open(root) as pf:
        project = pf.project
        assert project.tracks["trk_a"].effects == ()
        voice = project.speakers["spk_a"].voice
        assert (voice.variant, voice.variant_style, voice.effects) == (3, 1, ())
        project.apply(fxc.use_preset(project, "track", "trk_a", "Radio"))
        project.apply(fxc.add_effect(project, "speaker", "spk_a", fxc.effect("reverb", room_size=0.7)))
    with ProjectFile.open(root) as pf:
        assert pf.db.table("meta").get("schema_version")["value"] == str(SCHEMA_VERSION)
        assert pf.project.tracks["trk_a"].effects == fxc.PRESETS["radio"]
        voice = pf.project.speakers["spk_a"].voice
        assert voice.effects == (fxc.effect("reverb", room_size=0.7),) and voice.variant_style == 1


def test_new_voices_get_the_latest_variant_style_and_chains_round_trip(tmp_path: Path) -> None:
    with ProjectFile.create(tmp_path / "new") as pf:
        project = pf.project
        chain = (replace(fxc.effect("compressor", ratio=4), bypass=True), fxc.effect("deesser"))
        project.apply(ops.Insert(Speaker("s", "S")))
        project.apply(ops.Insert(Track("t", "T", effects=chain)))
        root = pf.root
    with ProjectFile.open(root) as pf:
        assert pf.project.speakers["s"].voice.variant_style == LATEST_VARIANT_STYLE
        assert pf.project.tracks["t"].effects == chain
