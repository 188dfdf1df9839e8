"""Transcript against script, word by word, for people: which written words the take does not say and
which heard words the script does not have, marked on the words as written (punctuation and case
kept), plus the same as HTML for a tooltip or a label.

Alignment is :func:`studio.qa.words.align` on :func:`studio.qa.words.tokens`, so the highlight agrees
with the word error rate (numbers read two ways are not a difference).

Pure; safe from any thread.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from studio.qa.words import NUMBER, align, char_error_rate, compare, tokens

SAME, MISSING, EXTRA, CHANGED = "same", "missing", "extra", "changed"
# How a mark looks in HTML (colours read on the light and the dark theme alike).
MARK_STYLE: dict[str, str] = {
    MISSING: "background-color:#f4c7c3;color:#7a1010;text-decoration:line-through",
    EXTRA: "background-color:#c8e6c9;color:#0d4a12",
    CHANGED: "background-color:#ffe0a3;color:#5a3b00",
}
# A reference transcript must match its clip closely (Higgs clones from exact transcripts), but a
# small recogniser mishears a name now and then: flag two or more wrong words that differ in letters too.
REFERENCE_MAX_WER = 0.15
REFERENCE_MIN_ERRORS = 2
REFERENCE_MAX_CER = 0.1

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class TextDiff:
    """Both texts as (word as written, mark) pairs: expected marks are same | missing | changed,
    heard marks are same | extra | changed."""

    expected: tuple[tuple[str, str], ...]
    heard: tuple[tuple[str, str], ...]

    @property
    def differs(self) -> bool:
        return any(mark != SAME for _, mark in (*self.expected, *self.heard))


def _split(text: str) -> tuple[list[str], list[str], list[int]]:
    """Written words, their tokens (number runs joined as in ``tokens``), and each token's word index."""
    words = _WORD.findall(text)
    toks: list[str] = []
    owner: list[int] = []
    for index, word in enumerate(words):
        for tok in tokens(word):
            if tok == NUMBER and toks and toks[-1] == NUMBER:
                continue  # "forty five": one spoken number, owned by its first word
            toks.append(tok)
            owner.append(index)
    return words, toks, owner


def diff_text(expected_text: str, heard_text: str) -> TextDiff:
    """Mark the words of ``expected_text`` (the script) and ``heard_text`` (the transcript)."""
    e_words, e_toks, e_owner = _split(expected_text)
    h_words, h_toks, h_owner = _split(heard_text)
    e_marks = [SAME] * len(e_words)
    h_marks = [SAME] * len(h_words)
    i = j = 0
    for op, _, _ in align(e_toks, h_toks).ops:
        if op in ("=", "sub"):
            if op == "sub":
                e_marks[e_owner[i]] = CHANGED
                h_marks[h_owner[j]] = CHANGED
            i, j = i + 1, j + 1
        elif op == "del":
            if e_marks[e_owner[i]] == SAME:
                e_marks[e_owner[i]] = MISSING
            i += 1
        else:
            if h_marks[h_owner[j]] == SAME:
                h_marks[h_owner[j]] = EXTRA
            j += 1
    return TextDiff(tuple(zip(e_words, e_marks, strict=True)), tuple(zip(h_words, h_marks, strict=True)))


def marked_html(words: tuple[tuple[str, str], ...]) -> str:
    """Words joined by spaces, each differing one in a coloured ``<span>`` (text escaped)."""
    out = []
    for word, mark in words:
        text = html.escape(word)
        style = MARK_STYLE.get(mark)
        out.append(f'<span style="{style}">{text}</span>' if style else text)
    return " ".join(out)


def diff_html(expected_text: str, heard_text: str) -> str:
    """A two-row HTML block: the script with missing/changed words marked, what was heard with extra/changed ones."""
    diff = diff_text(expected_text, heard_text)
    return (
        f"<p><b>Script:</b> {marked_html(diff.expected) or '—'}</p>"
        f"<p><b>Heard:</b> {marked_html(diff.heard) or '—'}</p>"
    )


def reference_mismatch(transcript: str, heard: str) -> str:
    """Why a voice's reference transcript disagrees with what its clip says ("" = it agrees)."""
    if not transcript.strip() or not heard.strip():
        return ""
    words = compare(transcript, heard)
    if (
        words.errors >= REFERENCE_MIN_ERRORS
        and words.wer > REFERENCE_MAX_WER
        and char_error_rate(transcript, heard) > REFERENCE_MAX_CER
    ):
        detail = []
        if words.missing:
            detail.append("not heard: " + " ".join(words.missing[:6]))
        if words.extra:
            detail.append("heard instead: " + " ".join(words.extra[:6]))
        return f"the transcript differs from the audio (WER {words.wer:.0%}" + (
            f"; {'; '.join(detail)})" if detail else ")"
        )
    return ""
