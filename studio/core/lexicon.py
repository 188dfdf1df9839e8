"""The pronunciation lexicon: which entries match a line, and the line's text as the engine gets it.

Entries (:class:`studio.core.model.LexiconEntry`) come from three scopes, most specific last:
the user's lexicon (data folder, every project), the project's, and a speaker's own. Matching rules:

* **Leftmost, then longest.** The text is scanned left to right; where several entries match at the
  same place, the one with the longest written form wins ("New York City" before "New York").
  Matches never overlap: once words are replaced, a shorter entry inside them does not fire.
* **More specific scope wins** a tie (same length at the same place): speaker > project > user;
  then a case-sensitive entry beats a case-insensitive one.
* **Whole words** (the default): the character before and after a match must not be a letter or a
  digit (an underscore or apostrophe is a boundary, so ``Nguyen's`` and ``_Nguyen_`` match
  ``Nguyen``). Where an entry's written form starts or ends with punctuation (``C++``, ``Dr.``) that
  side needs no boundary. ``whole_word=False`` matches inside longer words as well.
* **Case**: entries match regardless of case unless ``match_case`` (Unicode simple case folding).
* Spaces inside a phrase match any run of white space. Text and entries are compared in NFC.

The lexicon changes only what the engine is sent; the script the user sees is never changed.

Thread contract: pure functions over frozen records; the compiled-matcher cache is guarded by a lock.
"""

from __future__ import annotations

import enum
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from studio.core.model import LexiconEntry, new_id
from studio.core.project import Project

ENTRY_KINDS: tuple[str, ...] = ("alias", "respelling", "phonemes")

# Letters and digits (Unicode), not "_": the characters a whole-word match may not touch.
_WORD = r"[^\W_]"
# Combining marks after a match would mean the match ends inside a letter.
_MARK = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"


class LexiconError(ValueError):
    """An entry that cannot be used (no written form, nothing to say instead, unknown kind)."""


class Scope(enum.IntEnum):
    """Where an entry lives; a higher value is more specific and wins a tie."""

    USER = 0
    PROJECT = 1
    SPEAKER = 2


def scope_of(entry: LexiconEntry, user: bool = False) -> Scope:
    if user:
        return Scope.USER
    return Scope.SPEAKER if entry.speaker_id else Scope.PROJECT


@dataclass(frozen=True)
class Match:
    """One match in a text: ``text[start:end]`` is said as ``entry`` says."""

    start: int
    end: int
    entry: LexiconEntry
    scope: Scope


def make_entry(
    grapheme: str,
    replacement: str = "",
    phonemes: str = "",
    *,
    kind: str = "",
    speaker_id: str = "",
    match_case: bool = False,
    whole_word: bool = True,
    note: str = "",
    entry_id: str = "",
) -> LexiconEntry:
    """A checked entry (LexiconError says what is wrong). ``kind`` "" = phonemes when only IPA is given,
    else alias."""
    grapheme = " ".join(unicodedata.normalize("NFC", grapheme).split())
    replacement = " ".join(unicodedata.normalize("NFC", replacement).split())
    phonemes = unicodedata.normalize("NFC", phonemes).strip()
    if not grapheme:
        raise LexiconError("an entry needs the word or phrase it replaces")
    if not replacement and not phonemes:
        raise LexiconError(
            f"the entry for {grapheme!r} needs a replacement (respelling or alias) or phonemes"
        )
    kind = kind or ("phonemes" if phonemes and not replacement else "alias")
    if kind not in ENTRY_KINDS:
        raise LexiconError(f"unknown entry kind {kind!r} (one of {', '.join(ENTRY_KINDS)})")
    if kind == "phonemes" and not phonemes:
        raise LexiconError(f"the phonemes entry for {grapheme!r} has no phonemes")
    if kind != "phonemes" and not replacement:
        raise LexiconError(f"the {kind} entry for {grapheme!r} has no replacement text")
    if "[[" in phonemes or "]]" in phonemes:
        raise LexiconError(f"the phonemes for {grapheme!r} may not contain '[[' or ']]'")
    return LexiconEntry(
        id=entry_id or new_id("lex"),
        grapheme=grapheme,
        replacement=replacement,
        phonemes=phonemes,
        kind=kind,
        speaker_id=speaker_id,
        match_case=match_case,
        whole_word=whole_word,
        note=note,
    )


def _pattern(entry: LexiconEntry) -> str:
    words = unicodedata.normalize("NFC", entry.grapheme).split()
    body = r"\s+".join(re.escape(word) for word in words)
    if not entry.match_case:
        body = f"(?i:{body})"
    if entry.whole_word:
        first, last = words[0][0], words[-1][-1]
        if first.isalnum():
            body = f"(?<!{_WORD}){body}"
        if last.isalnum():
            body = f"{body}(?!{_WORD}|[{_MARK}])"
    return body


class Matcher:
    """The entries that apply to one speaker's lines, compiled into one regular expression."""

    def __init__(self, entries: Iterable[tuple[LexiconEntry, Scope]]) -> None:
        usable = [(e, s) for e, s in entries if e.grapheme.strip()]
        # Priority order: longest written form, most specific scope, case-sensitive, then stable.
        usable.sort(
            key=lambda es: (-len(es[0].grapheme), -int(es[1]), not es[0].match_case, es[0].grapheme, es[0].id)
        )
        self.entries: tuple[tuple[LexiconEntry, Scope], ...] = tuple(usable)
        self._regex: re.Pattern[str] | None = (
            re.compile("|".join(f"({_pattern(e)})" for e, _ in usable)) if usable else None
        )

    def find(self, text: str) -> list[Match]:
        """Matches in ``text`` (which should be NFC), left to right, never overlapping."""
        if self._regex is None or not text:
            return []
        found: list[Match] = []
        for m in self._regex.finditer(text):
            if m.lastindex is None:
                continue
            entry, scope = self.entries[m.lastindex - 1]
            found.append(Match(m.start(), m.end(), entry, scope))
        return found

    def __bool__(self) -> bool:
        return self._regex is not None


_EMPTY = Matcher(())
_cache_lock = threading.Lock()
# id(project) -> (the entries the matchers were built from, {speaker id: matcher})
_cache: dict[int, tuple[tuple[object, ...], dict[str, Matcher]]] = {}


def _fingerprint(project: Project) -> tuple[object, ...]:
    return (project.user_lexicon, *project.lexicon.values())


def matcher_for(project: Project, speaker_id: str) -> Matcher:
    """The compiled matcher for ``speaker_id``'s lines: user + project entries + that speaker's own.

    Cached per project until its lexicon changes (records are frozen: a changed entry is a new object).
    """
    if not project.lexicon and not project.user_lexicon:
        return _EMPTY
    fingerprint = _fingerprint(project)
    with _cache_lock:
        cached = _cache.get(id(project))
        if (
            cached is None
            or len(cached[0]) != len(fingerprint)
            or any(a is not b for a, b in zip(cached[0], fingerprint, strict=True))
        ):
            cached = (fingerprint, {})
            if len(_cache) > 16:
                _cache.clear()
            _cache[id(project)] = cached
        matchers = cached[1]
        matcher = matchers.get(speaker_id)
        if matcher is None:
            pairs: list[tuple[LexiconEntry, Scope]] = [(e, Scope.USER) for e in project.user_lexicon]
            pairs += [(e, scope_of(e)) for e in project.lexicon.values() if e.speaker_id in ("", speaker_id)]
            matcher = matchers[speaker_id] = Matcher(pairs)
        return matcher


def find_matches(project: Project, speaker_id: str, text: str) -> list[Match]:
    """Where the lexicon matches ``text`` spoken by ``speaker_id`` (offsets into ``text`` when it is NFC)."""
    return matcher_for(project, speaker_id).find(unicodedata.normalize("NFC", text))


def matched_entries(matches: Sequence[Match]) -> tuple[LexiconEntry, ...]:
    """The distinct entries used, in order of first use."""
    seen: dict[str, LexiconEntry] = {}
    for match in matches:
        seen.setdefault(match.entry.id, match.entry)
    return tuple(seen.values())


def entry_identity(entry: LexiconEntry) -> dict[str, object]:
    """What about an entry changes the audio (for take keys): not its id, scope, kind or note."""
    return {
        "grapheme": entry.grapheme,
        "replacement": entry.replacement,
        "phonemes": entry.phonemes,
        "match_case": entry.match_case,
        "whole_word": entry.whole_word,
    }


def spoken_form(entry: LexiconEntry, phonemes: bool) -> str | None:
    """What the engine is sent for a match: ``[[ IPA ]]`` (Piper's raw-phoneme syntax) where the backend
    takes phonemes, else the replacement text; None when the entry has nothing this backend can use."""
    if phonemes and entry.phonemes:
        return f"[[ {entry.phonemes} ]]"
    if entry.replacement:
        return entry.replacement
    return None


def substitute(text: str, matches: Sequence[Match], phonemes: bool) -> tuple[str, bool]:
    """``text`` with each match replaced by its spoken form; also whether a phonemes-only entry was left
    as written (the backend takes no phonemes)."""
    out: list[str] = []
    at = 0
    unusable = False
    for match in matches:
        said = spoken_form(match.entry, phonemes)
        if said is None:
            unusable = True
            continue
        out.append(text[at : match.start])
        out.append(said)
        at = match.end
    out.append(text[at:])
    return "".join(out), unusable


def lines_matching(project: Project, predicate_entries: Iterable[LexiconEntry]) -> list[str]:
    """Ids of lines (any language) whose text mentions any of these entries' written forms, by the
    entries' own rules alone — the candidates a lexicon edit can affect."""
    entries = list(predicate_entries)
    if not entries:
        return []
    matcher = Matcher((e, Scope.PROJECT) for e in entries)
    hits: list[str] = []
    for line in project.ordered_lines():
        if all(e.speaker_id not in ("", line.speaker_id) for e in entries):
            continue
        texts = [line.text, *(t for _, t in line.translations)]
        if any(matcher.find(unicodedata.normalize("NFC", t)) for t in texts):
            hits.append(line.id)
    return hits
