"""Transcript-vs-script word marks, the reference transcript flag, and the one row-visibility rule."""

from __future__ import annotations

from studio.core.line_filter import LineFilter, line_visible
from studio.core.model import LineStage, LineStatus, ScriptLine
from studio.qa.diff import CHANGED, EXTRA, MISSING, SAME, diff_html, diff_text, reference_mismatch


def test_marks_missing_extra_and_changed_words_as_written() -> None:
    diff = diff_text(
        "Well, the tavern opens at forty-five past!", "The tavern really opens at forty five past."
    )
    assert diff.expected == (
        ("Well,", MISSING),
        ("the", SAME),
        ("tavern", SAME),
        ("opens", SAME),
        ("at", SAME),
        ("forty-five", SAME),
        ("past!", SAME),
    )
    assert ("really", EXTRA) in diff.heard and ("five", SAME) in diff.heard
    assert diff.differs
    swapped = diff_text("the red door", "the bed door")
    assert swapped.expected[1] == ("red", CHANGED) and swapped.heard[1] == ("bed", CHANGED)
    assert not diff_text("Hello there.", "hello, there").differs


def test_html_escapes_and_colours_only_the_differences() -> None:
    text = diff_html("a <b> c", "a c")
    assert "&lt;b&gt;" in text and "line-through" in text and text.count("<span") == 1


def test_reference_mismatch() -> None:
    assert reference_mismatch("The quick brown fox jumps.", "the quick brown fox jumps") == ""
    assert reference_mismatch("The quick brown fox jumps.", "") == ""  # nothing heard yet: no claim
    reason = reference_mismatch(
        "The quick brown fox jumps over the lazy dog.", "A slow green turtle walks over the dog."
    )
    assert reason.startswith("the transcript differs") and "quick" in reason


def test_one_rule_combines_every_filter() -> None:
    line = ScriptLine(
        "l1",
        "host",
        "Welcome to the show",
        direction="warm",
        stage=LineStage.READY,
        status=LineStatus.SUSPECT,
    )
    assert line_visible(LineFilter(), line)
    assert line_visible(LineFilter(text="WELCOME show", stage="ready", suspect_only=True), line)
    assert not line_visible(LineFilter(text="welcome", stage="draft"), line)
    assert not line_visible(LineFilter(suspect_only=True), line, status=LineStatus.DONE)
    assert line_visible(LineFilter(text="ada"), line, speaker_name="Ada")
    assert not line_visible(LineFilter(text="goodbye", suspect_only=True), line)
    assert not line_visible(LineFilter(stage="ready"), None) and line_visible(LineFilter(), None)
