"""Text normalisation and tag expansion for Higgs Audio v2 prompts (pure functions, no torch).

Follows the reference implementation's preprocessing (boson-ai/higgs-audio, ``examples/generation.py``,
``main()`` at commit 03dcdf698ba3cfdb9ff74df47f8937dceabe869d): full-width punctuation → ASCII,
parentheses → spaces, ``°F``/``°C`` spelled out, tags → the model's ``<SE…>`` sound-event markers,
whitespace collapsed line by line, empty lines dropped, and a final period when the text ends without
punctuation. Chorus adds number spelling (:func:`spell_numbers`), which the reference leaves to the
model and which its users report as a source of misread lines.

Safe to call from any thread.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# Full-width (CJK) punctuation → ASCII, as in the reference's ``normalize_chinese_punctuation``.
FULLWIDTH_PUNCTUATION: tuple[tuple[str, str], ...] = (
    ("，", ", "),
    ("。", "."),
    ("：", ":"),
    ("；", ";"),
    ("？", "?"),
    ("！", "!"),
    ("（", "("),
    ("）", ")"),
    ("【", "["),
    ("】", "]"),
    ("《", "<"),
    ("》", ">"),
    ("“", '"'),
    ("”", '"'),
    ("‘", "'"),
    ("’", "'"),
    ("、", ","),
    ("—", "-"),
    ("…", "..."),
    ("·", "."),
    ("「", '"'),
    ("」", '"'),
    ("『", '"'),
    ("』", '"'),
)

# Script tags → sound-event markers. Source: boson-ai/higgs-audio examples/generation.py, main(), the
# ``for tag, replacement in [...]`` loop, as of commit f04f5df (upstream's "se fix", 14f5f72, made
# ``[humming start]`` open a span ``<SE_s>[Humming]</SE_s>`` like music and singing; the one-shot
# ``<SE>[Humming]</SE>`` of the earlier commit left the closing ``<SE_e>`` unmatched).
TAGS: tuple[tuple[str, str], ...] = (
    ("[laugh]", "<SE>[Laughter]</SE>"),
    ("[humming start]", "<SE_s>[Humming]</SE_s>"),
    ("[humming end]", "<SE_e>[Humming]</SE_e>"),
    ("[music start]", "<SE_s>[Music]</SE_s>"),
    ("[music end]", "<SE_e>[Music]</SE_e>"),
    ("[music]", "<SE>[Music]</SE>"),
    ("[sing start]", "<SE_s>[Singing]</SE_s>"),
    ("[sing end]", "<SE_e>[Singing]</SE_e>"),
    ("[applause]", "<SE>[Applause]</SE>"),
    ("[cheering]", "<SE>[Cheering]</SE>"),
    ("[cough]", "<SE>[Cough]</SE>"),
)
TAG_NAMES: tuple[str, ...] = tuple(tag for tag, _ in TAGS)

# Tags whose lines the reference renders with repetition-aware sampling switched off.
MUSICAL_TAGS: tuple[str, ...] = ("[humming start]", "[music start]", "[music]", "[sing start]")

# A text ending in one of these needs no final period (reference list).
_FINAL_ENDINGS: tuple[str, ...] = (".", "!", "?", ",", ";", '"', "'", "</SE_e>", "</SE>")

_TAG_MARKERS: dict[str, str] = dict(TAGS)
# One pass over all tags (so a marker's own "[Music]" is never expanded again); a tag already inside a
# marker (``<SE>[Music]</SE>``) is left alone, which makes expansion idempotent.
_TAG_RE = re.compile(
    r"(?<!>)("
    + "|".join(re.escape(tag) for tag in sorted(_TAG_MARKERS, key=len, reverse=True))
    + r")(?!</SE)",
    re.IGNORECASE,
)
_SE_MARKER_RE = re.compile(r"</?SE(?:_[se])?>|\[(?:Laughter|Humming|Music|Singing|Applause|Cheering|Cough)\]")


def normalize_text(text: str, language: str = "") -> str:
    """The text as the model should read it: punctuation, units, numbers and tags normalised.

    Numbers (and °F/°C) are spelled out in English only: ``language`` is the line's language code
    ("" = detect it from the text, :func:`line_language`); other languages keep their digits, which
    the model reads in the language of the sentence, as the reference leaves them.
    """
    english = (language or line_language(text)) == "en"
    for wide, ascii_ in FULLWIDTH_PUNCTUATION:
        text = text.replace(wide, ascii_)
    text = text.replace("(", " ").replace(")", " ")
    if english:
        text = text.replace("°F", " degrees Fahrenheit").replace("°C", " degrees Celsius")
        text = spell_numbers(text)
    text = expand_tags(text)
    lines = [" ".join(line.split()) for line in text.split("\n") if line.strip()]
    text = "\n".join(lines).strip()
    if text and not text.endswith(_FINAL_ENDINGS):
        text += "."
    return text


def expand_tags(text: str) -> str:
    """Replace ``[laugh]``-style tags (any case) with the model's sound-event markers."""
    return _TAG_RE.sub(lambda m: _TAG_MARKERS[m[1].lower()], text)


def is_musical(text: str, kind: str = "dialogue") -> bool:
    """True for humming/music/singing lines: the reference renders those with RAS off."""
    if kind in ("humming", "music"):
        return True
    lowered = text.lower()
    return any(tag in lowered for tag in MUSICAL_TAGS)


def count_words(text: str) -> int:
    """Spoken words in ``text`` (tags and sound-event markers do not count)."""
    text = _SE_MARKER_RE.sub(" ", expand_tags(text))
    return len([w for w in text.split() if any(ch.isalnum() for ch in w)])


# Scripts written without spaces between words, and how many "English-word equivalents" of speaking
# time one character of each takes: a Han character ≈ 0.22 s spoken, a kana ≈ 0.14 s, a Hangul syllable
# ≈ 0.18 s, against ≈ 0.4 s for an English word. (Korean separates words with spaces, but a word holds
# several syllables, so its syllables are counted instead.)
CJK_UNITS: tuple[tuple[str, float], ...] = (
    ("\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff", 0.55),  # Han (Chinese hanzi, Japanese kanji)
    ("\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f", 0.35),  # hiragana, katakana
    ("\uac00-\ud7af", 0.45),  # Hangul syllables
)
CJK_CHARS = "".join(chars for chars, _ in CJK_UNITS)
_CJK_RE = re.compile(f"[{CJK_CHARS}]")
_CJK_WEIGHTS = tuple((re.compile(f"[{chars}]"), weight) for chars, weight in CJK_UNITS)


def speech_units(text: str) -> float:
    """How long ``text`` takes to say, in English-word equivalents (≈ 0.4 s each).

    Space-separated words count one each; characters of Chinese, Japanese and Korean count by
    :data:`CJK_UNITS` (those scripts put no spaces between words). Tags and markers do not count.
    """
    text = _SE_MARKER_RE.sub(" ", expand_tags(text))
    units = 0.0
    for pattern, weight in _CJK_WEIGHTS:
        units += weight * len(pattern.findall(text))
    rest = _CJK_RE.sub(" ", text)
    return units + len([w for w in rest.split() if any(ch.isalnum() for ch in w)])


# Languages langid may answer for a text, by the script the text is written in (Han/kana/Hangul are
# decided by script alone).
_LATIN_LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl", "sv", "da", "nb", "pl", "cs", "tr", "vi", "id")
_SCRIPT_LANGUAGES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile("[\u0400-\u04ff]"), ("ru", "uk", "bg")),
    (re.compile("[\u0600-\u06ff]"), ("ar", "fa")),
    (re.compile("[\u0900-\u097f]"), ("hi",)),
)
_identifier: Any = None


def line_language(text: str, default: str = "en") -> str:
    """The language of ``text`` (ISO 639-1), ``default`` when it is too short or ambiguous to tell.

    Han/kana/Hangul text is decided by its script; other text by langid (as the reference does) over
    its words alone (digits and symbols removed), among the languages written in the same script.
    The langid model loads once (~1 s) on first use. Safe from any thread after the first call.
    """
    if re.search("[\uac00-\ud7af]", text):
        return "ko"
    if re.search("[\u3040-\u30ff]", text):
        return "ja"
    if _CJK_RE.search(text):
        return "zh"
    words = " ".join(re.sub(r"[^\w\s']|[\d_]", " ", expand_tags(text)).split())
    if sum(ch.isalpha() for ch in words) < 2:
        return default
    allowed = next((langs for script, langs in _SCRIPT_LANGUAGES if script.search(words)), _LATIN_LANGUAGES)
    global _identifier
    if _identifier is None:
        from langid.langid import LanguageIdentifier, model  # lazy: the model takes ~1 s to load

        _identifier = LanguageIdentifier.from_modelstring(model, norm_probs=False)
    scores = {lang: score for lang, score in _identifier.rank(words) if lang in allowed}
    if not scores:
        return default
    best = max(scores, key=scores.__getitem__)
    if default not in scores:  # Cyrillic text is not English, however unsure langid is
        return str(best)
    # langid is unreliable on a few words ("Earlier line 2." scores French 5 nats above English), so
    # leaving the default takes a clear margin: less where letters outside ASCII (ä, é, ñ …) back it up.
    margin = scores[best] - scores[default]
    needed = 1.0 if any(ch.isalpha() and not ch.isascii() for ch in words) else 6.0 if len(words.split()) < 4 else 2.0
    return str(best) if margin >= needed else default


def count_sound_events(text: str) -> int:
    """How many tags / sound-event markers ``text`` holds (each may take seconds of audio)."""
    expanded = expand_tags(text)
    return len(re.findall(r"<SE(?:_s)?>", expanded))


# --------------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------------

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence")}
_CURRENCIES["€"] = ("euro", "euros", "cent", "cents")
_MAX_CARDINAL = 10**15


def number_to_words(n: int) -> str:
    """English cardinal: 1234 → "one thousand two hundred thirty-four"; negatives get "minus"."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n >= _MAX_CARDINAL:
        return " ".join(_ONES[int(d)] for d in str(n))
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {number_to_words(rest)}" if rest else "")
    for value, name in _SCALES:
        if n >= value:
            high, rest = divmod(n, value)
            return f"{number_to_words(high)} {name}" + (f" {number_to_words(rest)}" if rest else "")
    raise AssertionError("unreachable")  # pragma: no cover


def ordinal_to_words(n: int) -> str:
    """English ordinal: 21 → "twenty-first", 100 → "one hundredth"."""
    words = number_to_words(n)
    head, sep, last = words.rpartition(" ")
    prefix_tens, dash, unit = last.rpartition("-")
    if unit in _ORDINAL_WORDS:
        unit = _ORDINAL_WORDS[unit]
    elif unit.endswith("y"):
        unit = unit[:-1] + "ieth"
    else:
        unit += "th"
    last = f"{prefix_tens}{dash}{unit}"
    return f"{head}{sep}{last}"


def year_to_words(n: int) -> str:
    """A year as people say it: 1999 → "nineteen ninety-nine", 2024 → "twenty twenty-four"."""
    if 2000 <= n <= 2009 or n % 1000 == 0:
        return number_to_words(n)
    high, low = divmod(n, 100)
    if low == 0:
        return f"{number_to_words(high)} hundred"
    if low < 10:
        return f"{number_to_words(high)} oh {number_to_words(low)}"
    return f"{number_to_words(high)} {number_to_words(low)}"


def _plural(words: str) -> str:
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


def _digits(text: str) -> str:
    return " ".join(_ONES[int(d)] for d in text)


def _decimal_to_words(text: str) -> str:
    whole, _, frac = text.replace(",", "").partition(".")
    words = number_to_words(int(whole)) if whole else "zero"
    return f"{words} point {_digits(frac)}" if frac else words


def _currency(match: re.Match[str]) -> str:
    one, many, sub_one, sub_many = _CURRENCIES[match["sym"]]
    amount = match["amount"].replace(",", "")
    whole, _, frac = amount.partition(".")
    value = int(whole) if whole else 0
    words = f"{number_to_words(value)} {one if value == 1 else many}"
    if len(frac) == 2:
        cents = int(frac)
        cents_words = f"{number_to_words(cents)} {sub_one if cents == 1 else sub_many}"
        if cents and value == 0:
            return cents_words
        return f"{words} and {cents_words}" if cents else words
    if frac:
        return f"{_decimal_to_words(amount)} {many}"
    return words


def _time(match: re.Match[str]) -> str:
    hours, minutes = int(match["h"]), int(match["m"])
    if minutes == 0:
        return f"{number_to_words(hours)} o'clock"
    if minutes < 10:
        return f"{number_to_words(hours)} oh {number_to_words(minutes)}"
    return f"{number_to_words(hours)} {number_to_words(minutes)}"


def _integer(match: re.Match[str]) -> str:
    text = match[0]
    plain = text.replace(",", "")
    if len(plain) > 1 and plain.startswith("0"):
        return _digits(plain)  # "007", "0800": read digit by digit
    return number_to_words(int(plain))


_NUMBER = r"\d{1,3}(?:,\d{3})+|\d+"
_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(rf"(?P<sym>[$£€])\s?(?P<amount>(?:{_NUMBER})(?:\.\d+)?)"),
        _currency,
    ),
    (  # amount before the symbol, as written in much of Europe: "3.50 €" (decimal commas made points first)
        re.compile(rf"(?<![\w.,])(?P<amount>(?:{_NUMBER})(?:\.\d+)?)\s?(?P<sym>[$£€])"),
        _currency,
    ),
    (
        re.compile(rf"(?<![\w.])(?P<num>(?:{_NUMBER})(?:\.\d+)?)\s?%"),
        lambda m: f"{_decimal_to_words(m['num'])} percent",
    ),
    (
        re.compile(r"(?<![\w.])(?P<h>\d{1,2}):(?P<m>\d{2})(?![\d:])"),
        _time,
    ),
    (
        re.compile(r"(?<![\w.])(?P<n>\d+)(?:st|nd|rd|th)\b", re.IGNORECASE),
        lambda m: ordinal_to_words(int(m["n"])),
    ),
    (
        re.compile(r"(?<![\w.,])(?P<y>1[1-9]\d\d|20\d\d)s\b"),
        lambda m: _plural(year_to_words(int(m["y"]))),
    ),
    (
        re.compile(r"(?<![\w.,])(?P<y>1[1-9]\d\d|20\d\d)(?!\w|[.,]\d)"),
        lambda m: year_to_words(int(m["y"])),
    ),
    (
        re.compile(r"(?<![\w.-])-(?=\d)"),
        lambda m: "minus ",
    ),
    (
        re.compile(rf"(?<![\w.])(?:{_NUMBER})\.\d+(?![\w.])"),
        lambda m: _decimal_to_words(m[0]),
    ),
    (
        re.compile(rf"(?<![\w.])(?:{_NUMBER})(?!\w)"),
        _integer,
    ),
)


# A decimal comma in a sum of money: "3,50 €", "€3,50" (two digits after the comma, beside a symbol).
_DECIMAL_COMMA_MONEY = re.compile(r"(?<=[$£€])\s?\d+,\d{2}(?![\d,])|(?<![\d,])\d+,\d{2}(?=\s?[$£€])")


def spell_numbers(text: str) -> str:
    """Spell out numbers the way a narrator reads them.

    Handles currency (``$3.50``), percentages, clock times (``3:30``), ordinals (``21st``), years and
    decades (``1999``, ``1990s``), negatives, decimals and grouped integers (``1,000``), and a decimal
    comma in sums of money (``3,50 €``). English words: call it for English text only. Digits glued to
    letters (``SPEAKER0``, ``MP3``, ``4K``) are left alone.
    """
    text = _DECIMAL_COMMA_MONEY.sub(lambda m: m[0].replace(",", "."), text)
    for pattern, replace in _RULES:
        text = pattern.sub(replace, text)
    return text
