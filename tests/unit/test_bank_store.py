"""The voice bank store: voices with clips, search and tags, de-duplication, atomic writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from studio.bank.clips import PreparedClip, prepare_samples
from studio.bank.records import BankError, BankVoice, Provenance, VoiceTags, parse_setting
from studio.bank.store import DB_NAME, SCHEMA_VERSION, BankChange, VoiceBank


def tone_clip(seed: int = 0, seconds: float = 4.0, transcript: str = "Hello there.") -> PreparedClip:
    rate = 24000
    t = np.arange(int(seconds * rate)) / rate
    f0 = 120 + 20 * seed + 15 * np.sin(2 * np.pi * 0.8 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 8)) * np.clip(np.sin(2 * np.pi * 2.2 * t), 0, None) ** 0.5
    return prepare_samples(0.2 * x, rate, transcript=transcript, name=f"take{seed}.wav")


def snapshot(bank: VoiceBank) -> tuple[object, ...]:
    """Everything the bank holds: rows of every table and the files beside the database."""
    rows = tuple(
        tuple(tuple(r) for r in bank.db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall())
        for t in ("voices", "clips", "voice_clips")
    )
    files = tuple(
        sorted(str(p.relative_to(bank.root)) for p in bank.root.rglob("*") if not p.name.startswith(DB_NAME))
    )
    return rows + (files,)


@pytest.fixture
def bank(tmp_path: Path) -> VoiceBank:
    return VoiceBank.open(tmp_path / "bank")


def test_create_and_read_back_a_voice(bank: VoiceBank) -> None:
    clip = tone_clip()
    voice = bank.create_voice(
        "  Ada   Lovelace ",
        description="Warm narrator",
        tags=VoiceTags(gender="female", accent="British", free=("calm", "warm")),
        settings={"temperature": 0.7, "top_k": 40, "seed": 12, "backend": "higgs", "ras_win_len": 7},
        piper_model="/voices/en_GB.onnx",
        piper_variant=2,
        provenance=Provenance(
            source="studio session", owner="Ada", consent="signed", licence="CC-BY", date="2025-01-02"
        ),
        clips=[clip],
    )
    assert voice.name == "Ada Lovelace" and voice.kind == "clip"
    assert voice.settings_dict() == {
        "temperature": 0.7,
        "top_k": 40,
        "seed": 12,
        "backend": "higgs",
        "ras_win_len": 7,
    }
    assert voice.primary_clip is not None and voice.primary_clip.clip_id == clip.clip_id
    assert voice.primary_clip.transcript == "Hello there."
    assert bank.clip_path(clip.clip_id).read_bytes() == clip.data
    bank.close()
    again = VoiceBank.open(bank.root)
    assert again.get(voice.id) == voice
    assert again.find("ada lovelace") == voice
    assert again.find(voice.id[:10]) == voice
    with pytest.raises(BankError, match="no voice 'Grace'"):
        again.find("Grace")


def test_search_and_tag_filters(bank: VoiceBank) -> None:
    bank.create_voice(
        "Ada", tags=VoiceTags(gender="female", language="en", free=("calm",)), clips=[tone_clip(0)]
    )
    bank.create_voice("Bob", tags=VoiceTags(gender="male", language="en"), description="gruff sailor")
    bank.create_voice(
        "Chloé", tags=VoiceTags(gender="female", language="fr"), profile="Female, French accent"
    )

    def names(voices: list[BankVoice]) -> list[str]:
        return [v.name for v in voices]

    assert names(bank.list_voices()) == ["Ada", "Bob", "Chloé"]
    assert names(bank.list_voices(tags=["gender:female"])) == ["Ada", "Chloé"]
    assert names(bank.list_voices(tags=["female", "language:en"])) == ["Ada"]
    assert names(bank.list_voices(tags=["calm"])) == ["Ada"]
    assert names(bank.list_voices("SAILOR")) == ["Bob"]
    assert names(bank.list_voices("french")) == ["Chloé"]
    assert names(bank.list_voices("hello")) == ["Ada"]  # the transcript is searched too
    assert bank.all_tags()["gender"] == ["female", "male"]
    assert bank.all_tags()["free"] == ["calm"]


def test_clips_are_deduplicated(bank: VoiceBank) -> None:
    clip = tone_clip()
    a = bank.create_voice("A", clips=[clip, clip])
    b = bank.create_voice("B", clips=[clip])
    again, _ = bank.add_clip(a.id, clip)
    assert len(again.clips) == 1
    assert [p.name for p in bank.clips_dir.iterdir()] == [f"{clip.clip_id}.wav"]
    assert bank.db.execute("SELECT count(*) FROM clips").fetchone()[0] == 1
    bank.remove_voice(a.id)
    assert bank.clip_path(clip.clip_id).is_file()  # still used by B
    bank.remove_voice(b.id)
    assert list(bank.clips_dir.iterdir()) == []
    assert bank.db.execute("SELECT count(*) FROM clips").fetchone()[0] == 0


def test_a_failed_write_leaves_nothing_behind(bank: VoiceBank) -> None:
    bank.create_voice("Ada", clips=[tone_clip(0)])
    before = snapshot(bank)
    with pytest.raises(BankError, match="already in the bank"):
        bank.create_voice("ADA", clips=[tone_clip(1)])
    with pytest.raises(BankError, match=r"settings\.temperature must be a number"):
        bank.create_voice("Bob", settings={"temperature": "hot"}, clips=[tone_clip(2)])
    with pytest.raises(BankError, match=r"settings\.top_p must be between"):
        bank.create_voice("Bob", settings={"top_p": 3}, clips=[tone_clip(2)])
    assert snapshot(bank) == before


def test_edit_voice_fields_and_clips(bank: VoiceBank) -> None:
    first, second = tone_clip(0), tone_clip(1, transcript="Second take.")
    voice = bank.create_voice("Ada", clips=[first])
    bank.create_voice("Bob")
    with pytest.raises(BankError, match="already in the bank"):
        bank.update_voice(voice.id, name="bob")
    voice = bank.update_voice(voice.id, name="Ada L", settings={"seed": 3}, profile="Calm")
    assert (voice.name, voice.settings_dict(), voice.profile) == ("Ada L", {"seed": 3}, "Calm")
    voice, _ = bank.add_clip(voice.id, second)
    assert [c.clip_id for c in voice.clips] == [first.clip_id, second.clip_id]
    voice = bank.set_primary_clip(voice.id, second.clip_id[:8])
    assert voice.primary_clip is not None and voice.primary_clip.clip_id == second.clip_id
    voice = bank.set_transcript(voice.id, second.clip_id, "  New   words ")
    assert voice.clips[0].transcript == "New words"
    voice = bank.remove_clip(voice.id, first.clip_id)
    assert [c.clip_id for c in voice.clips] == [second.clip_id]
    assert not bank.clip_path(first.clip_id).exists()
    trimmed = tone_clip(3, seconds=3.5)
    voice = bank.replace_clip(voice.id, second.clip_id, trimmed)
    assert [c.clip_id for c in voice.clips] == [trimmed.clip_id]
    assert not bank.clip_path(second.clip_id).exists()


def test_consent_document_is_copied_into_the_bank(bank: VoiceBank, tmp_path: Path) -> None:
    doc = tmp_path / "consent.pdf"
    doc.write_bytes(b"%PDF-1.4 signed consent")
    voice = bank.create_voice("Ada", consent_document=doc)
    stored = bank.document_path(voice.provenance.consent_document)
    assert voice.provenance.consent_document_name == "consent.pdf"
    assert stored.read_bytes() == doc.read_bytes() and stored.parent == bank.documents_dir
    doc.unlink()
    assert bank.get(voice.id).provenance.consent_document_name == "consent.pdf"
    bank.remove_voice(voice.id)
    assert not stored.exists()


def test_changes_are_announced_and_other_writers_seen(bank: VoiceBank) -> None:
    seen: list[BankChange] = []
    unsubscribe = bank.subscribe(seen.append)
    voice = bank.create_voice("Ada")
    bank.update_voice(voice.id, description="x")
    bank.update_voice(voice.id, description="x")  # no real change: no announcement
    bank.remove_voice(voice.id)
    assert [c.action for c in seen] == ["insert", "update", "delete"]
    unsubscribe()
    version = bank.data_version()
    other = VoiceBank.open(bank.root)
    other.create_voice("From another process")
    other.close()
    assert bank.data_version() != version
    assert [v.name for v in bank.list_voices()] == ["From another process"]


def test_newer_or_foreign_databases_are_refused(tmp_path: Path) -> None:
    bank = VoiceBank.open(tmp_path / "bank")
    bank.db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    bank.close()
    with pytest.raises(BankError, match="newer Chorus"):
        VoiceBank.open(tmp_path / "bank")
    other = tmp_path / "other"
    other.mkdir()
    conn = sqlite3.connect(other / DB_NAME)
    conn.execute("CREATE TABLE stuff (x)")
    conn.commit()
    conn.close()
    with pytest.raises(BankError, match="not a Chorus voice bank"):
        VoiceBank.open(other)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(BankError, match="damaged or not a voice bank"):
        VoiceBank.open(tmp_path / "junk")


def test_default_location_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORUS_VOICE_BANK", str(tmp_path / "env-bank"))
    bank = VoiceBank.open()
    assert bank.root == (tmp_path / "env-bank").resolve() and (bank.root / DB_NAME).is_file()


def test_command_line_settings_are_typed() -> None:
    assert parse_setting("temperature=0.7") == ("temperature", 0.7)
    assert parse_setting("top_k = 40") == ("top_k", 40)
    assert parse_setting("temperature=1") == ("temperature", 1.0)
    assert parse_setting("backend=higgs") == ("backend", "higgs")
    assert parse_setting("custom_flag=true") == ("custom_flag", True)
    with pytest.raises(BankError, match="top_k must be a whole number"):
        parse_setting("top_k=1.5")
    with pytest.raises(BankError, match="KEY=VALUE"):
        parse_setting("temperature")
