"""Projects embed their voices: they keep working with the bank gone; "update from bank"."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from studio.bank.clips import PreparedClip, prepare_samples
from studio.bank.embed import (
    EmbedStatus,
    audition_spec,
    bank_status,
    embed_voice,
    update_from_bank,
    voice_changed_in_bank,
)
from studio.bank.records import BankError, VoiceTags
from studio.bank.store import VoiceBank
from studio.core import ops
from studio.core.model import ScriptLine, Speaker, Voice, VoiceKind
from studio.core.store import ProjectFile
from studio.render.takes import plan_render


def clip(seed: int = 0, transcript: str = "Hello from the bank.") -> PreparedClip:
    rate = 24000
    t = np.arange(4 * rate) / rate
    phase = 2 * np.pi * np.cumsum(130 + 20 * seed + 15 * np.sin(2 * np.pi * 0.8 * t)) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 8)) * np.clip(np.sin(2 * np.pi * 2.2 * t), 0, None) ** 0.5
    return prepare_samples(0.2 * x, rate, transcript=transcript, name=f"c{seed}.wav")


Setup = tuple[ProjectFile, VoiceBank, str, str]


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    bank = VoiceBank.open(tmp_path / "bank")
    ada = bank.create_voice(
        "Ada",
        tags=VoiceTags(gender="female"),
        settings={"temperature": 0.6, "top_k": 30, "seed": 7, "backend": "higgs"},
        piper_model="/voices/alba.onnx",
        piper_variant=4,
        clips=[clip(0)],
    )
    narrator = bank.create_voice(
        "Narrator", profile="Male, British accent, calm", settings={"temperature": 0.3}
    )
    pf = ProjectFile.create(tmp_path / "show", title="Show")
    pf.project.apply(ops.Insert(Speaker("s1", "Ada", voice=Voice(VoiceKind.PIPER, variant=1))))
    pf.project.apply(ops.Insert(Speaker("s2", "Narrator", voice=Voice(VoiceKind.PIPER, variant=2))))
    pf.project.apply(ops.add_line(ScriptLine("L1", "s1", "Good evening.")))
    pf.project.apply(ops.add_line(ScriptLine("L2", "s2", "And so it began.")))
    return pf, bank, ada.id, narrator.id


def test_embedding_copies_the_clip_and_the_settings_into_the_project(setup: Setup) -> None:
    pf, bank, ada_id, narrator_id = setup
    undo = embed_voice(pf, "s1", bank, ada_id)
    voice = pf.project.speakers["s1"].voice
    bank_clip = bank.get(ada_id).clips[0]
    assert voice.kind == VoiceKind.CLIP and voice.bank_voice_id == ada_id
    assert voice.transcript == "Hello from the bank."
    assert pf.media_path(voice.clip_media).read_bytes() == bank.clip_path(bank_clip.clip_id).read_bytes()
    assert voice.settings_dict() == {"temperature": 0.6, "top_k": 30, "seed": 7, "backend": "higgs"}
    assert (voice.piper_model, voice.variant) == ("/voices/alba.onnx", 4)
    embed_voice(pf, "s2", bank, narrator_id)
    narrator = pf.project.speakers["s2"].voice
    assert (narrator.kind, narrator.profile, narrator.clip_media) == (
        VoiceKind.PROFILE,
        "Male, British accent, calm",
        "",
    )
    assert narrator.variant == 2  # no Piper preference in the bank: the speaker keeps its own
    pf.project.apply(undo)
    assert pf.project.speakers["s1"].voice == Voice(VoiceKind.PIPER, variant=1)
    with pytest.raises(BankError, match="no speaker 'nobody'"):
        embed_voice(pf, "nobody", bank, ada_id)


def test_a_project_with_embedded_voices_renders_without_the_bank(setup: Setup, tmp_path: Path) -> None:
    pf, bank, ada_id, narrator_id = setup
    embed_voice(pf, "s1", bank, ada_id)
    embed_voice(pf, "s2", bank, narrator_id)
    expected = {sid: s.voice for sid, s in pf.project.speakers.items()}
    root = pf.root
    pf.close()
    bank.close()
    shutil.rmtree(tmp_path / "bank")
    moved = tmp_path / "elsewhere" / "show.chorus"
    shutil.copytree(root, moved)  # another machine: a copy of the project folder only
    shutil.rmtree(root)
    again = ProjectFile.open(moved)
    assert {sid: s.voice for sid, s in again.project.speakers.items()} == expected
    assert again.project.missing_media == set()
    plan = plan_render(again.project, again.media_dir)
    jobs = {p.line_id: p.job for p in plan.jobs}
    ada = jobs["L1"].voice
    assert ada.kind == "clip" and ada.transcript == "Hello from the bank."
    assert Path(ada.ref_audio).is_file() and Path(ada.ref_audio).is_relative_to(moved)
    assert (
        jobs["L1"].params.temperature == 0.6 and jobs["L1"].params.top_k == 30 and jobs["L1"].params.seed == 7
    )
    narrator = jobs["L2"].voice
    assert narrator.kind == "profile" and narrator.profile == "Male, British accent, calm"
    empty = VoiceBank.open(tmp_path / "new-bank")
    assert bank_status(again, "s1", empty) == EmbedStatus.MISSING
    assert update_from_bank(again, "s1", empty) is None
    again.close()


def test_update_from_bank_when_the_bank_voice_changed(setup: Setup) -> None:
    pf, bank, ada_id, _ = setup
    assert bank_status(pf, "s1", bank) == EmbedStatus.NOT_FROM_BANK
    embed_voice(pf, "s1", bank, ada_id)
    assert bank_status(pf, "s1", bank) == EmbedStatus.CURRENT
    bank.update_voice(ada_id, description="tags and words about a voice do not change its sound")
    assert not voice_changed_in_bank(pf, "s1", bank)
    bank.update_voice(ada_id, settings={"temperature": 0.9})
    assert voice_changed_in_bank(pf, "s1", bank)
    new_clip = clip(1, "A better take.")
    bank.add_clip(ada_id, new_clip, primary=True)
    old_media = pf.project.speakers["s1"].voice.clip_media
    undo = update_from_bank(pf, "s1", bank)
    assert undo is not None and bank_status(pf, "s1", bank) == EmbedStatus.CURRENT
    voice = pf.project.speakers["s1"].voice
    assert voice.settings_dict() == {"temperature": 0.9} and voice.transcript == "A better take."
    assert voice.clip_media != old_media and pf.media_path(voice.clip_media).read_bytes() == new_clip.data
    assert update_from_bank(pf, "s1", bank) is None
    pf.project.apply(undo)
    assert pf.project.speakers["s1"].voice.clip_media == old_media
    assert voice_changed_in_bank(pf, "s1", bank)


def test_audition_spec_points_at_the_bank_clip(setup: Setup) -> None:
    _, bank, ada_id, narrator_id = setup
    spec = audition_spec(bank, ada_id)
    assert spec.kind == "clip" and Path(spec.ref_audio) == bank.clip_path(bank.get(ada_id).clips[0].clip_id)
    assert (spec.transcript, spec.piper_model, spec.variant) == (
        "Hello from the bank.",
        "/voices/alba.onnx",
        4,
    )
    assert audition_spec(bank, narrator_id).profile == "Male, British accent, calm"
