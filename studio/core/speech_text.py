"""A line's text as the engine gets it: lexicon applied, emphasis marks gone, direction mapped per backend.

The script keeps what the user wrote (Fountain emphasis, ``[pause 0.8s]``, ``[rate 0.9]…[/rate]``);
:func:`engine_text` derives what is sent to one backend:

1. lexicon matches (:mod:`studio.core.lexicon`) are replaced by their spoken form — ``[[ IPA ]]`` for a
   backend that takes phonemes (Piper, through espeak-ng phonemes), else the respelling/alias;
2. Fountain emphasis (``*italic*``, ``**bold**``, ``_underline_``) loses its marks (``\\*`` stays a ``*``);
3. timing tags (:mod:`engine.direction`) are kept, canonical, for a backend that performs them, and
   removed for one that does not — which is reported (``ignored``), as is a direction field the
   backend cannot use.

What each backend performs is :data:`BACKEND_FEATURES`. The render summary lists each ignored feature
once ("direction not supported by piper"), not per line (:func:`ignored_summary`).

Thread contract: pure functions; safe from any thread.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from engine import direction as timing
from studio.core.lexicon import Match, find_matches, matched_entries, spoken_form
from studio.core.model import LexiconEntry
from studio.core.project import Project

# What a backend performs: "pause" ([pause …]), "rate" ([rate …] spans), "phonemes" (IPA entries),
# "direction" (the line's direction field, e.g. "whispering").
BACKEND_FEATURES: Mapping[str, frozenset[str]] = {
    "piper": frozenset({"pause", "rate", "phonemes"}),
    # Higgs (local, or the Higgs servers behind the OpenAI-compatible backend) performs the direction
    # field from the job's scene description (higgs_scene_description, used by studio.render.takes).
    "higgs": frozenset({"direction"}),
    "openai": frozenset({"direction"}),
}
FEATURE_LABELS: Mapping[str, str] = {
    "direction": "direction",
    "pause": "[pause] timing",
    "rate": "[rate] spans",
    "phonemes": "phoneme lexicon entries",
}

_ESCAPED = re.compile(r"\\([*_])")
_STARS = re.compile(r"(?<![\\*])(?<![^\W_])(\*{1,3})(?=[^\s*])(.+?)(?<=[^\s\\*])\1(?![^\W_])")
_UNDERLINE = re.compile(r"(?<![^\W_])(?<!\\)_(?=\S)(.+?)(?<=[^\s\\])_(?![^\W_])")
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")


@dataclass(frozen=True)
class EngineText:
    """``text`` for the engine; ``entries`` the lexicon entries that matched; ``ignored`` the features
    of this line the backend cannot perform (keys of :data:`FEATURE_LABELS`)."""

    text: str
    entries: tuple[LexiconEntry, ...] = ()
    ignored: frozenset[str] = frozenset()


def strip_emphasis(text: str) -> str:
    """Fountain emphasis marks removed (``*a*``, ``**a**``, ``***a***``, ``_a_``); ``\\*`` → ``*``."""
    previous = None
    while previous != text:
        previous = text
        text = _STARS.sub(r"\2", text)
        text = _UNDERLINE.sub(r"\1", text)
    return _ESCAPED.sub(r"\1", text)


def features_of(backend: str) -> frozenset[str]:
    return BACKEND_FEATURES.get(backend, frozenset())


def engine_text(
    project: Project, speaker_id: str, text: str, features: frozenset[str], direction: str = ""
) -> EngineText:
    """What the engine is sent for ``text`` spoken by ``speaker_id`` on a backend performing ``features``."""
    text = unicodedata.normalize("NFC", text)
    matches = find_matches(project, speaker_id, text)
    phonemes = "phonemes" in features
    ignored: set[str] = set()
    if direction.strip() and "direction" not in features:
        ignored.add("direction")
    # Matches become placeholders so emphasis and tag handling never touch the spoken forms.
    spoken: list[str] = []
    out: list[str] = []
    at = 0
    for match in matches:
        said = spoken_form(match.entry, phonemes)
        if said is None:
            ignored.add("phonemes")
            continue
        out.append(text[at : match.start])
        out.append(f"\ue000{len(spoken)}\ue001")
        spoken.append(said)
        at = match.end
    out.append(text[at:])
    result = strip_emphasis("".join(out))
    pauses, rates = timing.has_direction(result)
    for feature, present in (("pause", pauses), ("rate", rates)):
        if present and feature not in features:
            ignored.add(feature)
    if (pauses and "pause" not in features) or (rates and "rate" not in features):
        result = timing.strip(result)
    if pauses or rates:
        result = timing.canonical(result)
    result = _PLACEHOLDER.sub(lambda m: spoken[int(m.group(1))], result)
    return EngineText(result, matched_entries(matches), frozenset(ignored))


def heard_text(project: Project, speaker_id: str, text: str) -> str:
    """The words a listener should hear (for take checks): aliases said, phoneme entries heard as the
    written word, emphasis and timing tags gone."""
    said = engine_text(project, speaker_id, text, frozenset())
    return said.text


def display_matches(project: Project, speaker_id: str, text: str) -> list[Match]:
    """Lexicon matches with offsets into ``text`` itself (for underlining); none when NFC would move them."""
    if unicodedata.normalize("NFC", text) != text:
        return []
    return find_matches(project, speaker_id, text)


def ignored_summary(counts: Mapping[str, int], backend: str) -> list[str]:
    """One line per ignored feature: "direction not supported by piper (3 lines)"."""
    return [
        f"{FEATURE_LABELS.get(feature, feature)} not supported by {backend} ({n} line{'s' if n != 1 else ''})"
        for feature, n in sorted(counts.items())
        if n
    ]


def higgs_scene_description(scene: str, direction: str, speaker: str = "") -> str:
    """Where Higgs takes a line's direction: its scene description ("… Maya is whispering.").

    For the Higgs backend to use per job (its prompt's scene block); pure so it can be tested alone.
    """
    scene = scene.strip()
    direction = direction.strip().strip("()").strip()
    if not direction:
        return scene
    who = speaker.strip() or "The speaker"
    return f"{scene} {who} is {direction.rstrip('.')}.".strip()
