"""What a take should say and what it said, written the same way for comparison.

:func:`expected_speech` is a script line as a speech model is sent it — the Higgs text normalisation
(:func:`engine.higgs.text.normalize_text`: numbers and units spelled out for English, tags expanded) —
with the sound-event markers dropped, since they are not words. :func:`heard_speech` spells the numbers
of a transcript the same way (Whisper writes "42" where the model said "forty-two").

Pure; safe from any thread (the first call for an undecided language loads langid, ~1 s).
"""

from __future__ import annotations

import re

from engine.higgs.text import line_language, normalize_text, spell_numbers

_MARKERS = re.compile(r"<SE(?:_[se])?>\[[^\]]*\]</SE(?:_[se])?>|</?SE(?:_[se])?>")


def expected_speech(text: str, language: str = "") -> str:
    """The words a take of ``text`` should hold, as the engine sends them to a speech model."""
    spoken = _MARKERS.sub(" ", normalize_text(text, language or line_language(text)))
    return " ".join(spoken.split())


def heard_speech(transcript: str, language: str = "en") -> str:
    """The transcript with numbers spelled out (English), comparable with :func:`expected_speech`."""
    text = transcript.replace("%", " percent")
    if (language or "en") == "en":
        text = spell_numbers(text)
    return " ".join(text.split())
