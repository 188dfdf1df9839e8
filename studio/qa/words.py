"""Script words against heard words: tokens, a word alignment, the word error rate.

Both texts come from the engine already written alike (numbers spelled out, tags dropped: see
``TranscribeJob``); here they are lower-cased, hyphens split, punctuation dropped, and every run of
number words becomes one token ``#`` — "three forty-five" and "three hundred forty-five" are the same
spoken number read two ways, and a checker must not call that a mistake.

Pure; safe from any thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NUMBER = "#"
_NUMBER_WORDS = frozenset(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "million", "billion", "point"]
)
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def tokens(text: str) -> list[str]:
    """Comparable words of ``text``: lower case, no punctuation, number runs as ``#``."""
    out: list[str] = []
    for word in _WORD.findall(text.lower().replace("’", "'")):
        if word in _NUMBER_WORDS or word.isdigit():
            if not out or out[-1] != NUMBER:
                out.append(NUMBER)
        else:
            out.append(word)
    return out


@dataclass(frozen=True)
class WordDiff:
    """An alignment of expected and heard words: ``ops`` are (op, expected word, heard word) with op
    one of "=", "sub", "del" (expected but not heard), "ins" (heard but not expected)."""

    ops: tuple[tuple[str, str, str], ...]

    @property
    def expected_count(self) -> int:
        return sum(1 for op, _, _ in self.ops if op != "ins")

    @property
    def errors(self) -> int:
        return sum(1 for op, _, _ in self.ops if op != "=")

    @property
    def wer(self) -> float:
        """Word error rate: (substitutions + deletions + insertions) / expected words."""
        count = self.expected_count
        if count == 0:
            return 0.0 if self.errors == 0 else 1.0
        return self.errors / count

    @property
    def missing(self) -> tuple[str, ...]:
        """Expected words the take does not say (deleted, or said as another word)."""
        return tuple(e for op, e, _ in self.ops if op in ("del", "sub"))

    @property
    def extra(self) -> tuple[str, ...]:
        """Heard words the script does not have (inserted, or said instead of a script word)."""
        return tuple(h for op, _, h in self.ops if op in ("ins", "sub"))


def align(expected: list[str], heard: list[str]) -> WordDiff:
    """The minimum-edit alignment of two token lists (Levenshtein with a backtrace)."""
    n, m = len(expected), len(heard)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        row, prev = cost[i], cost[i - 1]
        word = expected[i - 1]
        for j in range(1, m + 1):
            row[j] = min(prev[j - 1] + (word != heard[j - 1]), prev[j] + 1, row[j - 1] + 1)
    ops: list[tuple[str, str, str]] = []
    i, j = n, m
    while i or j:
        if i and j and cost[i][j] == cost[i - 1][j - 1] + (expected[i - 1] != heard[j - 1]):
            ops.append(("=" if expected[i - 1] == heard[j - 1] else "sub", expected[i - 1], heard[j - 1]))
            i, j = i - 1, j - 1
        elif i and cost[i][j] == cost[i - 1][j] + 1:
            ops.append(("del", expected[i - 1], ""))
            i -= 1
        else:
            ops.append(("ins", "", heard[j - 1]))
            j -= 1
    return WordDiff(tuple(reversed(ops)))


def compare(expected_text: str, heard_text: str) -> WordDiff:
    return align(tokens(expected_text), tokens(heard_text))


def char_error_rate(expected_text: str, heard_text: str) -> float:
    """Letter edits per expected letter, spaces ignored: a small recogniser's "but wean" for "between"
    costs two letters here where it costs three words in the word error rate."""
    a, b = "".join(tokens(expected_text)), "".join(tokens(heard_text))
    if not a:
        return 0.0 if not b else 1.0
    previous = list(range(len(b) + 1))
    for i, ch in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(min(previous[j - 1] + (ch != other), previous[j] + 1, current[j - 1] + 1))
        previous = current
    return previous[-1] / len(a)
