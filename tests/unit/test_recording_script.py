"""Recording scripts for actors: one HTML page and one CSV per character, parsed back."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser
from pathlib import Path

import pytest

from studio.core import script_formats as sf
from studio.core import workflow
from studio.core.model import LineStage
from studio.core.project import Project
from studio.core.recording_script import (
    COLUMNS,
    RecordingScriptError,
    file_stem,
    recording_scripts,
    to_html,
    write_recording_scripts,
)

SCRIPT = (
    "id,character,text,direction,scene,text:fr\r\n"
    'T1,Bram,"Welcome, <stranger> & friends!",warmly,Inn,"Bienvenue, étranger !"\r\n'
    'T2,Ann,"A ""pint"", please. 🍺",,Inn,"Une bière, s\'il vous plaît. 🍺"\r\n'
    "T3,Bram,Coming right up.,,Inn,\r\n"
    "S1,Ann,Rain again.,(sighs),Street,Encore la pluie.\r\n"
    "S2,Bram,Wait for me!,shouting,Street,Attends-moi !\r\n"
)


def _project() -> Project:
    project = Project()
    batch, _ = sf.merge_script(project, sf.parse(SCRIPT, "csv"))
    project.apply(batch)
    project.apply(workflow.set_stage(project, ["T2"], LineStage.LOCKED, who="ann"))
    return project


class _Table(HTMLParser):
    """Rows of every <tbody> as lists of cell texts, and the <h2> scene headings."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.headings: list[str] = []
        self.title = ""
        self._cell: list[str] | None = None
        self._where = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("h2", "title"):
            self._where = tag
            if tag == "h2":
                self.headings.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None
        elif tag in ("h2", "title"):
            self._where = ""

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._where == "h2":
            self.headings[-1] += data
        elif self._where == "title":
            self.title += data


def _parse(text: str) -> _Table:
    parser = _Table()
    parser.feed(text)
    parser.close()
    return parser


def test_one_page_and_one_csv_per_character_parsed_back(tmp_path: Path) -> None:
    report = write_recording_scripts(_project(), tmp_path / "out")
    assert sorted(report.files) == ["Ann.csv", "Ann.html", "Bram.csv", "Bram.html"]
    assert report.lines == 5 and not report.untranslated
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(report.files)  # no temp files

    bram = _parse((tmp_path / "out" / "Bram.html").read_text(encoding="utf-8"))
    assert "Bram" in bram.title and bram.headings == ["Inn", "Street"]
    body = [r for r in bram.rows if r and r[0] != "Line id"]
    assert body[0] == ["T1", "(scene start)", "warmly", "Welcome, <stranger> & friends!", "draft"]
    assert body[1] == ["T3", 'Ann: A "pint", please. 🍺', "", "Coming right up.", "draft"]
    # the first line of a scene has no context from the scene before
    assert body[2] == ["S2", "Ann: Rain again.", "shouting", "Wait for me!", "draft"]

    with open(tmp_path / "out" / "Ann.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == COLUMNS
    assert rows[1] == [
        "T2",
        "Inn",
        "Bram",
        "Welcome, <stranger> & friends!",
        "",
        'A "pint", please. 🍺',
        "locked",
    ]
    assert rows[2] == ["S1", "Street", "", "", "sighs", "Rain again.", "draft"]


def test_html_escapes_everything_it_shows() -> None:
    project = _project()
    project.apply(sf.Update("line", "T1", (("direction", '<b>"loud"</b> & <script>'),)))
    scripts, _ = recording_scripts(project, characters=["bram"])
    page = to_html(scripts[0], title="<Inn> & co")
    assert "<script" not in page and '<b>"loud' not in page and "&lt;stranger&gt; &amp; friends!" in page
    rows = [r for r in _parse(page).rows if r and r[0] == "T1"]
    assert rows[0][2] == '<b>"loud"</b> & <script>'


def test_target_language_and_character_filter(tmp_path: Path) -> None:
    project = _project()
    scripts, untranslated = recording_scripts(project, "fr", ["BRAM"])
    assert [s.character for s in scripts] == ["Bram"] and untranslated == 1  # T3 has no French
    lines = scripts[0].lines
    assert [ln.id for ln in lines] == ["T1", "S2"] and scripts[0].language == "fr"
    assert lines[1].context == "Encore la pluie." and lines[1].text == "Attends-moi !"
    report = write_recording_scripts(project, tmp_path, "fr", ["Ann"])
    assert report.files == ["Ann.html", "Ann.csv"]
    page = _parse((tmp_path / "Ann.html").read_text(encoding="utf-8"))
    assert ["T2", "Bram: Bienvenue, étranger !", "", "Une bière, s'il vous plaît. 🍺", "locked"] in page.rows


@pytest.mark.parametrize(
    ("language", "characters", "fragment"),
    [("xx-1", (), "not a language code"), ("de", (), "no language 'de'"), ("", ("Zed",), "no character")],
)
def test_bad_input_is_one_line(
    tmp_path: Path, language: str, characters: tuple[str, ...], fragment: str
) -> None:
    with pytest.raises(RecordingScriptError, match=fragment) as info:
        write_recording_scripts(_project(), tmp_path, language, characters)
    assert "\n" not in str(info.value)


def test_file_stems_are_safe_and_unique() -> None:
    assert file_stem("Old Man Willow") == "Old_Man_Willow"
    assert file_stem("../etc/passwd") == "etc_passwd"
    assert file_stem("Ann", ["ann"]) == "Ann-2"
    assert file_stem("???") == "unnamed"


def test_csv_is_the_same_table_as_the_page() -> None:
    scripts, _ = recording_scripts(_project())
    from studio.core.recording_script import to_csv

    for script in scripts:
        rows = list(csv.reader(io.StringIO(to_csv(script).lstrip("\ufeff"))))
        assert [r[0] for r in rows[1:]] == [ln.id for ln in script.lines]
