"""Transcript words → recorded lines, and the stretch of a recording a patch clones the voice from.

A recording's lines tile it: line i spans from the middle of the pause before its first word to the
middle of the pause after its last, so the lines' clips side by side play the whole file.

Thread contract: pure functions; safe from any thread.
"""

from __future__ import annotations

from dataclasses import dataclass

PAUSE_S = 0.6  # a pause at least this long ends a recorded line
MAX_LINE_S = 20.0  # a line longer than this is split at its longest pause
REF_MIN_S, REF_MAX_S, REF_BEST_S = 5.0, 15.0, 10.0


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    probability: float = 1.0


@dataclass(frozen=True)
class Segment:
    start: float  # the line's span in the recording (seconds)
    end: float
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


def _split(words: list[Word]) -> list[list[Word]]:
    groups: list[list[Word]] = [[]]
    for word in words:
        if groups[-1] and word.start - groups[-1][-1].end >= PAUSE_S:
            groups.append([])
        groups[-1].append(word)
    out: list[list[Word]] = []
    todo = [g for g in groups if g]
    while todo:
        group = todo.pop(0)
        if group[-1].end - group[0].start <= MAX_LINE_S or len(group) < 2:
            out.append(group)
            continue
        gaps = [group[i + 1].start - group[i].end for i in range(len(group) - 1)]
        # prefer a pause after a sentence end, then the longest pause
        cut = max(range(len(gaps)), key=lambda i: (group[i].text[-1:] in ".?!", gaps[i])) + 1
        todo[:0] = [group[:cut], group[cut:]]
    return out


def segments(words: list[Word], duration: float) -> list[Segment]:
    """Recorded lines of a recording ``duration`` s long whose transcript is ``words`` (in time order)."""
    groups = _split(sorted(words, key=lambda w: w.start))
    if not groups:
        return []
    bounds = [0.0]
    for left, right in zip(groups, groups[1:], strict=False):
        bounds.append(round((left[-1].end + right[0].start) / 2, 4))
    bounds.append(max(duration, groups[-1][-1].end))
    return [Segment(bounds[i], bounds[i + 1], tuple(g)) for i, g in enumerate(groups)]


def reference_span(words: list[Word], duration: float) -> tuple[float, float, str]:
    """A clean 5–15 s stretch (start, end, its transcript) to clone the voice from: consecutive words,
    no long pause inside, confidently heard, close to 10 s. The whole file (up to 15 s) if it is short."""
    best: tuple[float, float, float, str] | None = None
    for i in range(len(words)):
        for j in range(i, len(words)):
            length = words[j].end - words[i].start
            if length > REF_MAX_S:
                break
            if j > i and words[j].start - words[j - 1].end > 1.0:
                break
            if length < REF_MIN_S:
                continue
            span = words[i : j + 1]
            confidence = sum(w.probability for w in span) / len(span)
            score = confidence - abs(length - REF_BEST_S) / 50
            if best is None or score > best[0]:
                best = (score, words[i].start, words[j].end, " ".join(w.text for w in span))
    if best is None:  # nothing 5 s long: the longest run of words without a long pause (≤ 15 s)
        if not words:
            return 0.0, min(duration, REF_MAX_S), ""
        runs: list[list[Word]] = [[words[0]]]
        for word in words[1:]:
            if word.start - runs[-1][-1].end > 1.0:
                runs.append([])
            runs[-1].append(word)
        run = max(runs, key=lambda r: r[-1].end - r[0].start)
        kept = [w for w in run if w.end <= run[0].start + REF_MAX_S]
        start, end = max(0.0, kept[0].start - 0.1), min(duration, kept[-1].end + 0.1)
        return round(start, 3), round(end, 3), " ".join(w.text for w in kept)
    start, end = max(0.0, best[1] - 0.1), min(duration, best[2] + 0.1)
    return round(start, 3), round(end, 3), best[3]


def room_tone_span(levels_db: list[float], frame_s: float, words: list[Word], length: float = 0.5) -> tuple[float, float]:
    """The quietest ``length`` s between words (from a per-frame level envelope); (0, 0) if none."""
    per = max(1, int(round(length / frame_s)))
    busy = [False] * len(levels_db)
    for w in words:
        for k in range(max(0, int(w.start / frame_s) - 2), min(len(busy), int(w.end / frame_s) + 3)):
            busy[k] = True
    best: tuple[float, int] | None = None
    run = 0.0
    for k in range(len(levels_db)):
        run += levels_db[k]
        if k >= per:
            run -= levels_db[k - per]
        if k + 1 >= per and not any(busy[k + 1 - per : k + 1]):
            # near-silent but not digital zero: digital silence is no room tone
            mean = run / per
            if mean > -110 and (best is None or mean < best[0]):
                best = (mean, k + 1 - per)
    if best is None:
        return 0.0, 0.0
    return round(best[1] * frame_s, 4), round((best[1] + per) * frame_s, 4)
