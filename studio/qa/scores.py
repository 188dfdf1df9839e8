"""Take scores a user can read, the thresholds that judge them, and the verdict ok | suspect.

:class:`TakeScores` holds the measurements (stored with the take as JSON in ``Take.qa``); the
verdict is recomputed from them with the project's thresholds (``ProjectSettings.qa_thresholds``
over :data:`DEFAULT_THRESHOLDS`), so changing a threshold never needs a take transcribed again.

Pure; safe from any thread.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

OK, SUSPECT = "ok", "suspect"

# Speech rate assumed for a voice until it has USUAL_RATE_MIN_TAKES checked takes of its own (words/s).
DEFAULT_RATE = 2.8
USUAL_RATE_MIN_TAKES = 3

DEFAULT_THRESHOLDS: dict[str, float] = {
    "max_wer": 0.25,  # word error rate above this is suspect …
    "min_word_errors": 2,  # … when at least this many words are wrong (one misheard word is not) …
    "max_cer": 0.2,  # … and the letters differ too (Whisper tiny splits, respells and mishears names)
    "max_leading_silence": 1.0,  # seconds
    "max_trailing_silence": 1.5,  # seconds
    "max_pause": 2.0,  # seconds of silence inside the take
    "max_clipping": 0.001,  # share of samples clipped
    "min_level_dbfs": -40.0,  # speech level below this is too quiet
    "min_rate_ratio": 0.6,  # words/s against the voice's usual rate
    "max_rate_ratio": 1.6,
    "min_duration_ratio": 0.5,  # duration against the duration expected from the words
    "max_duration_ratio": 2.2,
}


def thresholds(overrides: tuple[tuple[str, float], ...] | dict[str, float] = ()) -> dict[str, float]:
    """The defaults with a project's overrides (unknown names are ignored)."""
    merged = dict(DEFAULT_THRESHOLDS)
    for name, value in dict(overrides).items():
        if name in merged:
            merged[name] = float(value)
    return merged


@dataclass(frozen=True)
class TakeScores:
    """Everything the check measured for one take (seconds, dBFS, words/s, shares 0..1)."""

    expected: str = ""  # the text sent to the model (numbers spelled, tags expanded)
    transcript: str = ""  # what the recogniser heard
    words: tuple[tuple[str, float, float], ...] = ()  # heard words with start/end seconds
    wer: float = 0.0
    cer: float = 0.0  # letter error rate (spaces ignored)
    word_errors: int = 0
    expected_words: int = 0
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    rate: float = 0.0  # words per second of speech (between first and last word)
    usual_rate: float = DEFAULT_RATE
    duration: float = 0.0
    expected_duration: float = 0.0
    leading_silence: float = 0.0
    trailing_silence: float = 0.0
    longest_pause: float = 0.0
    clipping: float = 0.0
    peak_dbfs: float = 0.0
    level_dbfs: float = 0.0
    engine_note: str = ""  # the engine's own guard (Higgs runaway / silence check), "" = fine
    words_checked: bool = True  # False for humming/music lines and languages the recogniser lacks
    model: str = ""
    verdict: str = OK
    reasons: tuple[str, ...] = field(default=())

    @property
    def suspect(self) -> bool:
        return self.verdict == SUSPECT

    @property
    def summary(self) -> str:
        """One line: the verdict and its reasons."""
        return self.verdict if not self.reasons else f"{self.verdict}: {'; '.join(self.reasons)}"

    def badness(self) -> float:
        """Lower is better: for picking the best of several takes of one line."""
        return (
            len(self.reasons) * 10.0
            + self.wer * 5.0
            + self.leading_silence
            + self.trailing_silence
            + max(0.0, self.longest_pause - 1.0)
            + self.clipping * 100.0
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> TakeScores | None:
        """Scores from ``Take.qa`` ("" or unreadable = None: not checked)."""
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
        for name in ("missing", "extra", "reasons"):
            values[name] = tuple(values.get(name, ()))
        values["words"] = tuple(tuple(w) for w in values.get("words", ()))
        try:
            return cls(**values)
        except TypeError:
            return None


def judge(scores: TakeScores, limits: dict[str, float]) -> TakeScores:
    """``scores`` with its verdict and reasons under ``limits`` (see :func:`thresholds`)."""
    reasons: list[str] = []
    if scores.engine_note:
        reasons.append(f"engine: {scores.engine_note}")
    if scores.words_checked:
        if (
            scores.wer > limits["max_wer"]
            and scores.word_errors >= limits["min_word_errors"]
            and scores.cer > limits["max_cer"]
        ):
            detail = []
            if scores.missing:
                detail.append("missing " + " ".join(scores.missing[:6]) + (" …" if len(scores.missing) > 6 else ""))
            if scores.extra:
                detail.append("extra " + " ".join(scores.extra[:6]) + (" …" if len(scores.extra) > 6 else ""))
            reasons.append(f"words differ (WER {scores.wer:.0%}" + (f": {', '.join(detail)})" if detail else ")"))
        if scores.rate > 0 and scores.usual_rate > 0:
            ratio = scores.rate / scores.usual_rate
            if ratio > limits["max_rate_ratio"]:
                reasons.append(f"too fast ({scores.rate:.1f} words/s, usually {scores.usual_rate:.1f})")
            elif ratio < limits["min_rate_ratio"]:
                reasons.append(f"too slow ({scores.rate:.1f} words/s, usually {scores.usual_rate:.1f})")
        if scores.expected_duration > 0:
            ratio = scores.duration / scores.expected_duration
            if ratio > limits["max_duration_ratio"]:
                reasons.append(f"too long ({scores.duration:.1f} s, expected about {scores.expected_duration:.1f} s)")
            elif ratio < limits["min_duration_ratio"]:
                reasons.append(f"too short ({scores.duration:.1f} s, expected about {scores.expected_duration:.1f} s)")
    if scores.leading_silence > limits["max_leading_silence"]:
        reasons.append(f"{scores.leading_silence:.1f} s of silence at the start")
    if scores.trailing_silence > limits["max_trailing_silence"]:
        reasons.append(f"{scores.trailing_silence:.1f} s of silence at the end")
    if scores.longest_pause > limits["max_pause"]:
        reasons.append(f"a {scores.longest_pause:.1f} s pause inside")
    if scores.clipping > limits["max_clipping"]:
        reasons.append(f"clipped ({scores.clipping:.2%} of samples)")
    if scores.level_dbfs < limits["min_level_dbfs"]:
        reasons.append("silent" if scores.level_dbfs <= -199 else f"too quiet ({scores.level_dbfs:.0f} dBFS)")
    return replace(scores, verdict=SUSPECT if reasons else OK, reasons=tuple(reasons))
