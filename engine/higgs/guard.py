"""Runaway and silence guard: bound how long a line may run, and inspect the take afterwards.

Users of the reference implementation report generations that run on in silence to the token limit,
or loop. Chorus bounds every line up front and checks every take:

- :func:`frame_budget` caps the frames a line may produce from its text: ~1.2 s per spoken word, or
  per English-word equivalent of Chinese/Japanese/Korean characters (:func:`~engine.higgs.text.speech_units`) (about
  three times a normal speaking rate) plus a few seconds per sound-event tag and a 2 s margin, never
  more than the job's ``max_new_tokens`` allows. The backend enforces the cap per row of a batch by
  forcing the audio end-of-stream once the row reaches it (see :mod:`engine.higgs.sampling`).
- :func:`check_take` trims leading/trailing silence and marks a take suspect, with a note, when it ran
  to its cap (probable runaway), holds a long silence, or is silent altogether.

Pure numpy; safe to call from any thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.higgs.text import count_sound_events, speech_units

FRAME_RATE = 25  # audio frames per second (one LM step per frame)
SAMPLE_RATE = 24000
SAMPLES_PER_FRAME = SAMPLE_RATE // FRAME_RATE  # 960
# Steps beyond the content frames: the all-BOS frame, 7 delay-pattern frames, the all-EOS frame.
STEP_OVERHEAD = 9

SECONDS_PER_WORD = 1.2
SECONDS_PER_SOUND_EVENT = 8.0
MARGIN_SECONDS = 2.0

SILENCE_DBFS = -50.0  # RMS over a 20 ms window below this is silence
MAX_PAUSE_SECONDS = 2.0  # a silence this long is suspect
KEEP_SILENCE_SECONDS = 0.1  # silence kept at each end when trimming
_WINDOW_SECONDS = 0.02


def frame_budget(text: str, *, max_new_tokens: int, kind: str = "dialogue") -> int:
    """The most content frames (1/25 s each) a line of ``text`` may produce.

    Humming and music lines are bounded only by ``max_new_tokens`` (they have few words but may run
    long); dialogue by its words and tags. Always at least one frame.
    """
    limit = max(1, max_new_tokens - STEP_OVERHEAD)
    if kind in ("humming", "music"):
        return limit
    seconds = (
        speech_units(text) * SECONDS_PER_WORD
        + count_sound_events(text) * SECONDS_PER_SOUND_EVENT
        + MARGIN_SECONDS
    )
    return max(1, min(limit, math.ceil(round(seconds * FRAME_RATE, 6))))


def steps_for(frames: int) -> int:
    """``max_new_tokens`` that lets a take of ``frames`` content frames finish (delay pattern included)."""
    return frames + STEP_OVERHEAD


@dataclass(frozen=True)
class TakeCheck:
    """What the guard found: the (trimmed) audio, whether it is suspect, and why."""

    audio: np.ndarray
    suspect: bool
    notes: tuple[str, ...]
    trimmed_start_s: float = 0.0
    trimmed_end_s: float = 0.0

    @property
    def note(self) -> str:
        return "; ".join(self.notes)


def silent_windows(audio: np.ndarray, sample_rate: int, silence_dbfs: float = SILENCE_DBFS) -> np.ndarray:
    """One bool per 20 ms window: True where the window's RMS is below ``silence_dbfs``."""
    window = max(1, int(sample_rate * _WINDOW_SECONDS))
    count = len(audio) // window
    if count == 0:
        return _rms_silent(audio, silence_dbfs) if len(audio) else np.zeros(0, dtype=bool)
    frames = np.asarray(audio[: count * window], dtype=np.float64).reshape(count, window)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    silent: np.ndarray = rms < 10 ** (silence_dbfs / 20)
    tail = audio[count * window :]
    if len(tail):
        silent = np.append(silent, _rms_silent(tail, silence_dbfs))
    return silent


def _rms_silent(audio: np.ndarray, silence_dbfs: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.asarray(audio, dtype=np.float64) ** 2)))
    return np.array([rms < 10 ** (silence_dbfs / 20)])


def longest_run(flags: np.ndarray) -> tuple[int, int]:
    """(start, length) of the longest run of True in ``flags`` ((0, 0) if none)."""
    best_start, best_len, start = 0, 0, -1
    for i, flag in enumerate(np.append(flags, False)):
        if flag and start < 0:
            start = i
        elif not flag and start >= 0:
            if i - start > best_len:
                best_start, best_len = start, i - start
            start = -1
    return best_start, best_len


def check_take(
    audio: np.ndarray,
    sample_rate: int,
    *,
    capped: bool = False,
    limit_s: float = 0.0,
    trim: bool = True,
    silence_dbfs: float = SILENCE_DBFS,
    max_pause_s: float = MAX_PAUSE_SECONDS,
) -> TakeCheck:
    """Inspect a decoded take; ``capped`` says generation was stopped at its limit of ``limit_s`` seconds.

    Trims silence at both ends (keeping 0.1 s) when ``trim``; flags a capped take (probable runaway),
    one that is empty or silent throughout, and any silence of ``max_pause_s`` or more (at the ends
    before trimming, or inside).
    """
    notes: list[str] = []
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    if capped:
        notes.append(
            f"generation ran to its length limit ({limit_s:.1f} s) without finishing: "
            "it may run on or loop; listen, then regenerate or split the line"
        )
    if len(audio) == 0:
        notes.append("the model produced no audio; regenerate the line")
        return TakeCheck(np.zeros(0, dtype=np.float32), True, tuple(notes))

    silent = silent_windows(audio, sample_rate, silence_dbfs)
    window = max(1, int(sample_rate * _WINDOW_SECONDS))
    if silent.all():
        notes.append("the take is silent throughout; regenerate the line")
        return TakeCheck(audio, True, tuple(notes))

    voiced = np.flatnonzero(~silent)
    lead_s = voiced[0] * window / sample_rate
    trail_s = max(0.0, len(audio) / sample_rate - (voiced[-1] + 1) * window / sample_rate)
    inner_start, inner_len = longest_run(silent[voiced[0] : voiced[-1] + 1])
    inner_s = inner_len * window / sample_rate
    if lead_s >= max_pause_s:
        notes.append(f"{lead_s:.1f} s of silence before the speech")
    if inner_s >= max_pause_s:
        at = (voiced[0] + inner_start) * window / sample_rate
        notes.append(f"a {inner_s:.1f} s silence inside the take (at {at:.1f} s)")
    if trail_s >= max_pause_s:
        notes.append(f"ran on in silence for {trail_s:.1f} s after the speech")

    trimmed_start = trimmed_end = 0.0
    if trim:
        keep = int(KEEP_SILENCE_SECONDS * sample_rate)
        start = max(0, int(voiced[0] * window) - keep)
        end = min(len(audio), int((voiced[-1] + 1) * window) + keep)
        trimmed_start = start / sample_rate
        trimmed_end = (len(audio) - end) / sample_rate
        audio = audio[start:end]
        if notes and (trimmed_start >= max_pause_s or trimmed_end >= max_pause_s):
            notes.append(f"trimmed {trimmed_start:.1f} s + {trimmed_end:.1f} s of silence")
    return TakeCheck(audio, bool(notes), tuple(notes), trimmed_start, trimmed_end)
