"""Take QA without audio models: word alignment, letter error rate, signal measures, verdicts."""

from __future__ import annotations

import numpy as np

from studio.qa.scores import DEFAULT_THRESHOLDS, TakeScores, judge, thresholds
from studio.qa.signal import measure
from studio.qa.words import char_error_rate, compare, tokens


def test_tokens_fold_case_punctuation_and_number_runs() -> None:
    assert tokens("It's twenty-three past NINE, sir!") == ["it's", "#", "past", "#", "sir"]
    assert tokens("three forty-five") == tokens("three hundred forty five") == ["#"]


def test_alignment_counts_missing_and_extra_words() -> None:
    diff = compare("the quick brown fox jumps", "the brown fox really jumps high")
    assert diff.missing == ("quick",) and diff.extra == ("really", "high")
    assert diff.errors == 3 and diff.expected_count == 5 and abs(diff.wer - 0.6) < 1e-9
    assert compare("", "").wer == 0.0 and compare("", "noise").wer == 1.0


def test_letter_error_rate_forgives_split_words() -> None:
    expected, heard = "a quarter between sentences", "a quarter bit wean sentences"
    assert compare(expected, heard).wer >= 0.5
    assert char_error_rate(expected, heard) < 0.1
    assert char_error_rate("welcome back to the show", "the tavern is closed") > 0.5


def sine(seconds: float, rate: int = 16000, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def test_signal_measures_silences_pauses_clipping_and_level() -> None:
    rate = 16000
    gap = np.zeros(rate * 2, np.float32)
    audio = np.concatenate([np.zeros(rate // 2, np.float32), sine(1), gap, sine(1), np.zeros(rate, np.float32)])
    s = measure(audio, rate)
    assert abs(s.leading_silence - 0.5) < 0.03 and abs(s.trailing_silence - 1.0) < 0.03
    assert abs(s.longest_pause - 2.0) < 0.03 and s.clipping == 0.0
    assert abs(s.level_dbfs - 20 * np.log10(0.3 / np.sqrt(2))) < 0.5
    clipped = measure(np.clip(sine(1, amp=3.0), -1, 1), rate)
    assert clipped.clipping > 0.1 and clipped.peak_dbfs > -0.1
    silent = measure(np.zeros(rate, np.float32), rate)
    assert silent.level_dbfs == -200.0 and silent.leading_silence == 1.0


def test_verdicts_and_thresholds() -> None:
    limits = thresholds()
    assert judge(TakeScores(duration=3, expected_duration=3, level_dbfs=-20), limits).verdict == "ok"
    bad = judge(
        TakeScores(
            wer=0.5, cer=0.4, word_errors=4, missing=("city",), extra=("tavern",), trailing_silence=3.0,
            level_dbfs=-20, engine_note="ran to its frame limit",
        ),
        limits,
    )
    assert bad.suspect and len(bad.reasons) == 3
    assert any("missing city" in r and "extra tavern" in r for r in bad.reasons)
    assert any("3.0 s of silence at the end" in r for r in bad.reasons)
    assert TakeScores.from_json(bad.to_json()) == bad
    assert TakeScores.from_json("") is None and TakeScores.from_json("{broken") is None
    relaxed = thresholds((("max_trailing_silence", 5.0), ("unknown", 1.0)))
    assert relaxed["max_trailing_silence"] == 5.0 and set(relaxed) == set(DEFAULT_THRESHOLDS)
    one_word = judge(TakeScores(wer=0.5, cer=0.5, word_errors=1, level_dbfs=-20), limits)
    assert one_word.verdict == "ok"  # one misheard word of two is not enough
