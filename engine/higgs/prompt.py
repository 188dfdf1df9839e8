"""Conversation building: a RenderJob (+ prior turns) → the messages Higgs Audio v2 is prompted with.

Pure functions, no torch: the result is a list of ``{"role", "content"}`` dicts in the format
``HiggsAudioV2Processor.apply_chat_template`` accepts (content = list of items).

Layout (after the reference implementation, boson-ai/higgs-audio ``examples/generation.py``):

1. ``system``: "Generate audio following instruction."
2. ``scene``: the scene description (default "Audio is recorded from a quiet room.") followed by the
   voices described in the scene block: ``SPEAKERn:`` + the reference clip as an audio item, or
   ``SPEAKERn: <profile text>`` for text-profile voices. A smart voice gets no line when it speaks
   alone; in a multi-speaker job it gets ``SPEAKERn: feminine|masculine`` (alternating, as the
   reference does), and when every voice is smart the system message is the reference's
   multi-speaker one ("… do not read out the tag …").
3. reference turns: for a clip voice placed as turns, a user turn with its transcript (prefixed
   ``[SPEAKERn] `` when the job has several speakers) then an assistant turn with its audio.
4. prior turns (scene continuity / chunk carry-over): user turn with the earlier line's text, assistant
   turn with its generated audio.
5. the user turn to speak now.

Where reference clips go (``references``): ``"auto"`` puts a single speaker's clip (with a transcript)
in turns, as the reference's voice-cloning example does, and every voice of a multi-speaker job in the
scene block (the reference's ``--ref_audio_in_system_message``, better for dialogue); ``"turns"`` and
``"scene"`` force one placement (a clip without a transcript always goes in the scene block).

Audio items are ``{"type": "audio", "path": <file>}`` for files and ``{"type": "audio", "chunk": n}``
for audio generated earlier in the same render (resolved by :mod:`engine.higgs.inputs`).

Safe to call from any thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.higgs.text import normalize_text
from engine.protocol import RenderJob, VoiceSpec

SYSTEM_TEXT = "Generate audio following instruction."
# The reference's system message when several speakers have no reference clip or profile
# (examples/generation.py, MULTISPEAKER_DEFAULT_SYSTEM_MESSAGE), with a descriptor line per speaker.
MULTISPEAKER_SYSTEM_TEXT = (
    "You are an AI assistant designed to convert text into speech.\n"
    "If the user's message includes a [SPEAKER*] tag, do not read out the tag and generate speech for the "
    "following text, using the specified voice.\n"
    "If no speaker tag is present, select a suitable voice on your own."
)
# The reference's descriptors for smart voices in a multi-speaker prompt, alternating by index.
SMART_DESCRIPTORS = ("feminine", "masculine")
DEFAULT_SCENE = "Audio is recorded from a quiet room."
PLACEMENTS = ("auto", "turns", "scene")
VOICE_KINDS = ("clip", "profile", "smart")

Message = dict[str, Any]
Conversation = list[Message]


class PromptError(ValueError):
    """A job that cannot be turned into a Higgs prompt (message says what to fix)."""


@dataclass(frozen=True)
class PriorTurn:
    """An earlier line (or chunk) given to the model as context: what was said and its audio.

    ``audio`` is a file path (str) or the index of a chunk generated earlier in this render (int).
    ``text`` is normalised when the conversation is built unless ``normalized`` is set.
    """

    text: str
    audio: str | int
    speaker: int = 0
    normalized: bool = False


def build_conversation(
    job: RenderJob,
    *,
    text: str | None = None,
    prior: Sequence[PriorTurn] = (),
    references: str = "auto",
    normalized: bool = False,
) -> Conversation:
    """The conversation that asks the model to speak ``text`` (default ``job.text``) as ``job.voice``.

    ``prior`` turns come after the voice references, oldest first. ``normalized=True`` means ``text``
    has already been through :func:`~engine.higgs.text.normalize_text` (chunks of a long line).
    Raises :class:`PromptError` for a job that cannot be voiced.
    """
    check_job(job)
    if references not in PLACEMENTS:
        raise PromptError(f"unknown reference placement {references!r}; use one of {', '.join(PLACEMENTS)}")
    multi = len(job.speakers) > 1
    in_scene = [_in_scene(voice, multi, references) for voice in job.speakers]
    all_smart = all(voice.kind == "smart" for voice in job.speakers)

    scene: list[dict[str, Any]] = [_text(job.scene_description.strip() or DEFAULT_SCENE)]
    for index, voice in enumerate(job.speakers):
        if not in_scene[index]:
            continue
        if voice.kind == "smart":
            if multi:
                scene.append(_text(f"SPEAKER{index}: {SMART_DESCRIPTORS[index % len(SMART_DESCRIPTORS)]}"))
        elif voice.kind == "profile":
            scene.append(_text(f"SPEAKER{index}: {' '.join(voice.profile.split())}"))
        else:
            scene.append(_text(f"SPEAKER{index}:"))
            scene.append(_audio(voice.ref_audio))

    system = MULTISPEAKER_SYSTEM_TEXT if multi and all_smart else SYSTEM_TEXT
    messages: Conversation = [
        {"role": "system", "content": [_text(system)]},
        {"role": "scene", "content": scene},
    ]
    for index, voice in enumerate(job.speakers):
        if voice.kind == "clip" and not in_scene[index]:
            said = _speaker_text(normalize_text(voice.transcript), index, multi)  # its own language
            messages.append({"role": "user", "content": [_text(said)]})
            messages.append({"role": "assistant", "content": [_audio(voice.ref_audio)]})
    for turn in prior:
        if not 0 <= turn.speaker < len(job.speakers):
            raise PromptError(
                f"a context line names speaker {turn.speaker}, but the job has {len(job.speakers)} speaker(s)"
            )
        said = turn.text if turn.normalized else normalize_text(turn.text, job.language)
        messages.append({"role": "user", "content": [_text(_speaker_text(said, turn.speaker, multi))]})
        messages.append({"role": "assistant", "content": [_audio(turn.audio)]})

    line = job.text if text is None else text
    line = line if normalized else normalize_text(line, job.language)
    if not line:
        raise PromptError("the line has no text to speak")
    messages.append({"role": "user", "content": [_text(_speaker_text(line, job.speaker, multi))]})
    return messages


def check_job(job: RenderJob) -> None:
    """Raise :class:`PromptError` if Higgs cannot voice ``job`` as given."""
    if not job.speakers:
        raise PromptError("the line has no speaker voices")
    if not 0 <= job.speaker < len(job.speakers):
        raise PromptError(
            f"the line names speaker {job.speaker}, but the job has {len(job.speakers)} speaker(s)"
        )
    for index, voice in enumerate(job.speakers):
        who = voice.name or f"speaker {index}"
        if voice.kind not in VOICE_KINDS:
            if voice.kind == "piper":
                raise PromptError(
                    f"{who} has a Piper voice, which Higgs cannot use; give the speaker a reference clip, "
                    "a text profile or the smart voice, or render with the Piper backend"
                )
            raise PromptError(f"{who} has an unknown voice kind {voice.kind!r}")
        if voice.kind == "clip" and not voice.ref_audio:
            raise PromptError(f"{who} is a cloned voice without a reference clip; pick the clip again")
        if voice.kind == "profile" and not voice.profile.strip():
            raise PromptError(f"{who} has an empty text profile; describe the voice or use the smart voice")


def audio_items(conversation: Conversation) -> list[dict[str, Any]]:
    """The audio items of ``conversation`` in the order the chat template emits them."""
    return [
        item
        for message in conversation
        if isinstance(message["content"], list)
        for item in message["content"]
        if item.get("type") == "audio"
    ]


def _in_scene(voice: VoiceSpec, multi: bool, references: str) -> bool:
    if voice.kind != "clip":
        return True
    if not voice.transcript.strip():
        return True
    if references == "auto":
        return multi
    return references == "scene"


def _speaker_text(text: str, speaker: int, multi: bool) -> str:
    return f"[SPEAKER{speaker}] {text}" if multi else text


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _audio(source: str | int) -> dict[str, Any]:
    if isinstance(source, int):
        return {"type": "audio", "chunk": source}
    return {"type": "audio", "path": source}
