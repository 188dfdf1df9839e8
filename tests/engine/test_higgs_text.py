"""Higgs text normalisation, number spelling, chunking and the take guard (pure, no model)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.higgs.chunking import TurnBuffer, chunk_text, keep_last, split_sentences
from engine.higgs.guard import (
    FRAME_RATE,
    MAX_PAUSE_SECONDS,
    STEP_OVERHEAD,
    check_take,
    frame_budget,
    longest_run,
    steps_for,
)
from engine.higgs.prompt import PriorTurn
from engine.higgs.text import (
    count_sound_events,
    count_words,
    expand_tags,
    is_musical,
    normalize_text,
    number_to_words,
    ordinal_to_words,
    spell_numbers,
    year_to_words,
)

RATE = 24000


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("你好，世界。", "你好, 世界."),
        ("Wait（really）？", "Wait really ?"),
        ("It is 72°F today", "It is seventy-two degrees Fahrenheit today."),
        ("Water boils at 100°C!", "Water boils at one hundred degrees Celsius!"),
        ("  lots   of\tspace  \n\n  next   line ", "lots of space\nnext line."),
        ("Ends with a quote'", "Ends with a quote'"),
        ("He said “hi”", 'He said "hi"'),
        ("Oh [laugh]", "Oh <SE>[Laughter]</SE>"),
        ("ok; ", "ok;"),
        ("", ""),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("7", "seven"),
        ("42", "forty-two"),
        ("1,234,567", "one million two hundred thirty-four thousand five hundred sixty-seven"),
        ("3.14", "three point one four"),
        ("-5 degrees", "minus five degrees"),
        ("50%", "fifty percent"),
        ("$3.50", "three dollars and fifty cents"),
        ("$1", "one dollar"),
        ("£0.01", "one penny"),
        ("€2.5", "two point five euros"),
        ("at 3:30 or 12:00 or 7:05", "at three thirty or twelve o'clock or seven oh five"),
        ("the 1st, 2nd, 3rd, 21st and 100th", "the first, second, third, twenty-first and one hundredth"),
        ("in 1999, 2024 and 1905", "in nineteen ninety-nine, twenty twenty-four and nineteen oh five"),
        ("the 1990s", "the nineteen nineties"),
        ("agent 007", "agent zero zero seven"),
        ("SPEAKER0 plays MP3 in 4K", "SPEAKER0 plays MP3 in 4K"),
    ],
)
def test_spell_numbers(raw: str, expected: str) -> None:
    assert spell_numbers(raw) == expected


def test_number_words_edges() -> None:
    assert number_to_words(0) == "zero"
    assert number_to_words(1_000_000_001) == "one billion one"
    assert ordinal_to_words(12) == "twelfth"
    assert ordinal_to_words(40) == "fortieth"
    assert year_to_words(2000) == "two thousand"
    assert year_to_words(1900) == "nineteen hundred"


@given(st.integers(min_value=0, max_value=10**12))
def test_spelled_numbers_have_no_digits(n: int) -> None:
    assert not any(ch.isdigit() for ch in spell_numbers(f"about {n} things"))


@given(
    st.lists(
        st.sampled_from([*"ab 1,.!?()[]°FC\n", "[laugh]", "[music]", "（", "$", "%", ":"]), max_size=40
    ).map("".join)
)
def test_normalisation_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


def test_tag_expansion_is_case_insensitive_and_idempotent() -> None:
    expanded = expand_tags("[Music Start] la [MUSIC END] [music]")
    assert expanded == "<SE_s>[Music]</SE_s> la <SE_e>[Music]</SE_e> <SE>[Music]</SE>"
    assert expand_tags(expanded) == expanded


def test_word_and_event_counts_ignore_markup() -> None:
    assert count_words("Well [laugh] that is, 'funny'!") == 4
    assert count_sound_events("[laugh] [music start] x [music end] [cough]") == 3


@pytest.mark.parametrize(
    ("text", "kind", "musical"),
    [
        ("hello", "dialogue", False),
        ("hello", "humming", True),
        ("hello", "music", True),
        ("[humming start] mm [humming end]", "dialogue", True),
        ("[sing start] la", "dialogue", True),
        ("[laugh] ha", "dialogue", False),
    ],
)
def test_musical_lines_are_detected(text: str, kind: str, musical: bool) -> None:
    assert is_musical(text, kind) is musical


# ---------------------------------------------------------------------------------------- chunking


def test_sentences_keep_their_punctuation_and_quotes() -> None:
    assert split_sentences('He said "hi." Then left! Really?\nNew line') == [
        'He said "hi."',
        "Then left!",
        "Really?",
        "New line",
    ]


def test_chunks_respect_sentences_and_the_word_limit() -> None:
    text = "One two three. Four five six seven, eight nine ten eleven twelve. Thirteen."
    assert chunk_text(text, 5) == [
        "One two three.",
        "Four five six seven,",
        "eight nine ten eleven twelve.",
        "Thirteen.",
    ]
    assert chunk_text(text, 100) == [text]


@given(
    st.lists(st.sampled_from(["word", "word.", "end!", "so,", "q?"]), min_size=1, max_size=80),
    st.integers(1, 12),
)
def test_chunking_loses_no_words_and_keeps_the_limit(words: list[str], limit: int) -> None:
    text = " ".join(words)
    chunks = chunk_text(text, limit)
    assert " ".join(chunks).split() == text.split()
    assert all(len(c.split()) <= limit for c in chunks)


def test_turn_buffer_keeps_the_last_n() -> None:
    buffer = TurnBuffer(2, [PriorTurn("a", "/a.wav")])
    buffer.append(PriorTurn("b", 0))
    buffer.append(PriorTurn("c", 1))
    assert [t.text for t in buffer.turns()] == ["b", "c"]
    assert len(TurnBuffer(0, [PriorTurn("a", "/a.wav")])) == 0
    assert keep_last([PriorTurn("a", "x"), PriorTurn("b", "y")], 0) == []


# ---------------------------------------------------------------------------------------- guard


def test_frame_budget_scales_with_words_and_respects_max_new_tokens() -> None:
    short = frame_budget("Hi there.", max_new_tokens=2048)
    longer = frame_budget("Hi there, this is a rather longer line to say.", max_new_tokens=2048)
    assert short == round((2 * 1.2 + 2.0) * FRAME_RATE)
    assert longer > short
    assert frame_budget("word " * 500, max_new_tokens=300) == 300 - STEP_OVERHEAD
    assert frame_budget("[laugh]", max_new_tokens=2048) > frame_budget("", max_new_tokens=2048)
    assert frame_budget("mm", max_new_tokens=1000, kind="humming") == 1000 - STEP_OVERHEAD
    assert steps_for(10) == 10 + STEP_OVERHEAD


def tone(seconds: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * 200 * t)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.float32)


def test_a_clean_take_is_trimmed_but_not_suspect() -> None:
    audio = np.concatenate([silence(0.5), tone(1.0), silence(0.3), tone(0.5), silence(0.6)])
    check = check_take(audio, RATE)
    assert not check.suspect and check.note == ""
    assert len(check.audio) == pytest.approx(RATE * (1.8 + 0.2), abs=RATE * 0.03)
    assert check.trimmed_start_s == pytest.approx(0.4, abs=0.03)


def test_a_take_that_runs_on_in_silence_is_trimmed_and_flagged() -> None:
    audio = np.concatenate([tone(1.0), silence(MAX_PAUSE_SECONDS + 3)])
    check = check_take(audio, RATE)
    assert check.suspect
    assert "ran on in silence" in check.note
    assert len(check.audio) < RATE * 1.2


def test_a_long_inner_silence_is_flagged_and_kept() -> None:
    audio = np.concatenate([tone(0.5), silence(3.0), tone(0.5)])
    check = check_take(audio, RATE)
    assert check.suspect and "3.0 s silence inside the take" in check.note
    assert len(check.audio) > RATE * 3.9


def test_a_capped_take_is_flagged_as_a_possible_runaway() -> None:
    check = check_take(tone(2.0), RATE, capped=True, limit_s=2.0)
    assert check.suspect and "length limit (2.0 s)" in check.note


@pytest.mark.parametrize("audio", [np.zeros(0, dtype=np.float32), silence(1.0)])
def test_empty_or_silent_takes_are_flagged(audio: np.ndarray) -> None:
    check = check_take(audio, RATE)
    assert check.suspect
    assert "no audio" in check.note or "silent throughout" in check.note


def test_trimming_can_be_switched_off() -> None:
    audio = np.concatenate([silence(0.5), tone(1.0)])
    assert len(check_take(audio, RATE, trim=False).audio) == len(audio)


def test_longest_run() -> None:
    assert longest_run(np.array([0, 1, 1, 0, 1, 1, 1, 0], dtype=bool)) == (4, 3)
    assert longest_run(np.zeros(3, dtype=bool)) == (0, 0)


CHINESE = (
    "在一个阳光明媚的早晨，小明和他的朋友们一起去公园散步。他们看到了许多美丽的花朵，还有在湖边嬉戏的鸭子。"
    "大家都非常开心，决定下个周末再来这里野餐！"
)


def test_chinese_is_budgeted_by_characters_and_split_at_its_sentence_ends() -> None:
    from engine.higgs.text import line_language, normalize_text, speech_units

    text = normalize_text(CHINESE)
    assert line_language(CHINESE) == "zh"
    # 72 characters ≈ 16 s of speech; the cap must leave room for it (counting spaces gave 3.2 s).
    assert frame_budget(text, max_new_tokens=2048) / 25 > 30
    assert 30 < speech_units(text) < 45
    sentences = split_sentences(text)
    assert len(sentences) == 3 and sentences[0].endswith("散步.")
    chunks = chunk_text(text, 20)
    assert len(chunks) == 3 and "".join(chunks) == text.replace(" ", "").replace(",", ", ")
    assert all(speech_units(c) <= 20 for c in chunks)


def test_japanese_and_korean_count_their_characters() -> None:
    from engine.higgs.text import line_language, speech_units

    assert line_language("今日はいい天気ですね。") == "ja" and speech_units("今日はいい天気ですね") > 3
    assert line_language("안녕하세요 반갑습니다") == "ko" and speech_units("안녕하세요 반갑습니다") > 4


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Ich habe 3 Äpfel gekauft.", "de"),
        ("Le prix est 3,50 €.", "fr"),
        ("I paid €3,50 for 2 coffees", "en"),
        ("OK, 3 more.", "en"),
        ("Привет, у меня 3 яблока", "ru"),
        ("42", "en"),
    ],
)
def test_line_language(text: str, language: str) -> None:
    from engine.higgs.text import line_language

    assert line_language(text) == language


def test_a_long_chinese_sentence_without_commas_is_cut_between_characters() -> None:
    text = "我" * 100 + "."
    chunks = chunk_text(text, 10)
    assert "".join(chunks) == text and len(chunks) > 4
