"""The pronunciation lexicon: matching rules (properties), scopes, engine text, stale tracking, files."""

from __future__ import annotations

import dataclasses
import re
import shutil
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import direction
from studio.core import lexicon_ops
from studio.core.lexicon import LexiconError, Matcher, Scope, make_entry, substitute
from studio.core.lexicon_files import (
    LexiconFileError,
    csv_text,
    parse_csv,
    parse_pls,
    pls_text,
    read_file,
)
from studio.core.model import LexiconEntry, LineStatus, ScriptLine, Speaker, Take
from studio.core.project import Project
from studio.core.speech_text import (
    display_matches,
    engine_text,
    heard_text,
    higgs_scene_description,
    strip_emphasis,
)
from studio.core.store import SCHEMA_VERSION, ProjectError, ProjectFile
from studio.render.takes import line_recipe, plan_render

DATA = Path(__file__).parents[1] / "data" / "lexicon"
SCHEMA4 = Path(__file__).parents[1] / "data" / "projects" / "schema4.chorus"  # saved before the lexicon
PIPER = frozenset({"pause", "rate", "phonemes"})
NONE: frozenset[str] = frozenset()

# ---- matcher properties ---------------------------------------------------------------------------

words = st.text(alphabet="abcdeéøßxyzABCDEÉ", min_size=1, max_size=6)
# Separators hold no letters or digits (so they never make words of their own).
separators = st.sampled_from(
    [" ", ", ", ". ", "! ", " — ", "' ", " (", ") ", "\n", "\u00a0", "_", "-", "…", "«"]
)


def _matcher(*entries: LexiconEntry) -> Matcher:
    return Matcher((e, Scope.PROJECT) for e in entries)


def _same_word(entry: str, written: str, match_case: bool = False) -> bool:
    return re.fullmatch(re.escape(entry), written, 0 if match_case else re.IGNORECASE) is not None


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(st.tuples(words, separators), min_size=1, max_size=8), target=words)
def test_whole_words_only(parts: list[tuple[str, str]], target: str) -> None:
    text = "".join(w + sep for w, sep in parts)
    found = _matcher(make_entry(target, "X")).find(text)
    assert len(found) == sum(1 for w, _ in parts if _same_word(target, w))
    for m in found:
        before = text[m.start - 1] if m.start else " "
        after = text[m.end] if m.end < len(text) else " "
        assert not before.isalnum() and not after.isalnum()


@settings(max_examples=150, deadline=None)
@given(word=words, prefix=st.sampled_from(["", "x", "9", "é"]), suffix=st.sampled_from(["", "s", "2", "é"]))
def test_inside_longer_words_only_when_asked(word: str, prefix: str, suffix: str) -> None:
    text = f"say {prefix}{word}{suffix} now"
    at = 4 + len(prefix)
    whole = _matcher(make_entry(word, "X")).find(text)
    assert any(m.start == at and m.end == at + len(word) for m in whole) == (not prefix and not suffix)
    assert _matcher(make_entry(word, "X", whole_word=False)).find(text)


@settings(max_examples=150, deadline=None)
@given(word=words, variant=st.sampled_from(["lower", "upper", "title", "same"]))
def test_case_rules(word: str, variant: str) -> None:
    written = {"lower": word.lower(), "upper": word.upper(), "title": word.title(), "same": word}[variant]
    text = f"I said {written}."
    assert bool(_matcher(make_entry(word, "X")).find(text)) == _same_word(word, written)
    assert bool(_matcher(make_entry(word, "X", match_case=True)).find(text)) == (written == word)


@settings(max_examples=150, deadline=None)
@given(a=words, b=words, c=words)
def test_longest_match_first_and_no_overlaps(a: str, b: str, c: str) -> None:
    short, long, other = make_entry(a, "S"), make_entry(f"{a} {b}", "L"), make_entry(f"{b} {c}", "O")
    text = f"{a} {b} {c}"
    for order in ((short, long, other), (other, short, long)):  # entry order does not matter
        found = _matcher(*order).find(text)
        first = found[0]
        assert (first.start, first.end) == (0, len(a) + 1 + len(b))
        assert first.entry is long or first.entry.grapheme.lower() == long.grapheme.lower()  # a tie of equals
        assert all(m2.start >= m1.end for m1, m2 in zip(found, found[1:], strict=False))


@settings(max_examples=100, deadline=None)
@given(
    text=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40),
    word=words,
)
def test_displayed_text_never_changes(text: str, word: str) -> None:
    project = _rendered(text or "x", f"{word} {text}")
    lines_before = dict(project.lines)
    project.apply(lexicon_ops.add_entry(project, make_entry(word, "REPLACED")))
    plan_render(project, Path("/nonexistent"))
    assert [line.text for line in project.lines.values()] == [line.text for line in lines_before.values()]
    shown = project.lines["L1"].text
    for m in display_matches(project, "s", shown):
        assert _same_word(word, shown[m.start : m.end])
    if unicodedata.normalize("NFC", shown) == shown:
        assert display_matches(project, "s", shown)


def _said(m: Matcher, text: str) -> str:
    return substitute(text, m.find(text), False)[0]


def test_unicode_and_punctuation_around_words() -> None:
    m = _matcher(make_entry("Nguyen", "Win"), make_entry("Zoë", "Zoey"), make_entry("C++", "C plus plus"))
    assert _said(m, "«Nguyen», Nguyen's, _Nguyen_, (Nguyen)!") == "«Win», Win's, _Win_, (Win)!"
    assert _said(m, "Nguyens Nguyenx xNguyen Nguyen2") == "Nguyens Nguyenx xNguyen Nguyen2"
    assert _said(m, "ZOË and zoë; Zoëlle") == "Zoey and Zoey; Zoëlle"
    assert _said(m, "I write C++, not C.") == "I write C plus plus, not C."
    nfd = unicodedata.normalize("NFD", "Zoë")
    assert _matcher(make_entry("Zoë", "Zoey")).find(unicodedata.normalize("NFC", nfd))
    # a combining mark after the word means the word goes on
    assert not _matcher(make_entry("Nguye", "X")).find("Nguye\u0301n")


def test_phrases_match_across_any_white_space() -> None:
    m = _matcher(make_entry("New York", "NY"))
    assert len(m.find("New  York and new\nyork")) == 2


def test_scope_precedence_speaker_over_project_over_user() -> None:
    project = Project(speakers={"a": Speaker("a", "Ada"), "b": Speaker("b", "Ben")})
    project.user_lexicon = (make_entry("Nguyen", "user"),)
    project.lexicon["p"] = make_entry("Nguyen", "project", entry_id="p")
    project.lexicon["s"] = make_entry("nguyen", "speaker", speaker_id="a", entry_id="s")
    assert engine_text(project, "a", "Nguyen.", NONE).text == "speaker."
    assert engine_text(project, "b", "Nguyen.", NONE).text == "project."
    del project.lexicon["p"]
    assert engine_text(project, "b", "Nguyen.", NONE).text == "user."
    # same length: the case-sensitive entry of the same scope wins over the case-insensitive one
    project.lexicon["cs"] = make_entry("Nguyen", "exact", match_case=True, entry_id="cs")
    project.lexicon["ci"] = make_entry("nguyen", "loose", entry_id="ci")
    assert engine_text(project, "b", "Nguyen nguyen", NONE).text == "exact loose"
    # a longer user entry beats a shorter speaker entry (longest first)
    project.user_lexicon = (make_entry("Nguyen Street", "the street"),)
    assert engine_text(project, "a", "Nguyen Street", NONE).text == "the street"


def test_entries_are_checked() -> None:
    with pytest.raises(LexiconError, match="needs a replacement"):
        make_entry("word")
    with pytest.raises(LexiconError, match="needs the word"):
        make_entry("  ", "x")
    with pytest.raises(LexiconError, match="unknown entry kind"):
        make_entry("a", "b", kind="weird")
    assert make_entry("tomato", phonemes="təˈmɑːtoʊ").kind == "phonemes"


# ---- engine text: phonemes, emphasis, direction ---------------------------------------------------


def _project(*texts: str) -> Project:
    project = Project(speakers={"s": Speaker("s", "Ada")})
    for i, text in enumerate(texts):
        project.lines[f"L{i}"] = ScriptLine(f"L{i}", "s", text)
        project.line_order.append(f"L{i}")
    return project


def test_phonemes_for_piper_and_the_alias_or_the_word_elsewhere() -> None:
    project = _project()
    project.lexicon["t"] = make_entry("tomato", phonemes="təˈmɑːtoʊ", entry_id="t")
    project.lexicon["s"] = make_entry("Siobhan", "Shi-vawn", phonemes="ʃɪˈvɔːn", entry_id="s")
    piper = engine_text(project, "s", "A tomato for Siobhan.", PIPER)
    assert piper.text == "A [[ təˈmɑːtoʊ ]] for [[ ʃɪˈvɔːn ]]."
    other = engine_text(project, "s", "A tomato for Siobhan.", NONE)
    assert other.text == "A tomato for Shi-vawn."
    assert other.ignored == {"phonemes"}
    assert heard_text(project, "s", "A *tomato* [pause 1s] for Siobhan.") == "A tomato for Shi-vawn."


def test_fountain_emphasis_is_stripped_from_engine_text_only() -> None:
    assert (
        strip_emphasis("*italic* **bold** ***both*** _under_ \\*star\\*") == "italic bold both under *star*"
    )
    assert strip_emphasis("snake_case 2*3*4 a * b") == "snake_case 2*3*4 a * b"
    project = _project("Say *Nguyen* now")
    project.lexicon["n"] = make_entry("Nguyen", "Win", entry_id="n")
    assert engine_text(project, "s", project.lines["L0"].text, PIPER).text == "Say Win now"
    assert project.lines["L0"].text == "Say *Nguyen* now"


def test_direction_tags_kept_for_piper_and_reported_elsewhere() -> None:
    text = "Well, [PAUSE 800ms] I [ rate .9 ]suppose[/rate] so. [laugh]"
    piper = engine_text(_project(), "s", text, PIPER, "whispering")
    assert piper.text == "Well, [pause 0.8s] I [rate 0.9]suppose[/rate] so. [laugh]"
    assert piper.ignored == {"direction"}
    higgs = engine_text(_project(), "s", text, NONE, "whispering")
    assert higgs.text == "Well, I suppose so. [laugh]"
    assert higgs.ignored == {"direction", "pause", "rate"}


def test_direction_parse() -> None:
    spans = direction.parse(
        "One [pause 0.5s] two [rate 1.5]three [rate 0.5]four[/rate] five[/rate] six [pause 20s]"
    )
    assert [(s.text.strip(), s.rate, s.pause_before) for s in spans] == [
        ("One", 1.0, 0.0),
        ("two", 1.0, 0.5),
        ("three", 1.5, 0.0),
        ("four", 0.5, 0.0),
        ("five", 1.5, 0.0),
        ("six", 1.0, 0.0),
        ("", 1.0, direction.MAX_PAUSE_S),
    ]
    assert direction.parse("[[ phonemes ]] [pause]") == [direction.Span("[[ phonemes ]] [pause]")]


def test_render_plan_reports_what_the_backend_ignores_once(tmp_path: Path) -> None:
    project = _project("One.", "Two [pause 1s].", "Three.")
    project.lines["L0"] = ScriptLine("L0", "s", "One.", direction="whispering")
    project.lines["L2"] = ScriptLine("L2", "s", "Three.", direction="amused")
    plan = plan_render(project, tmp_path)
    assert plan.ignored == ("direction not supported by piper (2 lines)",)
    assert "[pause 1s]" in plan.jobs[1].job.text
    project.settings = dataclasses.replace(project.settings, backend="higgs")
    # Higgs performs the direction (through the line's scene description), not [pause]
    assert set(plan_render(project, tmp_path).ignored) == {"[pause] timing not supported by higgs (1 line)"}


def test_higgs_scene_description_carries_the_direction() -> None:
    assert (
        higgs_scene_description("A quiet room.", "(whispering)", "Maya")
        == "A quiet room. Maya is whispering."
    )
    assert higgs_scene_description("A quiet room.", "") == "A quiet room."


# ---- take keys and stale tracking -----------------------------------------------------------------


def _rendered(*texts: str, speakers: tuple[str, ...] = ("s",)) -> Project:
    """Lines with a current, selected take each (status done)."""
    project = Project(speakers={s: Speaker(s, s.upper()) for s in speakers})
    for i, text in enumerate(texts):
        line = ScriptLine(f"L{i}", speakers[i % len(speakers)], text)
        project.lines[line.id] = line
        project.line_order.append(line.id)
        recipe = line_recipe(project, line)
        project.takes[f"k{i}"] = Take(f"k{i}", line.id, f"m{i}.wav", 1.0, 22050, recipe=recipe)
        project.lines[line.id] = ScriptLine(
            line.id, line.speaker_id, text, status=LineStatus.DONE, selected_take=f"k{i}", takes=(f"k{i}",)
        )
    return project


def _stale(project: Project) -> set[str]:
    return {line.id for line in project.ordered_lines() if line.status == LineStatus.STALE}


def _current(project: Project) -> set[str]:
    return {
        line.id
        for line in project.ordered_lines()
        if project.takes[line.selected_take].recipe == line_recipe(project, line)
    }


TEXTS = (
    "Welcome to the Signal Chain.",
    "Nothing to see.",
    "Signal chains are long.",
    "The signal chain again!",
    "Chain signal.",
)


def test_adding_an_entry_stales_exactly_the_lines_that_use_it() -> None:
    project = _rendered(*TEXTS)
    entry = make_entry("Signal Chain", "Signal Chayne")
    undo = project.apply(lexicon_ops.add_entry(project, entry))
    assert _stale(project) == {"L0", "L3"}
    assert _current(project) == {"L1", "L2", "L4"}  # the take keys agree with the status
    project.apply(undo)
    assert _stale(project) == set() and not project.lexicon
    # an entry used nowhere leaves every line (and its recipe) alone
    project.apply(lexicon_ops.add_entry(project, make_entry("Nguyen", "Win")))
    assert _stale(project) == set() and _current(project) == set(project.lines)


def test_editing_and_removing_stale_only_matching_lines_and_speaker_entries_only_their_speaker() -> None:
    project = _rendered(*TEXTS, speakers=("a", "b"))  # L0, L2, L4 spoken by a
    entry = make_entry("signal chain", "chain", speaker_id="a")
    project.apply(lexicon_ops.add_entry(project, entry))
    assert _stale(project) == {"L0"}  # L3 is b's line
    project = _rendered(*TEXTS, speakers=("a", "b"))
    project.lexicon[entry.id] = entry
    project.apply(lexicon_ops.update_entry(project, entry.id, whole_word=False))
    assert _stale(project) == {"L0", "L2"}  # L0: the entry changed; L2: "chains" matches now
    project = _rendered(*TEXTS)
    project.apply(lexicon_ops.add_entry(project, make_entry("again", "once more")))
    assert _stale(project) == {"L3"}
    entry_id = next(iter(project.lexicon))
    project.apply(lexicon_ops.remove_entry(project, entry_id))
    assert _stale(project) == {"L3"}


def test_user_lexicon_changes_stale_only_matching_lines() -> None:
    project = _rendered(*TEXTS)
    new = (make_entry("nothing", "nada"),)
    batch = lexicon_ops.user_lexicon_changed(project, new)
    project.user_lexicon = new
    project.apply(batch)
    assert _stale(project) == {"L1"}


def test_import_replaces_same_words_in_one_step() -> None:
    project = _rendered(*TEXTS)
    project.apply(lexicon_ops.add_entry(project, make_entry("Nothing", "nada")))
    undo = project.apply(
        lexicon_ops.import_entries(project, [make_entry("NOTHING", "zilch"), make_entry("x", "y")])
    )
    assert sorted(e.replacement for e in project.lexicon.values()) == ["y", "zilch"]
    project.apply(undo)
    assert [e.replacement for e in project.lexicon.values()] == ["nada"]


# ---- files ----------------------------------------------------------------------------------------


def _triples(entries: list[LexiconEntry]) -> list[tuple[str, str, str]]:
    return sorted((e.grapheme, e.replacement, e.phonemes) for e in entries)


def test_pls_hand_written_file() -> None:
    entries = read_file(DATA / "names.pls")
    assert _triples(entries) == [
        ("AFK", "away from keyboard", ""),
        ("Nguyen", "Win", ""),
        ("Siobhan", "Shi-vawn", "ʃɪˈvɔːn"),
        ("Siobhán", "Shi-vawn", "ʃɪˈvɔːn"),
        ("W3C", "World Wide Web Consortium", ""),
        ("afk", "away from keyboard", ""),
        ("tomato", "", "təˈmɑːtoʊ"),  # the first phoneme is the preferred one
    ]
    assert _triples(read_file(DATA / "no_prefix.pls")) == [
        ("Leicester", "", "ˈlɛstə"),
        ("Worcestershire", "Wuster-sher", ""),
    ]


@pytest.mark.parametrize("name", ["names.pls", "no_prefix.pls"])
def test_pls_round_trip(name: str) -> None:
    entries = read_file(DATA / name)
    text = pls_text(entries)
    again = parse_pls(text.encode(), "again.pls")
    assert _triples(again) == _triples(entries)
    # graphemes with the same pronunciation share one lexeme
    if name == "names.pls":
        assert text.count("<lexeme>") == 5
        assert re.search(r"<grapheme>AFK</grapheme>\s*<grapheme>afk</grapheme>", text)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("xsampa.pls", r"xsampa\.pls, line 9: phonemes in the 'x-sampa' alphabet are not supported"),
        ("no_grapheme.pls", r"no_grapheme\.pls, line 8: a <lexeme> without a <grapheme>"),
        ("broken.pls", r"broken\.pls, line 6: not well-formed XML"),
        ("bad_flag.csv", r"bad_flag\.csv, line 3: match_case must be yes or no"),
    ],
)
def test_bad_files_name_file_and_line(name: str, message: str) -> None:
    with pytest.raises(LexiconFileError, match=message):
        read_file(DATA / name)


def test_csv_round_trip_keeps_everything() -> None:
    entries = read_file(DATA / "game.csv")
    assert [e.grapheme for e in entries] == ["Nguyen", "New York, NY", "tomato"]
    assert entries[0].kind == "respelling" and entries[0].note == "family name"
    again = parse_csv(csv_text(entries), "again.csv")
    strip = lambda es: [{**e.__dict__, "id": ""} for e in es]  # noqa: E731
    assert strip(again) == strip(entries)
    with pytest.raises(LexiconFileError, match=r"x\.csv, line 2: no speaker named 'Zed'"):
        parse_csv("word,alias,speaker\nok,okay,Zed\n", "x.csv", lambda name: None)
    with pytest.raises(LexiconFileError, match=r"x\.csv, line 1: unknown column 'colour'"):
        parse_csv("word,alias,colour\n", "x.csv")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12),
            st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12),
            st.booleans(),
        ),
        max_size=6,
    )
)
def test_csv_and_pls_round_trip_any_text(rows: list[tuple[str, str, bool]]) -> None:
    entries = []
    for grapheme, replacement, case in rows:
        try:
            entries.append(make_entry(grapheme, replacement, match_case=case))
        except LexiconError:
            continue
    assert _triples(parse_csv(csv_text(entries))) == _triples(entries)
    unique = list({(e.grapheme, e.replacement): e for e in entries}.values())
    assert _triples(parse_pls(pls_text(unique).encode())) == _triples(unique)


# ---- the project file -----------------------------------------------------------------------------


def test_entries_persist_and_a_schema_4_project_opens(tmp_path: Path) -> None:
    with ProjectFile.create(tmp_path / "p") as pf:
        pf.project.apply(lexicon_ops.add_entry(pf.project, make_entry("AFK", "away from keyboard")))
    with ProjectFile.open(tmp_path / "p") as pf:
        assert [e.replacement for e in pf.project.lexicon.values()] == ["away from keyboard"]
    shutil.copytree(SCHEMA4, tmp_path / "old.chorus")
    with ProjectFile.open(tmp_path / "old.chorus") as pf:
        assert pf.project.lexicon == {}
        assert pf.db.table("meta").get("schema_version")["value"] == str(SCHEMA_VERSION)
        pf.project.apply(lexicon_ops.add_entry(pf.project, make_entry("Signal Chain", "Signal Chayne")))
    with ProjectFile.open(tmp_path / "old.chorus") as pf:
        assert [e.grapheme for e in pf.project.lexicon.values()] == ["Signal Chain"]


def test_a_broken_user_lexicon_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORUS_HOME", str(tmp_path / "home"))
    ProjectFile.create(tmp_path / "p").close()
    (tmp_path / "home" / "lexicon.csv").write_text("word,alias\nfine,ok\nbroken,\n", encoding="utf-8")
    with pytest.raises(
        ProjectError, match=r"lexicon\.csv, line 3: the entry for 'broken' needs a replacement"
    ):
        ProjectFile.open(tmp_path / "p")
    (tmp_path / "home" / "lexicon.csv").write_text("word,alias\nfine,ok\n", encoding="utf-8")
    with ProjectFile.open(tmp_path / "p") as pf:
        assert [e.grapheme for e in pf.project.user_lexicon] == ["fine"]


def test_take_checks_expect_the_alias_not_the_written_word() -> None:
    from studio.qa.check import transcribe_job

    project = _rendered("I'm *AFK* [pause 1s] now.")
    project.lexicon["a"] = make_entry("AFK", "away from keyboard", entry_id="a")
    assert transcribe_job(project, Path("/media"), "k0").text == "I'm away from keyboard now."
