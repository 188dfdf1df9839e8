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
from engine.protocol import RenderJob

DEFAULT_CHUNK_WORDS = 60  # about 25 s of speech per chunk
DEFAULT_CONTEXT_TURNS = 3

# A sentence runs to . ! ? ; (and any closing quotes/brackets after them) before whitespace or the end.
_SENTENCE = re.compile(r"\S.*?(?:[.!?;]+[\"')\]]*(?=\s|$)|$)")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` with their punctuation (line breaks also end a sentence)."""
    sentences: list[str] = []
    for line in text.split("\n"):
        sentences.extend(m[0].strip() for m in _SENTENCE.finditer(line) if m[0].strip())
    return sentences


def chunk_text(text: str, max_words: int = DEFAULT_CHUNK_WORDS) -> list[str]:
    """Split ``text`` into chunks of at most ``max_words`` words, at sentence ends where possible.

    Joining the chunks with single spaces gives back the text (line breaks become spaces).
    """
    if max_words < 1:
        raise ValueError("max_words must be at least 1")
    pieces: list[str] = []
    for sentence in split_sentences(text):
        pieces.extend(_split_long(sentence, max_words))
    chunks: list[str] = []
    current: list[str] = []
    count = 0
    for piece in pieces:
        words = len(piece.split())
        if current and count + words > max_words:
            chunks.append(" ".join(current))
            current, count = [], 0
        current.append(piece)
        count += words
    if current:
        chunks.append(" ".join(current))
    return chunks


def _split_long(sentence: str, max_words: int) -> list[str]:
    if len(sentence.split()) <= max_words:
        return [sentence]
    clauses = [c for c in re.split(r"(?<=,)\s+", sentence) if c]
    out: list[str] = []
    for clause in clauses:
        words = clause.split()
        for start in range(0, len(words), max_words):
            out.append(" ".join(words[start : start + max_words]))
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
