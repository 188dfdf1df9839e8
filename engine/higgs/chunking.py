"""Long lines and context: split text into chunks, and bound the context carried between them.

Pure functions, no torch.

- :func:`chunk_text` splits a (normalised) line into chunks of whole sentences up to ``max_words``;
  a longer sentence is split at commas, then between words. Each chunk is generated in turn with the
  previous chunks' audio carried as context, so the voice stays the same across a long line.
- :func:`context_turns` turns a job's :class:`~engine.protocol.ContextTurn` s (earlier lines of the
  scene, oldest first) into prompt turns, keeping the last ``keep`` of them — the reference keeps its
  voice references plus the last N generated chunks (``--generation_chunk_buffer_size``).
- :class:`TurnBuffer` is that bound for a render in progress: scene context first, then each chunk as it
  is generated, the oldest dropped when full.

Safe to call from any thread; a TurnBuffer belongs to one render.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Sequence

from engine.higgs.prompt import PriorTurn
from engine.higgs.text import CJK_CHARS, speech_units
from engine.protocol import RenderJob

DEFAULT_CHUNK_WORDS = 60  # about 25 s of speech per chunk
DEFAULT_CONTEXT_TURNS = 3

# A sentence runs to . ! ? ; (and any closing quotes/brackets after them) before whitespace or the end,
# or to a full-width 。！？ or an ASCII end mark followed directly by Chinese/Japanese/Korean text
# (those scripts put no space after a sentence).
_SENTENCE = re.compile(
    rf"\S.*?(?:[.!?;]+[\"')\]]*(?=\s|$|[{CJK_CHARS}])|[。！？；]+[”’」』）]*|$)"
)
# The pieces a too-long sentence may be cut into: a CJK character, or a run of other non-space text,
# each with the whitespace before it (so joining pieces gives back the sentence).
_ATOM = re.compile(rf"\s*(?:[{CJK_CHARS}]|[^\s{CJK_CHARS}]+)")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` with their punctuation (line breaks also end a sentence)."""
    sentences: list[str] = []
    for line in text.split("\n"):
        sentences.extend(m[0].strip() for m in _SENTENCE.finditer(line) if m[0].strip())
    return sentences


def chunk_text(text: str, max_words: int = DEFAULT_CHUNK_WORDS) -> list[str]:
    """Split ``text`` into chunks of at most ``max_words`` words, at sentence ends where possible.

    Words are :func:`~engine.higgs.text.speech_units` (Chinese/Japanese/Korean characters count by
    their speaking time, not by spaces). Joining the chunks with single spaces gives back the text
    (line breaks become spaces) for space-separated languages; CJK chunks join without a space.
    """
    if max_words < 1:
        raise ValueError("max_words must be at least 1")
    pieces: list[str] = []
    for sentence in split_sentences(text):
        pieces.extend(_split_long(sentence, max_words))
    chunks: list[str] = []
    current: list[str] = []
    count = 0.0
    for piece in pieces:
        units = speech_units(piece)
        if current and count + units > max_words:
            chunks.append(_join(current))
            current, count = [], 0.0
        current.append(piece)
        count += units
    if current:
        chunks.append(_join(current))
    return chunks


def _join(pieces: list[str]) -> str:
    out = pieces[0]
    for piece in pieces[1:]:
        cjk_seam = re.match(f"[{CJK_CHARS}]", piece) and re.search(f"[{CJK_CHARS}。！？；]\\W*$", out)
        out += piece if cjk_seam else " " + piece
    return out


def _split_long(sentence: str, max_words: int) -> list[str]:
    if speech_units(sentence) <= max_words:
        return [sentence]
    clauses = [c for c in re.split(r"(?<=[,，、])\s*", sentence) if c]
    out: list[str] = []
    for clause in clauses:
        current, count = "", 0.0
        for atom in _ATOM.findall(clause):
            units = speech_units(atom)
            if current and count + units > max_words:
                out.append(current.strip())
                current, count = atom.lstrip(), 0.0
            else:
                current += atom
            count += units
        if current.strip():
            out.append(current.strip())
    return out


def context_turns(job: RenderJob, keep: int = DEFAULT_CONTEXT_TURNS) -> list[PriorTurn]:
    """The last ``keep`` of ``job.context`` as prompt turns, oldest first (``keep`` ≤ 0 keeps none)."""
    return keep_last([PriorTurn(text=t.text, audio=t.audio, speaker=t.speaker) for t in job.context], keep)


def keep_last(turns: Sequence[PriorTurn], keep: int) -> list[PriorTurn]:
    """The last ``keep`` turns (all if fewer; none if ``keep`` ≤ 0)."""
    return list(turns[-keep:]) if keep > 0 else []


class TurnBuffer:
    """A bounded, ordered window of prior turns: append new ones, the oldest fall out."""

    def __init__(self, keep: int, initial: Iterable[PriorTurn] = ()) -> None:
        self._turns: deque[PriorTurn] = deque(maxlen=max(keep, 0))
        for turn in initial:
            self.append(turn)

    def append(self, turn: PriorTurn) -> None:
        if self._turns.maxlen:
            self._turns.append(turn)

    def turns(self) -> list[PriorTurn]:
        return list(self._turns)

    def __len__(self) -> int:
        return len(self._turns)
