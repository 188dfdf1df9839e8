"""Yarn Spinner, Ink and xlsx scripts, CSV translation columns, and re-import by line id."""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import sqlite3
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core import script_formats as sf
from studio.core import workflow
from studio.core.formats import ink, yarn
from studio.core.formats.records import ParsedLine, ParsedScene, ParsedScript, ScriptFormatError
from studio.core.model import LineStage, LineStatus
from studio.core.project import Project
from studio.core.store import ProjectFile

DATA = Path(__file__).resolve().parents[1] / "data" / "scripts"


def _rows(script: ParsedScript) -> list[tuple[str, str, str, str, str]]:
    return [(ln.id, ln.character, ln.text, ln.scene, ln.notes) for ln in script.lines]


def test_yarn_awkward_file() -> None:
    script = sf.read_script(DATA / "tavern_awkward.yarn")
    rows = _rows(script)
    assert rows[0] == ("tav_001", "Barkeep", "Welcome, stranger! What'll it be?", "Tavern", "")
    assert rows[1] == ("tav_002", "Hero", 'A "pint", and news. 🍺', "Tavern", "#tense")
    assert rows[2][1:3] == ("Barkeep", "You've got {$gold} coins left.")  # inline expression kept
    assert rows[3][1:3] == ("Narrator", "The fire crackles.")
    assert rows[4][1:3] == ("Narrator", "Ask about the ring")  # an option is a line
    assert rows[5][1:3] == ("Barkeep", "It's mine: don't touch.")  # escaped colon, condition dropped
    assert rows[6][:3] == ("tav_leave", "Narrator", "Leave")
    assert rows[7][1:4] == ("Hero", "Time: 10:30. Late again.", "The Street")  # comment dropped
    assert len(rows) == 8
    assert script.scenes == (ParsedScene("Tavern"), ParsedScene("The Street", "Rain on cobbles"))
    # stable generated ids for the untagged lines
    assert [ln.id for ln in sf.read_script(DATA / "tavern_awkward.yarn").lines] == [r[0] for r in rows]


def test_ink_awkward_file() -> None:
    script = sf.read_script(DATA / "tavern_awkward.ink")
    rows = _rows(script)
    assert rows[0] == ("tav_001", "Barkeep", "Welcome, stranger! What'll it be?", "tavern", "")
    assert rows[1] == ("tav_002", "Hero", "Where did you find it?", "tavern", "")  # bracketed part unsaid
    assert rows[2][1:3] == ("Barkeep", 'In a fish. "Honestly." 🐟')
    assert rows[3][1:3] == ("Hero", "A pint, please.")  # condition and divert dropped
    assert rows[4][1:] == ("Narrator", "The door creaks.", "tavern", "#sfx")  # a gather
    assert rows[5][1:] == ("Old Man Willow", "Look at this!", "tavern", "#angry")  # speaker tag
    assert rows[6][1:4] == ("Barkeep", "Tab's open.", "tavern")  # stitch stays in its knot
    assert rows[7][1:4] == ("Hero", "Shiny!", "ring")
    assert len(rows) == 8  # the bracket-only choice, logic, TODO and comments say nothing
    assert script.scenes[0] == ParsedScene("tavern", "A smoky room")


@pytest.mark.parametrize(("name", "fmt"), [("tavern_awkward.yarn", "yarn"), ("tavern_awkward.ink", "ink")])
def test_write_ids_tags_untagged_lines_and_changes_nothing_else(tmp_path: Path, name: str, fmt: str) -> None:
    path = tmp_path / name
    shutil.copy(DATA / name, path)
    before = sf.read_script(path)
    original = path.read_text(encoding="utf-8").splitlines()
    added = sf.write_ids(path)
    assert added == sum(1 for ln in before.lines if ln.id.startswith("line_"))
    after_text = path.read_text(encoding="utf-8")
    assert sf.read_script(path) == before  # same ids, now written in the file
    tag = "#line:" if fmt == "yarn" else "#id:"
    for old, new in zip(original, after_text.splitlines(), strict=True):
        assert re.sub(rf" {tag}line_[0-9a-f]{{10}}", "", new) == old
    assert sf.write_ids(path) == 0  # nothing left to tag


@pytest.mark.parametrize(
    ("fmt", "text", "line_number", "fragment"),
    [
        ("yarn", "title: A\n---\nBob: hi\n", 1, "never closed"),
        ("yarn", "title: A\n---\nBob: hi\n===\ntitle: A\n---\n===\n", 5, "already used"),
        ("yarn", "title: A\nBob says hi\n", 2, "header"),
        ("yarn", "---\nBob: hi\n===\n", 1, "no title"),
        ("yarn", "title: A\n---\n<<wait 2\n===\n", 3, "never closed"),
        ("yarn", "title: A\n---\nBob: hi #line:x\nAnn: yo #line:x\n===\n", 4, "already used"),
        ("ink", "=== \nBob: hi\n", 1, "needs a name"),
        ("ink", "Bob: hi\n/* open\nstill\n", 2, "never closed"),
        ("ink", "Bob: hi #id:a\nAnn: yo #id:a\n", 2, "already used"),
        ("ink", "#id:q\n-> x #id:z\n", 2, "no text"),
    ],
)
def test_malformed_game_scripts_name_the_line(fmt: str, text: str, line_number: int, fragment: str) -> None:
    with pytest.raises(ScriptFormatError) as info:
        sf.parse(text, fmt)
    assert info.value.line_number == line_number
    assert fragment in str(info.value)


# ---- round trips ------------------------------------------------------------------------------

_chars = st.characters(exclude_categories=["Cs", "Cc", "Zl", "Zp"])
AWKWARD = list(",;\"'()[]{}:#<>=@!.*/\\-_—…é漢😀+~|") + [
    "//",
    "->",
    "<<",
    ">>",
    "<>",
    "/*",
    "10:30",
    "{$x}",
    "[laugh]",
]


def _words(max_words: int = 6) -> st.SearchStrategy[str]:
    token = st.one_of(st.sampled_from(AWKWARD), st.text(_chars, min_size=1, max_size=8))
    return (
        st.lists(token, min_size=1, max_size=max_words)
        .map(" ".join)
        .map(lambda s: " ".join(s.split()))
        .filter(bool)
    )


_id = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,15}", fullmatch=True)
_tags = st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True), max_size=2).map(
    lambda tags: " ".join("#" + t for t in tags)
)


@st.composite
def game_scripts(draw: st.DrawFn, fmt: str) -> ParsedScript:
    names = draw(st.lists(_words(3), min_size=1, max_size=3, unique_by=str.casefold))
    titles = draw(st.lists(_words(3), min_size=1, max_size=3, unique_by=str.casefold))
    lines = draw(
        st.lists(
            st.builds(
                ParsedLine,
                id=_id,
                character=st.sampled_from(names),
                text=_words(),
                scene=st.sampled_from(["", *titles] if fmt == "yarn" else titles),
                notes=_tags,
            ),
            min_size=1,
            max_size=8,
            unique_by=lambda ln: ln.id,
        )
    )
    if fmt == "ink" and lines:  # top-level content (no scene) may only come first
        lines[0] = dataclasses.replace(lines[0], scene=draw(st.sampled_from(["", *titles])))
    used = list(dict.fromkeys(ln.scene for ln in lines if ln.scene))  # in the order a reader meets them
    scenes = [ParsedScene(t, draw(st.one_of(st.just(""), _words(4)))) for t in used]
    return ParsedScript.from_lines(lines, scenes)


ROUND_TRIP = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


@pytest.mark.parametrize("fmt", ["yarn", "ink"])
@ROUND_TRIP
@given(data=st.data())
def test_game_format_round_trip(fmt: str, data: st.DataObject) -> None:
    script = data.draw(game_scripts(fmt))
    written = sf.dump(script, fmt)
    assert sf.parse(written, fmt) == script, written
    crlf = "\ufeff" + written.replace("\n", "\r\n")
    assert sf.parse(crlf, fmt) == script


_cell = st.characters(exclude_categories=["Cs", "Cc"], exclude_characters="\x00") | st.just("\n")


@st.composite
def table_scripts(draw: st.DrawFn) -> ParsedScript:
    def words(n: int) -> st.SearchStrategy[str]:
        token = st.one_of(
            st.sampled_from([*AWKWARD, "=SUM(A1)", "007", "1.5"]), st.text(_cell, min_size=1, max_size=8)
        )
        return st.lists(token, min_size=1, max_size=n).map(" ".join).map(str.strip).filter(bool)

    names = draw(st.lists(words(2), min_size=1, max_size=3, unique_by=str.casefold))
    languages = draw(st.lists(st.sampled_from(["fr", "de", "ja", "pt-br"]), unique=True, max_size=3))
    lines = draw(
        st.lists(
            st.builds(
                ParsedLine,
                id=words(2),
                character=st.sampled_from(names),
                text=words(5),
                direction=st.one_of(
                    st.just(""), words(2).filter(lambda d: not (d.startswith("(") and d.endswith(")")))
                ),
                notes=st.one_of(st.just(""), words(3)),
                translations=st.tuples(*[st.tuples(st.just(code), words(4)) for code in sorted(languages)]),
            ),
            min_size=1,
            max_size=6,
            unique_by=lambda ln: ln.id,
        )
    )
    return ParsedScript.from_lines(lines)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(script=table_scripts())
def test_tables_round_trip_with_translations(
    tmp_path_factory: pytest.TempPathFactory, fmt: str, script: ParsedScript
) -> None:
    path = tmp_path_factory.mktemp("t") / f"s.{fmt}"
    sf.write_script(path, script)
    assert sf.read_script(path) == script


def test_xlsx_awkward_sheet(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Lines"
    sheet.append([None])
    sheet.append(["ID", " Character ", "Text", "Scene", "text:FR", "text:de", "Comment"])
    sheet.append([101, "Bob", 'He said "hi",\nthen left 😀', "Inn", "Il a dit « salut »", None, "x"])
    sheet.append([None, "Ann", "No id here", "Inn", None, "Keine ID", None])
    sheet.append([None, None, None, None, None, None, None])
    sheet.append(["B7", "Ann", 3.5, "", "3,5", "", ""])
    path = tmp_path / "lines.xlsx"
    book.save(path)
    script = sf.read_script(path)
    assert [(ln.id, ln.character, ln.text, ln.translations) for ln in script.lines] == [
        ("101", "Bob", 'He said "hi",\nthen left 😀', (("fr", "Il a dit « salut »"),)),
        (script.lines[1].id, "Ann", "No id here", (("de", "Keine ID"),)),
        ("B7", "Ann", "3.5", (("fr", "3,5"),)),
    ]
    assert script.lines[1].id.startswith("line_")
    sheet.append(["B8", "Bob", None, "", "", "", ""])
    book.save(path)
    with pytest.raises(
        ScriptFormatError, match=r"^lines\.xlsx, sheet Lines, row 7: the text for Bob is empty$"
    ):
        sf.read_script(path)
    (tmp_path / "junk.xlsx").write_bytes(b"not a zip")
    with pytest.raises(ScriptFormatError, match=r"junk\.xlsx, row 1: this is not a readable \.xlsx"):
        sf.read_script(tmp_path / "junk.xlsx")


def test_csv_translation_columns() -> None:
    text = "id,character,text,text:fr,TEXT:de\r\nL1,Bob,Hello,Bonjour,\r\nL2,Ann,Bye,,Tschüss\r\n"
    script = sf.parse(text, "csv")
    assert [ln.translations for ln in script.lines] == [(("fr", "Bonjour"),), (("de", "Tschüss"),)]
    assert sf.dump(script, "csv").splitlines()[0] == "id,character,text,direction,scene,notes,text:de,text:fr"
    with pytest.raises(ScriptFormatError, match="text:fr' twice"):
        sf.parse("id,character,text,text:fr,text:FR\r\n", "csv")


# ---- re-import by id -------------------------------------------------------------------------------


def test_reimport_updates_by_id_and_never_duplicates() -> None:
    project = Project()
    first = sf.parse("title: Inn\n---\nBob: One #line:a\nAnn: Two #line:b\nBob: Three #line:c\n===\n", "yarn")
    batch, report = sf.merge_script(project, first)
    project.apply(batch)
    assert report.added == ("a", "b", "c") and not report.removed
    # a rendered line, an approved one, a locked one
    for line_id, stage in (("a", LineStage.RENDERED), ("b", LineStage.APPROVED), ("c", LineStage.LOCKED)):
        project.apply(workflow.set_stage(project, [line_id], stage, who="ann"))
    for line_id in "abc":
        project.apply(sf.Update("line", line_id, (("status", LineStatus.DONE),)))
    edited = sf.parse(
        "title: Inn\n---\nBob: One #line:a\nAnn: Two, changed #line:b\nCid: New! #line:n\n"
        "Bob: Three, changed #line:c\n===\n",
        "yarn",
    )
    batch, report = sf.merge_script(project, edited)
    inverse = project.apply(batch)
    assert report.added == ("n",) and report.changed == ("b", "c") and report.unchanged == 1
    assert project.line_order == ["a", "b", "n", "c"]
    assert project.lines["b"].status == LineStatus.STALE and project.lines["b"].stage == LineStage.READY
    assert project.lines["c"].stage == LineStage.LOCKED and project.lines["c"].text == "Three, changed"
    assert "locked by ann" in project.lines["c"].notes
    assert project.lines["a"].status == LineStatus.DONE
    # the same file again changes nothing; a file without a line reports it and keeps it
    batch, report = sf.merge_script(project, edited)
    assert report.unchanged == 4 and not batch.ops
    shorter = ParsedScript.from_lines([ln for ln in edited.lines if ln.id != "a"], edited.scenes)
    batch, report = sf.merge_script(project, shorter)
    project.apply(batch)
    assert report.removed == ("a",) and "a" in project.lines and len(project.lines) == 4
    project.apply(inverse)
    assert "n" not in project.lines and project.lines["b"].text == "Two"


def test_reimport_adds_translation_languages() -> None:
    project = Project()
    script = sf.parse("id,character,text,text:fr\r\nL1,Bob,Hello,Bonjour\r\n", "csv")
    batch, _ = sf.merge_script(project, script)
    project.apply(batch)
    assert project.settings.target_languages == ("fr",)
    assert workflow.line_text(project, project.lines["L1"], "fr") == "Bonjour"
    assert workflow.line_text(project, project.lines["L1"], "en") == "Hello"


def test_schema_2_project_opens_with_languages_and_stages(tmp_path: Path) -> None:
    pf = ProjectFile.create(tmp_path / "old")
    batch, _ = sf.merge_script(pf.project, sf.parse("id,character,text\r\nL1,Bob,Hi\r\nL2,Ann,Yo\r\n", "csv"))
    pf.project.apply(batch)
    pf.project.apply(sf.Update("line", "L1", (("status", LineStatus.DONE),)))
    pf.close()
    con = sqlite3.connect(tmp_path / "old.chorus" / "project.db")
    for table, column in (
        ("lines", "translations"),
        ("lines", "language_takes"),
        ("lines", "stage"),
        ("takes", "language"),
    ):
        con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    later = (("takes", "qa"), ("takes", "favourite"), ("lines", "recording_id"), ("lines", "words"))
    for table, column in later:  # what schemas after 2 added
        try:
            con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        except sqlite3.OperationalError:
            pass
    for table in ("lexicon", "recordings"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    con.commit()
    con.close()
    with ProjectFile.open(tmp_path / "old.chorus") as reopened:
        assert reopened.project.lines["L1"].stage == LineStage.RENDERED
        assert reopened.project.lines["L2"].stage == LineStage.DRAFT
        reopened.project.apply(workflow.set_translation(reopened.project, "L2", "fr", "Salut"))
    with ProjectFile.open(tmp_path / "old.chorus") as again:
        assert again.project.lines["L2"].translations == (("fr", "Salut"),)


def test_yarn_and_ink_writers_keep_their_syntax_valid_for_the_other_reader() -> None:
    script = sf.read_script(DATA / "tavern_awkward.yarn")
    for fmt in ("ink", "yarn", "csv", "higgs"):
        again = sf.parse(sf.dump(script, fmt), fmt)
        assert [(ln.id, ln.text) for ln in again.lines] == [(ln.id, ln.text) for ln in script.lines]
    assert isinstance(yarn.escape_text("a"), str) and isinstance(ink.escape_text("a"), str)
    assert io  # (imported for symmetry with the csv tests)
