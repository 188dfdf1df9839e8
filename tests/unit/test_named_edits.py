"""Widgets call named edits; the named edits do what their names say and undo exactly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from studio.core import ops
from studio.core.model import Clip, LineStatus, Marker, Scene, ScriptLine, Speaker, Track
from studio.core.project import Project

UI = Path(__file__).resolve().parents[2] / "studio" / "ui"


def test_no_widget_builds_an_update_by_hand() -> None:
    offenders = [
        f"{path.name}:{n}"
        for path in sorted(UI.glob("qt_*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bops\.Update\(", line)
    ]
    assert not offenders, f"use a named edit from studio.core.ops instead: {offenders}"


@pytest.fixture
def project() -> Project:
    p = Project()
    p.apply(ops.Insert(Speaker("a", "Ada")))
    p.apply(ops.Insert(Scene("s1", "One")))
    p.apply(ops.Insert(Scene("s2", "Two")))
    p.apply(ops.add_line(ScriptLine("L1", "a", "Hello.", scene_id="s1", status=LineStatus.DONE)))
    p.apply(ops.Insert(Track("t", "Music")))
    p.apply(ops.Insert(Clip("c", "t", "m.wav", start=1.0, duration=4.0)))
    p.apply(ops.Insert(Marker("m", 2.0, "Intro")))
    return p


@pytest.mark.parametrize(
    ("edit", "check"),
    [
        (ops.set_line_notes("L1", "breathy"), lambda p: p.lines["L1"].notes == "breathy" and p.lines["L1"].status == LineStatus.DONE),
        (ops.change_scene("L1", "s2"), lambda p: p.lines["L1"].scene_id == "s2" and p.lines["L1"].status == LineStatus.STALE),
        (ops.select_take("L1", "k9", LineStatus.SUSPECT, "words differ"), lambda p: p.lines["L1"].selected_take == "k9" and p.lines["L1"].status_detail == "words differ"),
        (ops.set_clip("c", "Trim clip", start=1.5, duration=3.0, source_in=0.5), lambda p: (p.clips["c"].start, p.clips["c"].duration, p.clips["c"].source_in) == (1.5, 3.0, 0.5)),
        (ops.move_marker("m", -3.0), lambda p: p.markers["m"].time == 0.0),
        (ops.rename_marker("m", "Cold open"), lambda p: p.markers["m"].title == "Cold open"),
    ],
)
def test_named_edits_apply_and_undo(project: Project, edit: ops.Op, check) -> None:
    before = (dict(project.lines), dict(project.clips), dict(project.markers))
    inverse = project.apply(edit)
    assert check(project)
    project.apply(inverse)
    assert (dict(project.lines), dict(project.clips), dict(project.markers)) == before


def test_set_clip_refuses_unknown_fields() -> None:
    with pytest.raises(ops.EditError, match="unknown clip field"):
        ops.set_clip("c", colour="red")
