"""Inline timing direction in a line's text — one syntax for every backend.

    [pause 0.8s]            silence (also ``[pause 800ms]``, ``[pause 1]`` = seconds); 0–10 s
    [rate 0.9]words[/rate]  speak the span at 0.9× the normal rate (slower; 1.2 = faster); 0.5–2.
                            Without ``[/rate]`` the rate holds to the end of the line; spans nest.

Tags are case-insensitive and may have spaces inside the brackets. Other bracket tags (``[laugh]``,
Higgs' ``[humming start]``) are not direction and are left alone; ``[[ phonemes ]]`` is Piper's raw
phoneme syntax and is left alone too.

Pure standard library: the studio imports it to build engine text, the backends to perform it.

Thread contract: pure functions, safe from any thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PAUSE_S = 10.0
MIN_RATE, MAX_RATE = 0.5, 2.0

_PAUSE = r"\[\s*pause\s+(?P<pause>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>ms|s)?\s*\]"
_RATE = r"\[\s*rate\s+(?P<rate>\d+(?:\.\d+)?|\.\d+)\s*(?:x|×)?\s*\]"
_END_RATE = r"(?P<end>\[\s*/\s*rate\s*\])"
TAG_RE = re.compile(f"(?<!\\[)(?:{_PAUSE}|{_RATE}|{_END_RATE})(?!\\])", re.IGNORECASE)


@dataclass(frozen=True)
class Span:
    """A stretch of text spoken at ``rate`` after ``pause_before`` seconds of silence."""

    text: str
    rate: float = 1.0
    pause_before: float = 0.0


def pause_seconds(value: str, unit: str | None) -> float:
    seconds = float(value) / (1000.0 if (unit or "").lower() == "ms" else 1.0)
    return max(0.0, min(MAX_PAUSE_S, seconds))


def clamp_rate(value: float) -> float:
    return max(MIN_RATE, min(MAX_RATE, value))


def parse(text: str) -> list[Span]:
    """``text`` as spans; pauses attach to the span after them (a trailing pause gets an empty span)."""
    spans: list[Span] = []
    rates: list[float] = [1.0]
    pause = 0.0
    at = 0

    def flush(upto: int) -> None:
        nonlocal pause
        piece = text[at:upto]
        if piece.strip():
            spans.append(Span(piece, rates[-1], pause))
            pause = 0.0

    for m in TAG_RE.finditer(text):
        flush(m.start())
        at = m.end()
        if m.group("pause") is not None:
            pause += pause_seconds(m.group("pause"), m.group("unit"))
            pause = min(pause, MAX_PAUSE_S)
        elif m.group("rate") is not None:
            rates.append(clamp_rate(float(m.group("rate"))))
        elif len(rates) > 1:
            rates.pop()
    flush(len(text))
    if pause:  # a pause at the very end with nothing after it
        spans.append(Span("", rates[-1], pause))
    return spans


def has_direction(text: str) -> tuple[bool, bool]:
    """(has pause tags, has rate tags)."""
    pauses = rates = False
    for m in TAG_RE.finditer(text):
        if m.group("pause") is not None:
            pauses = True
        else:
            rates = True
    return pauses, rates


def strip(text: str) -> str:
    """``text`` without direction tags (for backends that cannot perform them)."""
    return re.sub(r"[ \t]{2,}", " ", TAG_RE.sub(" ", text)).strip()


def canonical(text: str) -> str:
    """Direction tags rewritten as ``[pause 0.8s]`` / ``[rate 0.9]`` / ``[/rate]`` with clamped values."""

    def one(m: re.Match[str]) -> str:
        if m.group("pause") is not None:
            return f"[pause {pause_seconds(m.group('pause'), m.group('unit')):g}s]"
        if m.group("rate") is not None:
            return f"[rate {clamp_rate(float(m.group('rate'))):g}]"
        return "[/rate]"

    return TAG_RE.sub(one, text)
