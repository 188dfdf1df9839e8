"""A voice's reference clip against what the speech recogniser heard in it.

Higgs clones from the clip *and* its transcript, so the transcript must be the exact words spoken. A
clip added without one is transcribed (the heard text becomes its editable transcript, and the bank
keeps the heard text beside the clip); a transcript that then disagrees with the heard text is
flagged with :func:`reference_flag` ("the clip says: …"), by :func:`studio.qa.diff.reference_mismatch`'s
thresholds (a misheard name or two is not a flag).

Pure; safe from any thread. :data:`ClipTranscriber` functions run off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from studio.bank.records import ReferenceClip
from studio.qa.diff import reference_mismatch

# A WAV path -> the words heard in it, as one line of text. Blocking; call it off the GUI thread.
ClipTranscriber = Callable[[str], str]
MAX_QUOTE = 160


def heard_text(words: Iterable[Any]) -> str:
    """Recognised words (anything with ``text`` or ``word``, or ``(text, …)`` tuples) as one line."""
    out: list[str] = []
    for w in words:
        text = getattr(w, "text", None) or getattr(w, "word", None)
        if text is None and isinstance(w, list | tuple) and w:
            text = w[0]
        out.append(str(text or "").strip())
    return " ".join(t for t in out if t)


def reference_flag(transcript: str, heard: str) -> str:
    """Nothing ("") when ``transcript`` agrees with ``heard`` (or either is missing), else a flag for the user
    that quotes what the clip says and why it differs."""
    why = reference_mismatch(transcript, heard)
    if not why:
        return ""
    quote = " ".join(heard.split())
    if len(quote) > MAX_QUOTE:
        quote = quote[: MAX_QUOTE - 1].rstrip() + "…"
    return f"the clip says: “{quote}” — {why}"


def clip_flag(clip: ReferenceClip) -> str:
    """:func:`reference_flag` for a bank clip's stored transcript and heard text."""
    return reference_flag(clip.transcript, clip.heard)
