"""Editing a recorded line by its text: the word changes that turn what it says into what was typed.

``plan_text_edit(line, text)`` compares the line's live words with the new text word by word
(case and punctuation ignored) and returns the changes in order: a cut (``new`` empty) for words
deleted, a patch for words replaced, and for words inserted a patch that re-speaks the word before
(or after) them together with the new ones, so every patch replaces at least one recorded word.

Pure; safe from any thread.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from studio.core.model import ScriptLine
from studio.recordings.edit import _norm, live_words


@dataclass(frozen=True)
class WordChange:
    old: str  # the recorded words as the line says them now
    new: str  # what they become ("" = cut)

    @property
    def is_cut(self) -> bool:
        return not self.new.strip()


def plan_text_edit(line: ScriptLine, text: str) -> list[WordChange]:
    """The cuts and patches that make ``line`` say ``text`` (empty when nothing but spelling changed)."""
    said = [str(w[0]) for _, w in live_words(line)]
    typed = text.split()
    a = [_norm(w) for w in said]
    b = [_norm(w) for w in typed]
    changes: list[WordChange] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        if op == "delete":
            changes.append(WordChange(" ".join(said[i1:i2]), ""))
        elif op == "replace":
            changes.append(WordChange(" ".join(said[i1:i2]), " ".join(typed[j1:j2])))
        elif op == "insert":
            if i1 > 0:  # re-speak the word before together with the new words
                changes.append(WordChange(said[i1 - 1], " ".join([said[i1 - 1], *typed[j1:j2]])))
            elif said:  # at the very start: the first word after
                changes.append(WordChange(said[0], " ".join([*typed[j1:j2], said[0]])))
    return changes
