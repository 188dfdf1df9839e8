"""Script formats: hand-written awkward files, malformed input, round trips (property-based), glue."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core import script_formats as sf
from studio.core.formats.records import natural_ids
from studio.core.model import SPEAKER_COLOURS, Scene, ScriptLine, Speaker, Voice
from studio.core.ops import Batch
from studio.core.project import Project
from studio.core.script_formats import (
    FORMATS,
    ParsedLine,
    ParsedScene,
    ParsedScript,
    ScriptFormatError,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "scripts"


def _texts(script: ParsedScript) -> list[tuple[str, str, str]]:
    return [(line.character, line.text, line.direction) for line in script.lines]


# ---- hand-written files -------------------------------------------------------------------------


def test_higgs_plain_file_as_the_reference_repo_writes_it() -> None:
    script = sf.read_script(DATA / "higgs_plain.txt")
    assert script.characters == ("SPEAKER0", "SPEAKER1", "SPEAKER2")
    assert _texts(script) == [
        ("SPEAKER0", "I can't believe you did that without even asking me first!", ""),
        (
            "SPEAKER1",
            "Oh, come on! [laugh] It wasn't a big deal, and I knew you would overreact like this.",
            "",
        ),
        (
            "SPEAKER0",
            "Overreact? You made a decision that affects both of us without even considering my opinion!",
            "",
        ),
        (
            "SPEAKER1",
            "Because I didn't have time to sit around waiting for you to make up your mind!\nSomeone had to act.",
            "",
        ),
        ("SPEAKER2", "[humming start] la la la [humming end]", ""),
        (
            "SPEAKER1",
            "Oh, come on! [laugh] It wasn't a big deal, and I knew you would overreact like this.",
            "",
        ),
    ]
    ids = [line.id for line in script.lines]
    assert len(set(ids)) == len(ids), "a repeated turn still gets its own id"
    assert script.scenes == ()


def test_higgs_file_with_chorus_comments() -> None:
    script = sf.read_script(DATA / "higgs_chorus.txt")
    assert script.characters == ("Bob", "Alice Ó'Brien", "Narrator")  # header order
    first, second, third, fourth = script.lines
    assert first == ParsedLine(
        "intro-001", "Alice Ó'Brien", "Hello there. [laugh] (Is anyone up?)", "whispering", "The kitchen"
    )
    assert second.id == "intro-002" and second.character == "Bob"
    assert second.text == 'Hi, Alice — "Good morning".'
    assert second.notes == "Pick-up from session 2\nsecond note line with a \\ backslash"
    assert (third.character, third.text, third.scene) == ("Narrator", "The rain stops.", "Outside")
    assert fourth.text == "#1 fan, [SPEAKER1] is not a tag here."
    assert script.scenes == (
        ParsedScene("The kitchen", "Morning.\nRain on the window."),
        ParsedScene("Outside"),
    )


def test_screenplay_with_bom_crlf_and_parentheticals_on_their_own_lines() -> None:
    raw = (DATA / "screenplay_awkward.txt").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # the fixture is what it claims
    script = sf.read_script(DATA / "screenplay_awkward.txt")
    assert [(line.character, line.text, line.direction, line.scene) for line in script.lines] == [
        ("ALICE", "Hello there: it's 10:30, see http://example.com", "whispering", "The kitchen"),
        ("Bob", "Hi.", "", "The kitchen"),
        ("Bob", "Is anyone up?", "quietly", "The kitchen"),  # "BOB" is the same character as "Bob"
        ("ALICE", "Not yet.\nCome back later.", "tired", "The kitchen"),
        ("ALICE", "Or not.", "beat", "The kitchen"),  # a direction inside a speech starts a new line
        ("ALICE", "(aside) This text starts with a parenthesis.", "", "The kitchen"),
        ("Dr. Smith", "Page one (of two).", "reading", "The kitchen"),
        ("太郎", "こんにちは。", "", "The kitchen"),
        ("Bob", "Two blank lines above start a new scene.", "", "Scene 2"),
    ]
    assert script.lines[3].id == "alice-tired" and script.lines[3].notes == "keep it slow"
    assert script.scenes == (
        ParsedScene("The kitchen", "Morning.\nRain on the window."),
        ParsedScene("Scene 2"),
    )


def test_screenplay_blank_line_breaks_name_scenes_by_position() -> None:
    script = sf.parse("A: one\nB: two\n\n\n\nA: three\n\n\nB: four\n", "screenplay")
    assert [line.scene for line in script.lines] == ["Scene 1", "Scene 1", "Scene 2", "Scene 3"]
    # one blank line is not a break, and a heading after blank lines is the scene's name
    script = sf.parse("A: one\n\nB: two\n\n\n== Late ==\nA: three\n", "screenplay")
    assert [line.scene for line in script.lines] == ["", "", "Late"]


def test_fountain_with_title_page_boneyard_notes_and_extensions() -> None:
    script = sf.read_script(DATA / "fountain_title_boneyard.fountain")
    assert [(line.character, line.text, line.direction, line.scene) for line in script.lines] == [
        ("ALICE", "Hello there.\nIs anyone up?", "whispering", "INT. KITCHEN - DAY"),
        ("BOB", "Hi.", "", "INT. KITCHEN - DAY"),
        ("BOB", "Well then, Alice.", "beat", "INT. KITCHEN - DAY"),
        ("ALICE", "Not yet.", "", "INT. KITCHEN - DAY"),
        ("McCLANE", "Yippee-ki-yay.", "", "INT. KITCHEN - DAY"),
        ("BOB", "Dual dialogue.", "", "INT. KITCHEN - DAY"),
        ("ALICE", "La la la.", "singing", "THE GARDEN"),
    ]
    assert [line.id for line in script.lines][0] == "k-001"
    assert script.lines[4].id == "k-002"
    assert script.lines[1].notes == "A note for the actor:\nkeep it light"
    assert script.scenes == (
        ParsedScene("INT. KITCHEN - DAY", "Rain on the window.\nThe kettle hums."),
        ParsedScene("THE GARDEN", "Birds sing."),
    )
    assert "Title" not in script.characters and "FADE IN:" not in " ".join(_t[1] for _t in _texts(script))


def test_csv_with_bom_crlf_embedded_newlines_and_extra_columns() -> None:
    raw = (DATA / "vo_lines.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    script = sf.read_script(DATA / "vo_lines.csv")
    guard1, guard2, hero, guard3, merchant, guard4 = script.lines
    assert guard1 == ParsedLine(
        "grd_001", "Guard", "Halt! Who goes there, stranger?", "shouting", "Gate", "pick-up"
    )
    assert guard2.text == 'He said "stop", didn\'t he?'
    assert hero.text == "First line of a poem,\nsecond line of the poem."
    assert hero.direction == "softly" and hero.notes == "two lines\nof notes"
    assert merchant == ParsedLine(
        "mer_001", "Merchant", "Ünïcödé wares — 50% off!", "whispering, fast", "Market"
    )
    # empty ids: generated, unique, and the same on every import
    assert guard3.text == guard4.text and guard3.id != guard4.id
    assert sf.read_script(DATA / "vo_lines.csv") == script
    assert script.scenes == (ParsedScene("Gate"), ParsedScene("Market"))


def test_csv_semicolon_delimiter_and_quote_inside_unquoted_field() -> None:
    script = sf.parse('ID ; Character ; Text\nL1;Bob;hi, there\nL2;Al;He said "hi" twice\n', "csv")
    assert _texts(script) == [("Bob", "hi, there", ""), ("Al", 'He said "hi" twice', "")]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("higgs_plain.txt", "higgs"),
        ("higgs_chorus.txt", "higgs"),
        ("screenplay_awkward.txt", "screenplay"),
        ("fountain_title_boneyard.fountain", "fountain"),
        ("vo_lines.csv", "csv"),
    ],
)
def test_fixtures_detected_and_stable_through_export(name: str, fmt: str) -> None:
    text = (DATA / name).read_text(encoding="utf-8-sig")
    assert sf.detect_format(DATA / name, text) == fmt
    script = sf.parse(text, fmt)
    assert sf.parse(sf.dump(script, fmt), fmt) == script
    # and through every other format, as far as that format can hold it
    for other in FORMATS:
        again = sf.parse(sf.dump(script, other), other)
        assert [(line.id, line.text) for line in again.lines] == [
            (line.id, line.text) for line in script.lines
        ]


def test_screenplay_writes_other_names_with_a_leading_at() -> None:
    script = ParsedScript.from_lines(
        [ParsedLine("a", "Guard #2", "Halt!"), ParsedLine("b", "2B", "Hi."), ParsedLine("c", "@home", "Yo.")]
    )
    written = sf.dump(script, "screenplay")
    assert "@Guard #2: Halt!" in written and "@2B: Hi." in written and "@@home: Yo." in written
    assert sf.parse(written, "screenplay") == script


@pytest.mark.parametrize(
    ("fmt", "text", "read_back"),
    [
        ("higgs", "One\n[SPEAKER1] two\n# three\nfour", "One [SPEAKER1] two # three\nfour"),
        ("screenplay", "One\nBOB: two\n(three)\n\nfour", "One BOB: two (three)\nfour"),
        ("fountain", "One\n(two)\nthree", "One (two)\nthree"),
    ],
)
def test_text_rows_that_would_read_as_something_else_are_joined(fmt: str, text: str, read_back: str) -> None:
    script = ParsedScript.from_lines([ParsedLine("a", "ANN", text)])
    (line,) = sf.parse(sf.dump(script, fmt), fmt).lines
    assert (line.id, line.character, line.text) == ("a", "ANN", read_back)


def test_detect_format_sniffs_txt() -> None:
    assert sf.detect_format("a.txt", "[SPEAKER0] hi\n[SPEAKER1] yo\n") == "higgs"
    assert sf.detect_format("a.txt", "ALICE: hi\nBOB: [laugh] yo\n") == "screenplay"
    assert sf.detect_format("a.txt", "Title: X\n\nINT. HOUSE - DAY\n\nBOB\nHi.\n") == "fountain"
    assert sf.detect_format("lines", "\ufeffid,character,text\nL1,A,hi\n") == "csv"
    assert sf.detect_format("a.CSV") == "csv"
    assert sf.detect_format(Path("x/a.fountain")) == "fountain"
    assert sf.detect_format("a.txt", "") == "screenplay"


def test_natural_ids_survive_edits_elsewhere_in_the_file() -> None:
    before = sf.parse("A: one\nB: two\nA: one\n", "screenplay")
    after = sf.parse("C: new line on top\nA: one\nB: two, edited\nA: one\n", "screenplay")
    assert [before.lines[0].id, before.lines[2].id] == [after.lines[1].id, after.lines[3].id]
    assert before.lines[1].id != after.lines[2].id  # its text changed


def test_read_write_files(tmp_path: Path) -> None:
    script = sf.read_script(DATA / "higgs_chorus.txt")
    for suffix, fmt in ((".csv", "csv"), (".fountain", "fountain"), (".txt", "screenplay")):
        path = tmp_path / f"out{suffix}"
        sf.write_script(path, script)
        assert (path.read_bytes().startswith(b"\xef\xbb\xbf")) == (fmt == "csv")
        assert [line.id for line in sf.read_script(path).lines] == [line.id for line in script.lines]
    sf.write_script(tmp_path / "out.txt", script, "higgs")
    assert sf.read_script(tmp_path / "out.txt") == script  # sniffed as higgs
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,character,text\nL1,Zoë,hi\n".encode("latin-1"))
    with pytest.raises(ScriptFormatError) as caught:
        sf.read_script(path)
    assert caught.value.line_number == 2
    assert str(caught.value).startswith("latin1.csv, line 2: this is not UTF-8")


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown script format 'docx'"):
        sf.parse("x", "docx")


# ---- malformed input ----------------------------------------------------------------------------

MALFORMED = [
    ("csv", "", 1, "file is empty"),
    ("csv", "id,character\nL1,Bob\n", 1, "missing text"),
    ("csv", "id,text,Text,character\n", 1, "'text' twice"),
    ("csv", 'id,character,text\nL1,Bob,"hi\nthere\nL2,Al,yo\n', 2, "unbalanced quotes"),
    ("csv", 'id,character,text\nL1,Bob,hi\nL2,Al,"yo"x\n', 3, "closing quote"),
    ("csv", 'id,character,text\nL1,Bob,"multi\nline"\nL2,Al,  \n', 4, "text for Al is empty"),
    (
        "csv",
        'id,character,text\n\nL1,Bob,"a\r\nb"\r\nL1,Al,yo\n',
        5,
        "'L1' is already used by the row at line 3",
    ),
    ("csv", "id,character,text\nL1,Bob,hi,extra\n", 2, "4 fields but the header has 3"),
    ("csv", "id,character,text\nL1,,hi\n", 2, "character is empty"),
    ("higgs", "[SPEAKER0] hi\n\nstray text\n", 3, "no speaker tag"),
    ("higgs", "# SPEAKER0 = Ann\n# SPEAKER1 = ANN\n", 2, "already the name of SPEAKER0"),
    ("higgs", "# SPEAKER0 =\n", 1, "no name"),
    ("higgs", "[SPEAKER0] hi\n[SPEAKER1]\n[SPEAKER0] x\n", 2, "SPEAKER1 has no text"),
    ("higgs", "# id: a\n[SPEAKER0] x\n# id: a\n[SPEAKER1] y\n", 3, "'a' is already used"),
    ("higgs", "# description: x\n", 1, "after a '# scene:'"),
    ("higgs", "# SPEAKER0 = SPEAKER1\n[SPEAKER0] a\n[SPEAKER1] b\n", 3, "add '# SPEAKER1 = NAME'"),
    ("screenplay", "ALICE: hi\n\nthere\n", 3, "no speaker"),
    ("screenplay", "ALICE: hi\n(aside) there\n\n(aside) stray\n", 4, "no speaker"),
    ("screenplay", "ALICE:\n\nBOB: x\n", 1, "ALICE has no text"),
    ("screenplay", "ALICE: hi\n> desc\n", 2, "must come right after"),
    ("screenplay", "A: x\n====\n", 2, "heading has no title"),
    ("screenplay", "# id: x\nA: one\n# id: x\nB: two\n", 3, "'x' is already used"),
    ("fountain", "ALICE\nhi /* never closed\n\nBOB\nyo\n", 2, "never closed with '*/'"),
    ("fountain", "ALICE\nhi [[ never\n\n", 2, "never closed with ']]'"),
    ("fountain", "ALICE\nhi [[id: x]]\n\nBOB\nyo [[id: x]]\n", 5, "'x' is already used"),
    ("fountain", "INT. A\n\nALICE\n(beat)\n", 3, "ALICE has no text"),
    ("fountain", "ALICE\nhi [[id: ]]\n", 2, "no id"),
]


@pytest.mark.parametrize(("fmt", "text", "line_number", "fragment"), MALFORMED)
def test_malformed_input_names_the_line(fmt: str, text: str, line_number: int, fragment: str) -> None:
    with pytest.raises(ScriptFormatError) as caught:
        sf.parse(text, fmt)
    assert caught.value.line_number == line_number
    assert str(caught.value).startswith(f"line {line_number}: ")
    assert fragment in str(caught.value)


def test_malformed_file_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("\ufeffid,character,text\r\nL1,Bob,\r\n", encoding="utf-8")
    with pytest.raises(ScriptFormatError, match=r"^bad\.csv, line 2: the text for Bob is empty$"):
        sf.read_script(path)


# ---- round trips, property-based ----------------------------------------------------------------
# Each format gets scripts made only of what it can hold (see each format module's "Round trip"):
# * higgs: anything on one line for names/texts/titles; notes, directions, descriptions may hold
#   line breaks (escaped in comments).
# * screenplay: names without ": " or "：" (plain NAME: names and @-forced ones); texts and
#   directions on one line, directions without parentheses; titles not ending in "=".
# * fountain: names without "(" or "^"; titles start with a letter or digit, no "#"; nothing holds
#   [[ ]] /* */; no text is wholly in parentheses; notes don't start with "id:".
# * csv: any characters but NUL/CR anywhere (line breaks included); no scene descriptions and no
#   scenes without lines; directions not wholly in parentheses (the parentheses are dropped).
# In the text formats, lines without a scene come first (a scene lasts until the next heading).
# Names and scene titles are distinct ignoring case (the project glue merges them otherwise).

AWKWARD = list(",;\"'()[]:#=@!.*/\\-_—…é漢😀 ") + ["[laugh]", "[humming start]", "SPEAKER0", "10:30", "a, b"]
_one_line_chars = st.characters(exclude_categories=["Cs", "Cc", "Zl", "Zp"])
_any_chars = st.characters(exclude_categories=["Cs"], exclude_characters="\x00\r")


def _words(chars: st.SearchStrategy[str], max_words: int = 6) -> st.SearchStrategy[str]:
    token = st.one_of(st.sampled_from(AWKWARD), st.text(chars, min_size=1, max_size=8))
    return st.lists(token, min_size=1, max_size=max_words).map(" ".join).map(str.strip).filter(bool)


def _no_hidden(value: str) -> bool:
    return not any(mark in value for mark in ("[[", "]]", "/*", "*/"))


def _not_wholly_parenthesised(value: str) -> bool:
    return not (value.startswith("(") and value.endswith(")"))


_cue_name = st.builds(
    lambda first, rest: (first + rest).strip(),
    st.characters(categories=["Lu", "Ll", "Lo"]),
    st.text(
        st.one_of(st.characters(categories=["Lu", "Ll", "Lo", "Nd"]), st.sampled_from(" .'-")),
        max_size=12,
    ),
)
_id = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,15}", fullmatch=True)

FIELDS: dict[str, dict[str, st.SearchStrategy[str]]] = {
    "higgs": {
        "name": _words(_one_line_chars, 3),
        "text": _words(_one_line_chars),
        "direction": _words(_any_chars, 3),
        "notes": _words(_any_chars, 4),
        "title": _words(_one_line_chars, 3),
        "description": _words(_any_chars, 4),
        "id": _id,
    },
    "screenplay": {
        "name": st.one_of(_cue_name.filter(bool), _words(_one_line_chars, 3)).filter(
            lambda n: ": " not in n and "：" not in n
        ),
        "text": _words(_one_line_chars),
        "direction": _words(_one_line_chars, 3).filter(lambda d: "(" not in d and ")" not in d),
        "notes": _words(_any_chars, 4),
        "title": _words(_one_line_chars, 3).filter(lambda t: not t.endswith("=")),
        "description": _words(_one_line_chars, 4),
        "id": _id,
    },
    "fountain": {
        "name": _words(_one_line_chars, 3).filter(lambda n: "(" not in n and "^" not in n and _no_hidden(n)),
        "text": _words(_one_line_chars).filter(lambda t: _no_hidden(t) and _not_wholly_parenthesised(t)),
        "direction": _words(_one_line_chars, 3).filter(_no_hidden),
        "notes": _words(_one_line_chars, 4).filter(
            lambda n: _no_hidden(n) and not re.match(r"id\s*:", n, re.I)
        ),
        "title": _words(_one_line_chars, 3).filter(
            lambda t: t[0].isalnum() and "#" not in t and _no_hidden(t)
        ),
        "description": _words(_one_line_chars, 4).filter(_no_hidden),
        "id": _id,
    },
    "csv": {
        "name": _words(_any_chars, 3),
        "text": _words(_any_chars),
        "direction": _words(_any_chars, 3).filter(_not_wholly_parenthesised),
        "notes": _words(_any_chars, 4),
        "title": _words(_any_chars, 3),
        "description": st.just(""),
        "id": _words(_any_chars, 2),
    },
}


@st.composite
def scripts(draw: st.DrawFn, fmt: str) -> ParsedScript:
    f = FIELDS[fmt]
    names = draw(st.lists(f["name"], min_size=1, max_size=4, unique_by=str.casefold))
    titles = draw(st.lists(f["title"], max_size=3, unique_by=str.casefold))

    def line(scene: str) -> st.SearchStrategy[ParsedLine]:
        optional = st.one_of(st.just(""), f["direction"])
        return st.builds(
            ParsedLine,
            id=f["id"],
            character=st.sampled_from(names),
            text=f["text"],
            direction=optional,
            scene=st.just(scene),
            notes=st.one_of(st.just(""), f["notes"]),
        )

    if fmt == "csv":  # any order of scenes, but every scene has lines
        lines = draw(
            st.lists(
                line("").flatmap(
                    lambda ln: st.sampled_from([*titles, ""]).map(lambda t: dataclasses.replace(ln, scene=t))
                ),
                min_size=1,
                max_size=8,
            )
        )
        scenes: list[ParsedScene] = []
    else:
        lines = draw(st.lists(line(""), max_size=3))
        scenes = []
        for title in titles:
            scenes.append(ParsedScene(title, draw(st.one_of(st.just(""), f["description"]))))
            lines += draw(st.lists(line(title), max_size=3))
    # some lines carry the id a reader would give them anyway (writers leave those out)
    naturals = natural_ids((ln.character, ln.text) for ln in lines)
    use_natural = draw(st.lists(st.booleans(), min_size=len(lines), max_size=len(lines)))
    lines = [
        dataclasses.replace(ln, id=nat) if flag else ln
        for ln, nat, flag in zip(lines, naturals, use_natural, strict=True)
    ]
    seen: set[str] = set()
    unique = []
    for ln in lines:
        if ln.id not in seen:
            seen.add(ln.id)
            unique.append(ln)
    return ParsedScript.from_lines(unique, scenes)


ROUND_TRIP = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


@pytest.mark.parametrize("fmt", FORMATS)
@ROUND_TRIP
@given(data=st.data())
def test_round_trip(fmt: str, data: st.DataObject) -> None:
    script = data.draw(scripts(fmt))
    written = sf.dump(script, fmt)
    assert sf.parse(written, fmt) == script, written
    # and as a file, with a BOM and CRLF line ends as Windows editors save it
    crlf = "\ufeff" + written.replace("\r\n", "\n").replace("\n", "\r\n")
    assert sf.parse(crlf, fmt) == script


@ROUND_TRIP
@given(script=scripts("csv"))
def test_script_to_ops_then_project_to_script(script: ParsedScript) -> None:
    project = Project()
    inverse = project.apply(sf.script_to_ops(project, script))
    got = sf.project_to_script(project)
    made_up = sf._generated(script)
    # lines the file names no id for get short sequential ids (L010 …); everything else comes back as is
    assert [dataclasses.replace(g, id="") for g in got.lines] == [dataclasses.replace(s, id="") for s in script.lines]
    assert [g.id for g, m in zip(got.lines, made_up, strict=True) if not m] == [
        s.id for s, m in zip(script.lines, made_up, strict=True) if not m
    ]
    assert all(re.fullmatch(r"L\d{3,}", g.id) for g, m in zip(got.lines, made_up, strict=True) if m)
    assert (got.scenes, got.characters) == (script.scenes, script.characters)
    speakers = list(project.speakers.values())
    assert len({s.colour for s in speakers}) == min(len(speakers), len(SPEAKER_COLOURS))
    assert [s.voice.variant for s in speakers] == list(range(len(speakers)))
    project.apply(inverse)
    assert not project.lines and not project.speakers and not project.scenes


# ---- project glue -------------------------------------------------------------------------------


def test_script_to_ops_reuses_speakers_and_scenes_and_renews_taken_ids() -> None:
    project = Project()
    project.speakers["sp_bob"] = Speaker("sp_bob", "Bob", SPEAKER_COLOURS[0], Voice(variant=0))
    project.speakers["sp_eve"] = Speaker("sp_eve", "Eve", SPEAKER_COLOURS[2], Voice(variant=2))
    project.scenes["sc_gate"] = Scene("sc_gate", "Gate", "old description")
    project.lines["L1"] = ScriptLine("L1", "sp_bob", "already here")
    project.line_order.append("L1")
    script = ParsedScript.from_lines(
        [
            ParsedLine("L1", "BOB", "Halt!", "shouting", "gate"),
            ParsedLine("L2", "Alice", "Hello.", "", "Market"),
            ParsedLine("L3", "Carol", "Hi.", notes="n"),
        ],
        [ParsedScene("Market", "busy")],
    )
    batch = sf.script_to_ops(project, script)
    assert isinstance(batch, Batch) and not project.lines.keys() - {"L1"}  # nothing applied yet
    project.apply(batch)
    first, second, third = (project.lines[i] for i in project.line_order[1:])
    assert first.speaker_id == "sp_bob" and first.scene_id == "sc_gate"
    assert first.id != "L1" and first.text == "Halt!" and first.direction == "shouting"
    assert (second.id, third.id, third.notes) == ("L2", "L3", "n")
    alice, carol = project.speakers[second.speaker_id], project.speakers[third.speaker_id]
    assert (alice.colour, carol.colour) == (SPEAKER_COLOURS[1], SPEAKER_COLOURS[3])
    assert (alice.voice.variant, carol.voice.variant) == (1, 3)
    market = project.scenes[second.scene_id]
    assert (market.title, market.description) == ("Market", "busy")
    assert project.scenes["sc_gate"].description == "old description"
    assert len(project.scenes) == 2 and len(project.speakers) == 4


def test_importing_a_fixture_into_a_project_and_back() -> None:
    script = sf.read_script(DATA / "screenplay_awkward.txt")
    project = Project()
    project.apply(sf.script_to_ops(project, script))
    got = sf.project_to_script(project)
    assert [dataclasses.replace(g, id="") for g in got.lines] == [dataclasses.replace(s, id="") for s in script.lines]
    # named lines keep their ids; the others read L010, L020 … in script order, not line_3f9a…
    ids = [g.id for g in got.lines]
    assert "alice-tired" in ids and not any(i.startswith("line_") for i in ids)
    assert [i for i in ids if i.startswith("L")] == [f"L{n:03d}" for n in range(10, 10 * (len(ids)), 10)][: len([i for i in ids if i.startswith("L")])]


def test_re_importing_a_script_without_ids_finds_its_lines_again() -> None:
    text = "ALICE: Hello there.\nBOB: Hi.\nALICE: Hello there.\n"
    project = Project()
    project.apply(sf.script_to_ops(project, sf.parse(text, "screenplay")))
    assert project.line_order == ["L010", "L020", "L030"]
    batch, report = sf.merge_script(project, sf.parse(text, "screenplay"))
    assert report.added == () and report.unchanged == 3 and report.removed == ()
    edited = text.replace("BOB: Hi.", "BOB: Hi.\nBOB: Coffee?")
    batch, report = sf.merge_script(project, sf.parse(edited, "screenplay"))
    project.apply(batch)
    assert report.added == ("L040",) and project.line_order == ["L010", "L020", "L040", "L030"]


# ---- any input: a script or a ScriptFormatError, never another exception --------------------------

_FRAGMENTS = [
    "",
    "",
    "ALICE: hi",
    "Bob:",
    "(beat)",
    "(a) b",
    "()",
    "== Scene ==",
    "====",
    "> desc",
    "# id: x",
    "# notes: n",
    "# scene: S",
    "# description: d",
    "# SPEAKER0 = Ann",
    "[SPEAKER0] hi",
    "[SPEAKER1]",
    "INT. HOUSE - DAY",
    ".FORCED",
    "@bob",
    "BOB",
    "BOB ^",
    "/*",
    "*/",
    "[[",
    "]]",
    "[[id: q]]",
    '"',
    ",",
    '"a,b"',
    "id,character,text",
    "Title: x",
    "~lyric",
    "> C <",
    "CUT TO:",
    "!action",
    "\ufeff",
    "\t",
]


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=12)), max_size=12))
def test_any_input_parses_or_raises_script_format_error(fmt: str, rows: list[str]) -> None:
    text = "\n".join(rows)
    try:
        script = sf.parse(text, fmt)
    except ScriptFormatError as exc:
        assert 1 <= exc.line_number <= text.count("\n") + text.count("\r") + 1
        return
    ids = [line.id for line in script.lines]
    assert len(set(ids)) == len(ids) and all(ids)
    assert all(line.text and line.character for line in script.lines)
    again = sf.parse(sf.dump(script, fmt), fmt)  # whatever was read can be written and read back
    assert [line.id for line in again.lines] == ids
