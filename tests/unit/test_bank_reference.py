"""Reference clips against what the recogniser heard: the flag, the bank's heard text, schema 1 banks."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.bank.records import BankError
from studio.bank.store import SCHEMA_VERSION, VoiceBank
from studio.qa.reference import clip_flag, heard_text, reference_flag

DATA = Path(__file__).parent.parent / "data" / "banks"


def test_flag_quotes_the_clip_only_when_the_words_differ() -> None:
    heard = "The quick brown fox jumps over the lazy dog."
    assert reference_flag("The quick brown fox jumps over the lazy dog", heard) == ""
    assert reference_flag("the quick brown focks jumps over the lazy dog", heard) == ""  # one slip
    assert reference_flag("", heard) == "" and reference_flag("anything", "") == ""
    flag = reference_flag("Hello there, I am somebody else entirely.", heard)
    assert flag.startswith("the clip says: “The quick brown fox jumps over the lazy dog.”")
    assert "differs from the audio" in flag
    assert len(reference_flag("x y z", "word " * 200)) < 400  # a long quote is shortened


def test_heard_text_joins_words_of_any_recogniser() -> None:
    class W:
        def __init__(self, text: str) -> None:
            self.text = text

    assert heard_text([W(" Hello"), W("world. ")]) == "Hello world."
    assert heard_text([("Hi", 0.0, 0.2, 1.0), ["there", 0.2, 0.4, 1.0]]) == "Hi there"


def _clip(tmp_path: Path) -> Path:
    t = np.arange(int(2.0 * 24000)) / 24000
    path = tmp_path / "c.wav"
    sf.write(
        path,
        (0.2 * np.sin(2 * np.pi * 180 * t) * np.clip(np.sin(2 * np.pi * 2 * t), 0, None)).astype(np.float32),
        24000,
    )
    return path


def test_heard_text_is_stored_fills_an_empty_transcript_and_flags_a_wrong_one(tmp_path: Path) -> None:
    bank = VoiceBank.open(tmp_path / "bank")
    ada = bank.create_voice("Ada")
    bob = bank.create_voice("Bob")
    ada, clip = bank.add_clip(ada.id, _clip(tmp_path))
    bob, _ = bank.add_clip(bob.id, clip)
    bob = bank.set_transcript(bob.id, clip.clip_id, "Something else that nobody said at all")
    said = "The quick brown fox jumps over the lazy dog."
    changes = []
    bank.subscribe(changes.append)
    voices = {v.name: v for v in bank.set_heard(clip.clip_id, said, fill_voice=ada.id)}
    assert {c.voice_id for c in changes} == {ada.id, bob.id}
    assert voices["Ada"].clips[0].transcript == said and voices["Ada"].clips[0].heard == said
    assert clip_flag(voices["Ada"].clips[0]) == ""
    assert voices["Bob"].clips[0].transcript == "Something else that nobody said at all"  # kept
    assert clip_flag(voices["Bob"].clips[0]).startswith("the clip says: “The quick brown fox")
    bank.close()
    again = VoiceBank.open(tmp_path / "bank")
    assert again.get(bob.id).clips[0].heard == said
    with pytest.raises(BankError, match="no voice has the clip"):
        again.set_heard("0" * 64, "hi")
    again.close()


def test_a_schema_1_bank_opens_and_gains_heard_text(tmp_path: Path) -> None:
    shutil.copytree(DATA / "schema1", tmp_path / "old")
    bank = VoiceBank.open(tmp_path / "old")
    [ada] = bank.list_voices()
    assert ada.name == "Ada" and ada.clips[0].transcript == "Hello, I am Ada." and ada.clips[0].heard == ""
    assert bank.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(
        SCHEMA_VERSION
    )
    [ada] = bank.set_heard(ada.clips[0].clip_id, "Hello, I am Ada.")
    assert clip_flag(ada.clips[0]) == ""
    bank.close()
