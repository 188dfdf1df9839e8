"""Projects embed the voices they use: a bank voice copied into a speaker of a project.

Embedding copies the voice's primary clip into the project's ``media/`` (content-addressed) and sets
the speaker's :class:`studio.core.model.Voice` — kind CLIP (clip + transcript), PROFILE (text
profile) or PIPER, the voice's generation settings, its preferred Piper voice/variant, and
``bank_voice_id`` — so the project renders on a machine without the bank. A bank voice with no
Piper preference (no model, variant 0) leaves the speaker's Piper voice/variant as they were; its
effect chain is copied onto the voice (``Voice.effects``), and a bank voice without a chain leaves
the speaker's chain as it was (so a chain set in the mixer survives "update from bank").

"Update from bank": :func:`bank_status` tells whether the bank's voice has changed since it was
embedded; :func:`update_from_bank` re-embeds it.

Thread contract: call on the thread that owns both the project file and the bank.
"""

from __future__ import annotations

import enum

from engine.protocol import VoiceSpec
from studio.bank.records import BankError, BankVoice
from studio.bank.store import VoiceBank
from studio.core import ops
from studio.core.model import Speaker, Voice, VoiceKind
from studio.core.store import ProjectError, ProjectFile, media_name


class EmbedStatus(enum.StrEnum):
    NOT_FROM_BANK = "not_from_bank"  # the speaker's voice was not taken from the bank
    MISSING = "missing"  # the bank no longer has that voice (the project keeps its copy)
    CURRENT = "current"  # the project's copy matches the bank
    CHANGED = "changed"  # the bank's voice changed since it was embedded


def project_voice(bank_voice: BankVoice, clip_media: str, current: Voice | None = None) -> Voice:
    """The speaker Voice for ``bank_voice`` whose primary clip is ``clip_media`` in the project."""
    current = current or Voice()
    clip = bank_voice.primary_clip
    has_piper = bool(bank_voice.piper_model) or bank_voice.piper_variant != 0
    if clip is not None:
        kind = VoiceKind.CLIP
    elif bank_voice.profile:
        kind = VoiceKind.PROFILE
    else:
        kind = VoiceKind.PIPER
    return Voice(
        kind=kind,
        piper_model=bank_voice.piper_model if has_piper else current.piper_model,
        variant=bank_voice.piper_variant if has_piper else current.variant,
        clip_media=clip_media if clip is not None else "",
        transcript=clip.transcript if clip is not None else "",
        profile=bank_voice.profile,
        bank_voice_id=bank_voice.id,
        settings=tuple(bank_voice.settings),
        effects=bank_voice.effects or current.effects,
    )


def audition_spec(bank: VoiceBank, voice_id: str) -> VoiceSpec:
    """The engine's VoiceSpec for a bank voice as it is in the bank (the panel's audition / A/B).

    Pair it with the voice's ``settings_dict()`` for the job's generation parameters.
    """
    voice = bank.get(voice_id)
    clip = voice.primary_clip
    return VoiceSpec(
        kind=voice.kind,
        piper_model=voice.piper_model,
        variant=voice.piper_variant,
        ref_audio=str(bank.clip_path(clip.clip_id)) if clip is not None else "",
        transcript=clip.transcript if clip is not None else "",
        profile=voice.profile,
        name=voice.name,
    )


def _speaker(project_file: ProjectFile, speaker_id: str) -> Speaker:
    speaker = project_file.project.speakers.get(speaker_id)
    if speaker is None:
        raise BankError(f"the project has no speaker {speaker_id!r}")
    return speaker


def _clip_bytes(bank: VoiceBank, bank_voice: BankVoice) -> bytes | None:
    clip = bank_voice.primary_clip
    if clip is None:
        return None
    try:
        return bank.clip_path(clip.clip_id).read_bytes()
    except OSError as exc:
        raise BankError(
            f"the bank's clip for {bank_voice.name!r} is missing or unreadable ({exc.strerror or exc}); "
            "re-import the voice"
        ) from None


def embed_op(project_file: ProjectFile, speaker_id: str, bank: VoiceBank, voice_id: str) -> ops.Update:
    """Copy the voice's clip into the project's media and return the edit that assigns the voice.

    The media copy is immutable and content-addressed, so it needs no undo; the returned
    :class:`studio.core.ops.Update` is the undoable part (apply it, or wrap it in a QUndoCommand).
    """
    speaker = _speaker(project_file, speaker_id)
    bank_voice = bank.get(voice_id)
    data = _clip_bytes(bank, bank_voice)
    media = ""
    if data is not None:
        try:
            media = project_file.add_media(data, ".wav")
        except ProjectError as exc:
            raise BankError(str(exc)) from None
    voice = project_voice(bank_voice, media, speaker.voice)
    return ops.Update("speaker", speaker_id, (("voice", voice),), f"Voice {bank_voice.name}")


def embed_voice(project_file: ProjectFile, speaker_id: str, bank: VoiceBank, voice_id: str) -> ops.Op:
    """Embed ``voice_id`` into the speaker (applied and committed); returns the inverse op (undo)."""
    inverse: ops.Op = project_file.project.apply(embed_op(project_file, speaker_id, bank, voice_id))
    return inverse


def bank_status(project_file: ProjectFile, speaker_id: str, bank: VoiceBank) -> EmbedStatus:
    """Whether the speaker's embedded voice still matches its bank voice."""
    voice = _speaker(project_file, speaker_id).voice
    if not voice.bank_voice_id:
        return EmbedStatus.NOT_FROM_BANK
    if not bank.has(voice.bank_voice_id):
        return EmbedStatus.MISSING
    bank_voice = bank.get(voice.bank_voice_id)
    data = _clip_bytes(bank, bank_voice)
    media = media_name(data, ".wav") if data is not None else ""
    expected = project_voice(bank_voice, media, voice)
    return EmbedStatus.CURRENT if expected == voice else EmbedStatus.CHANGED


def voice_changed_in_bank(project_file: ProjectFile, speaker_id: str, bank: VoiceBank) -> bool:
    return bank_status(project_file, speaker_id, bank) == EmbedStatus.CHANGED


def update_from_bank(project_file: ProjectFile, speaker_id: str, bank: VoiceBank) -> ops.Op | None:
    """Re-embed the speaker's bank voice if it changed; returns the inverse op, or None if current."""
    if not voice_changed_in_bank(project_file, speaker_id, bank):
        return None
    voice_id = project_file.project.speakers[speaker_id].voice.bank_voice_id
    return embed_voice(project_file, speaker_id, bank, voice_id)
