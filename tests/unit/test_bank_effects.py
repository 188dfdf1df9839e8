"""A bank voice's effect chain: stored (bank schema 3), carried by packs, copied onto a project speaker
when the voice is cast, and absent (not an error) in banks written before chains existed."""

from __future__ import annotations

import dataclasses
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from studio.bank.embed import EmbedStatus, bank_status, project_voice
from studio.bank.packs import MANIFEST, export_pack, import_path
from studio.bank.records import BankError
from studio.bank.store import SCHEMA_VERSION, VoiceBank
from studio.core import effects as fxc
from studio.core import ops
from studio.core.model import Speaker, Voice, VoiceKind
from studio.core.store import ProjectFile
from studio.render.casting import cast_bank_voice

DATA = Path(__file__).parent.parent / "data" / "banks"
CAVE = fxc.preset("cave")


@pytest.fixture
def bank(tmp_path: Path) -> Iterator[VoiceBank]:
    bank = VoiceBank.open(tmp_path / "bank")
    yield bank
    bank.close()


def test_a_chain_is_stored_checked_and_edited(bank: VoiceBank) -> None:
    voice = bank.create_voice("Ghost", profile="A hollow whisper", effects=CAVE)
    assert bank.get(voice.id).effects == CAVE
    assert bank.get(voice.id).to_dict()["effects"][2]["kind"] == "reverb"
    changed = bank.update_voice(voice.id, effects=[{"kind": "gain", "params": [["gain_db", -3]]}])
    assert changed.effects == (fxc.effect("gain", gain_db=-3),)
    with pytest.raises(BankError, match=r"effects\[0\].*gain_db must be between"):
        bank.update_voice(voice.id, effects=[{"kind": "gain", "params": [["gain_db", 99]]}])
    with pytest.raises(BankError, match=r"effects\[0\].*unknown effect 'flanger'"):
        bank.update_voice(voice.id, effects=[{"kind": "flanger"}])
    assert bank.get(voice.id).effects == changed.effects


def test_a_chain_travels_through_a_pack(bank: VoiceBank, tmp_path: Path) -> None:
    chain = (*CAVE[:2], dataclasses.replace(CAVE[2], bypass=True))
    bank.create_voice("Ghost", profile="A hollow whisper", effects=chain)
    bank.create_voice("Plain", profile="Just a voice")
    pack = export_pack(bank, [v.id for v in bank.list_voices()], tmp_path / "ghost.chorusvoice")
    other = VoiceBank.open(tmp_path / "other")
    import_path(other, pack)
    assert {v.name: v.effects for v in other.list_voices()} == {"Ghost": chain, "Plain": ()}
    other.close()

    # A hand-made pack with a bad chain is refused, naming the field.
    with zipfile.ZipFile(pack) as z:
        manifest = json.loads(z.read(MANIFEST))
    manifest["voices"][0]["effects"] = [{"kind": "reverb", "params": [["room_size", 3]]}]
    bad = tmp_path / "bad.chorusvoice"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr(MANIFEST, json.dumps(manifest))
    third = VoiceBank.open(tmp_path / "third")
    with pytest.raises(BankError, match=r"voices\[0\]\.effects\[0\].*room_size"):
        import_path(third, bad)
    assert third.count() == 0
    third.close()


def test_casting_copies_the_chain_onto_the_speaker(bank: VoiceBank, tmp_path: Path) -> None:
    ghost = bank.create_voice("Ghost", profile="A hollow whisper", effects=CAVE)
    plain = bank.create_voice("Plain", profile="Just a voice")
    pf = ProjectFile.create(tmp_path / "show", title="Show")
    radio = fxc.preset("radio")
    pf.project.apply(ops.Insert(Speaker("s1", "Ada", voice=Voice(VoiceKind.PIPER, effects=radio))))

    def edit(op: ops.Op) -> bool:
        pf.project.apply(op)
        return True

    assert cast_bank_voice(pf, "s1", bank, ghost.id, edit)
    assert pf.project.speakers["s1"].voice.effects == CAVE
    assert bank_status(pf, "s1", bank) == EmbedStatus.CURRENT
    bank.update_voice(ghost.id, effects=())
    # A bank voice without a chain leaves the speaker's own chain alone.
    assert bank_status(pf, "s1", bank) == EmbedStatus.CURRENT
    assert cast_bank_voice(pf, "s1", bank, plain.id, edit)
    assert pf.project.speakers["s1"].voice.effects == CAVE
    assert project_voice(bank.get(plain.id), "", Voice(effects=radio)).effects == radio
    pf.close()


@pytest.mark.parametrize("schema", ["schema1", "schema2"])
def test_an_older_bank_opens_with_no_chains(tmp_path: Path, schema: str) -> None:
    shutil.copytree(DATA / schema, tmp_path / "old")
    bank = VoiceBank.open(tmp_path / "old")
    [ada] = bank.list_voices()
    assert ada.name == "Ada" and ada.effects == () and ada.clips[0].transcript == "Hello, I am Ada."
    assert bank.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(
        SCHEMA_VERSION
    )
    assert bank.update_voice(ada.id, effects=CAVE).effects == CAVE
    bank.close()
