"""Casting: a speaker's voice from what the user typed or picked, and bank voices embedded into speakers.

The speaker dialog, ``chorus speakers set`` / ``chorus cast`` and the Python API all come here, so the
same input is refused with the same words everywhere. Edits go through an ``edit`` callable (see
:mod:`studio.render.project_edits`).

Thread contract: the thread that owns the project (GUI thread in the studio, main thread in the CLI).
"""

from __future__ import annotations

from pathlib import Path

from studio.bank.embed import embed_op
from studio.bank.records import BankError
from studio.bank.store import VoiceBank
from studio.core.model import Voice, VoiceKind
from studio.core.project import Project
from studio.core.store import ProjectFile
from studio.render.project_edits import Edit
from studio.render.takes import refresh_status

# What each backend can speak (a speaker with another kind of voice fails at render time).
BACKEND_VOICES: dict[str, frozenset[VoiceKind]] = {
    "piper": frozenset({VoiceKind.PIPER}),
    "higgs": frozenset({VoiceKind.CLIP, VoiceKind.PROFILE, VoiceKind.SMART}),
    "openai": frozenset({VoiceKind.CLIP, VoiceKind.PROFILE, VoiceKind.SMART}),
}
_KIND_WORDS = {
    VoiceKind.PIPER: "a Piper voice",
    VoiceKind.CLIP: "a cloned voice (reference clip)",
    VoiceKind.PROFILE: "a text-profile voice",
    VoiceKind.SMART: "the smart voice",
}


class CastError(ValueError):
    """Input that cannot make a voice or a speaker; the message says what to fix."""


def check_name(project: Project, name: str, speaker_id: str | None = None) -> str:
    """The trimmed speaker name, or CastError when empty or taken by another speaker."""
    name = name.strip()
    if not name:
        raise CastError("Give the speaker a name.")
    clash = project.speaker_by_name(name)
    if clash is not None and clash.id != speaker_id:
        raise CastError(f"There is already a speaker called {clash.name}.")
    return name


def make_voice(
    kind: VoiceKind,
    *,
    old: Voice | None = None,
    piper_model: str = "",
    variant: int = 0,
    clip_media: str = "",
    transcript: str = "",
    profile: str = "",
) -> Voice:
    """The Voice for these fields (``clip_media`` already in the project's media); CastError if incomplete."""
    old = old or Voice()
    if kind == VoiceKind.PIPER:
        model = piper_model.strip()
        if model and not (Path(model).is_file() and model.endswith(".onnx")):
            raise CastError(f"{model} is not a Piper voice file (.onnx).")
        if model and not Path(model + ".json").is_file():
            raise CastError(f"The Piper voice needs its config file next to it: {Path(model).name}.json")
        if not 0 <= variant <= 7:
            raise CastError(f"Piper variants are 0 to 7, not {variant}.")
        return Voice(kind=kind, piper_model=model, variant=variant, settings=old.settings)
    if kind == VoiceKind.CLIP:
        media = clip_media or old.clip_media
        if not media:
            raise CastError("Choose a reference clip (a few seconds of clean speech).")
        if not transcript.strip():
            raise CastError("Type the transcript of the reference clip.")
        return Voice(kind=kind, clip_media=media, transcript=transcript.strip(), settings=old.settings)
    if kind == VoiceKind.PROFILE:
        if not profile.strip():
            raise CastError("Describe the voice in the profile.")
        return Voice(kind=kind, profile=profile.strip(), settings=old.settings)
    return Voice(kind=kind, settings=old.settings, bank_voice_id=old.bank_voice_id)


def voice_summary(voice: Voice) -> str:
    """A few words that tell two speakers' voices apart in a list: "Piper #3", "clip ada.wav",
    "profile: Female, 30s …", "smart"."""
    if voice.kind == VoiceKind.PIPER:
        model = Path(voice.piper_model).stem if voice.piper_model else "Piper"
        return f"{model} #{voice.variant}"
    if voice.kind == VoiceKind.CLIP:
        return f"clip {voice.clip_media[:10]}…" if len(voice.clip_media) > 12 else f"clip {voice.clip_media or '(none)'}"
    if voice.kind == VoiceKind.PROFILE:
        text = " ".join(voice.profile.split())
        return f"profile: {text[:28]}…" if len(text) > 30 else f"profile: {text}"
    return voice.kind.value


def backend_warning(backend: str, voice: Voice) -> str:
    """"" if ``backend`` can speak ``voice``; else a sentence naming what can (shown at assignment)."""
    able = BACKEND_VOICES.get(backend)
    if able is None or voice.kind in able:
        return ""
    others = [name for name, kinds in BACKEND_VOICES.items() if voice.kind in kinds]
    return (
        f"{backend} cannot speak {_KIND_WORDS[voice.kind]}: its lines will fail to render. "
        f"Render with {' or '.join(others)}, or give the speaker {_KIND_WORDS[next(iter(able))]}."
    )


def cast_bank_voice(project_file: ProjectFile, speaker_id: str, bank: VoiceBank, voice_id: str, edit: Edit) -> bool:
    """Embed bank voice ``voice_id`` into speaker ``speaker_id`` (its clip copied into the project's
    media); the speaker's rendered lines go stale. True if the voice changed. Raises BankError."""
    project = project_file.project
    speaker = project.speakers.get(speaker_id)
    if speaker is None:
        raise BankError(f"the project has no speaker {speaker_id!r}")
    op = embed_op(project_file, speaker_id, bank, voice_id)
    if dict(op.changes).get("voice") == speaker.voice:
        return False
    ok = edit(op)
    if ok:
        edit(refresh_status(project, project_file.media_dir))
    return ok
