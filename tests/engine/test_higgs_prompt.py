"""Higgs prompt building: the exact conversations sent to the chat template (pure, no model)."""

from __future__ import annotations

import pytest

from engine.higgs.chunking import TurnBuffer, context_turns
from engine.higgs.prompt import (
    DEFAULT_SCENE,
    SYSTEM_TEXT,
    PriorTurn,
    PromptError,
    audio_items,
    build_conversation,
)
from engine.higgs.text import TAGS
from engine.protocol import ContextTurn, RenderJob, VoiceSpec

SYSTEM = {"role": "system", "content": [{"type": "text", "text": "Generate audio following instruction."}]}
QUIET = {"role": "scene", "content": [{"type": "text", "text": "Audio is recorded from a quiet room."}]}

BELINDA = VoiceSpec(
    kind="clip", ref_audio="/v/belinda.wav", transcript="It was the night before my birthday."
)
CHADWICK = VoiceSpec(kind="clip", ref_audio="/v/chadwick.wav", transcript="Hey, what's up?")
BRIT = VoiceSpec(kind="profile", profile="Male, British accent,\n calm and low.")


def make(text: str = "Hello there.", **fields: object) -> RenderJob:
    fields.setdefault("speakers", (VoiceSpec(kind="smart"),))
    return RenderJob(job_id="j", text=text, out_path="/tmp/j.wav", **fields)  # type: ignore[arg-type]


def user(text: str) -> dict[str, object]:
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def said(path: str | int) -> dict[str, object]:
    key = "chunk" if isinstance(path, int) else "path"
    return {"role": "assistant", "content": [{"type": "audio", key: path}]}


def test_constants_match_the_reference() -> None:
    assert SYSTEM_TEXT == "Generate audio following instruction."
    assert DEFAULT_SCENE == "Audio is recorded from a quiet room."


def test_smart_voice() -> None:
    job = make("Hello there", speakers=(VoiceSpec(kind="smart"),))
    assert build_conversation(job) == [SYSTEM, QUIET, user("Hello there.")]


def test_single_clone_puts_the_reference_in_turns() -> None:
    job = make("The sun rises in the east.", speakers=(BELINDA,))
    assert build_conversation(job) == [
        SYSTEM,
        QUIET,
        user("It was the night before my birthday."),
        said("/v/belinda.wav"),
        user("The sun rises in the east."),
    ]


def test_single_clone_without_transcript_goes_in_the_scene() -> None:
    job = make("Hi.", speakers=(VoiceSpec(kind="clip", ref_audio="/v/x.wav"),))
    assert build_conversation(job) == [
        SYSTEM,
        {
            "role": "scene",
            "content": [
                {"type": "text", "text": DEFAULT_SCENE},
                {"type": "text", "text": "SPEAKER0:"},
                {"type": "audio", "path": "/v/x.wav"},
            ],
        },
        user("Hi."),
    ]


def test_two_speaker_clone_puts_references_in_the_scene_block() -> None:
    job = make("I can't believe it!", speakers=(BELINDA, CHADWICK), speaker=1)
    assert build_conversation(job) == [
        SYSTEM,
        {
            "role": "scene",
            "content": [
                {"type": "text", "text": DEFAULT_SCENE},
                {"type": "text", "text": "SPEAKER0:"},
                {"type": "audio", "path": "/v/belinda.wav"},
                {"type": "text", "text": "SPEAKER1:"},
                {"type": "audio", "path": "/v/chadwick.wav"},
            ],
        },
        user("[SPEAKER1] I can't believe it!"),
    ]


def test_two_speaker_clone_as_turns_when_asked() -> None:
    job = make("Go on.", speakers=(BELINDA, CHADWICK), speaker=0)
    assert build_conversation(job, references="turns") == [
        SYSTEM,
        QUIET,
        user("[SPEAKER0] It was the night before my birthday."),
        said("/v/belinda.wav"),
        user("[SPEAKER1] Hey, what's up?"),
        said("/v/chadwick.wav"),
        user("[SPEAKER0] Go on."),
    ]


def test_text_profile_goes_in_the_scene_block() -> None:
    job = make("Good evening.", speakers=(BRIT,))
    assert build_conversation(job) == [
        SYSTEM,
        {
            "role": "scene",
            "content": [
                {"type": "text", "text": DEFAULT_SCENE},
                {"type": "text", "text": "SPEAKER0: Male, British accent, calm and low."},
            ],
        },
        user("Good evening."),
    ]


def test_mixed_profile_clip_and_smart_speakers() -> None:
    job = make("Right.", speakers=(BRIT, BELINDA, VoiceSpec(kind="smart")), speaker=2)
    conversation = build_conversation(job)
    assert conversation[1]["content"] == [
        {"type": "text", "text": DEFAULT_SCENE},
        {"type": "text", "text": "SPEAKER0: Male, British accent, calm and low."},
        {"type": "text", "text": "SPEAKER1:"},
        {"type": "audio", "path": "/v/belinda.wav"},
        {"type": "text", "text": "SPEAKER2: feminine"},
    ]
    assert conversation[0] == SYSTEM  # voices with clips/profiles: the generic system message
    assert conversation[-1] == user("[SPEAKER2] Right.")


def test_scene_description_replaces_the_default() -> None:
    job = make("Hello.", scene_description="  A busy train station, announcements in the background. ")
    assert build_conversation(job)[1] == {
        "role": "scene",
        "content": [{"type": "text", "text": "A busy train station, announcements in the background."}],
    }


@pytest.mark.parametrize(("tag", "marker"), TAGS)
def test_each_tag_is_expanded_in_the_spoken_text(tag: str, marker: str) -> None:
    assert build_conversation(make(f"Well {tag} yes"))[-1] == user(f"Well {marker} yes.")


def test_tag_expansions_are_the_reference_markers() -> None:
    assert dict(TAGS) == {
        "[laugh]": "<SE>[Laughter]</SE>",
        "[humming start]": "<SE_s>[Humming]</SE_s>",
        "[humming end]": "<SE_e>[Humming]</SE_e>",
        "[music start]": "<SE_s>[Music]</SE_s>",
        "[music end]": "<SE_e>[Music]</SE_e>",
        "[music]": "<SE>[Music]</SE>",
        "[sing start]": "<SE_s>[Singing]</SE_s>",
        "[sing end]": "<SE_e>[Singing]</SE_e>",
        "[applause]": "<SE>[Applause]</SE>",
        "[cheering]": "<SE>[Cheering]</SE>",
        "[cough]": "<SE>[Cough]</SE>",
    }


def test_a_line_ending_in_a_marker_gets_no_period() -> None:
    assert build_conversation(make("la la [humming end]"))[-1] == user("la la <SE_e>[Humming]</SE_e>")


def test_scene_continuity_context_becomes_prior_turns_after_the_references() -> None:
    context = tuple(ContextTurn(text=f"Line {i}", audio=f"/t/{i}.wav", speaker=i % 2) for i in range(5))
    job = make("Line 5", speakers=(BELINDA, CHADWICK), speaker=1, context=context)
    conversation = build_conversation(job, prior=context_turns(job, keep=2), references="turns")
    assert conversation[2:] == [
        user("[SPEAKER0] It was the night before my birthday."),
        said("/v/belinda.wav"),
        user("[SPEAKER1] Hey, what's up?"),
        said("/v/chadwick.wav"),
        user("[SPEAKER1] Line three."),
        said("/t/3.wav"),
        user("[SPEAKER0] Line four."),
        said("/t/4.wav"),
        user("[SPEAKER1] Line five."),
    ]
    assert [item.get("path") for item in audio_items(conversation)] == [
        "/v/belinda.wav",
        "/v/chadwick.wav",
        "/t/3.wav",
        "/t/4.wav",
    ]


@pytest.mark.parametrize("k", [1, 3, 6])
def test_line_k_holds_lines_k_minus_n_to_k_minus_1(k: int) -> None:
    keep = 3
    context = tuple(ContextTurn(text=f"Line {i}.", audio=f"/t/{i}.wav") for i in range(k))
    conversation = build_conversation(
        make(f"Line {k}.", context=context), prior=context_turns(make("x", context=context), keep)
    )
    paths = [item["path"] for item in audio_items(conversation)]
    assert paths == [f"/t/{i}.wav" for i in range(max(0, k - keep), k)]


def test_chunk_carry_over_uses_a_bounded_buffer_of_chunk_audio() -> None:
    buffer = TurnBuffer(2, [PriorTurn("Earlier line.", "/t/0.wav")])
    for i in range(3):
        buffer.append(PriorTurn(f"Chunk {i}.", i, normalized=True))
    conversation = build_conversation(make("Chunk three."), prior=buffer.turns())
    assert conversation[2:] == [user("Chunk 1."), said(1), user("Chunk 2."), said(2), user("Chunk three.")]


def test_already_normalised_text_is_left_as_is() -> None:
    assert build_conversation(make("x"), text="Chapter 5 begins", normalized=True)[-1] == user(
        "Chapter 5 begins"
    )


@pytest.mark.parametrize(
    ("job", "message"),
    [
        (make("Hi", speakers=(VoiceSpec(kind="piper"),)), "Piper voice"),
        (make("Hi", speakers=(VoiceSpec(kind="clip"),)), "without a reference clip"),
        (make("Hi", speakers=(VoiceSpec(kind="profile", profile=" "),)), "empty text profile"),
        (make("Hi", speakers=(VoiceSpec(kind="smart"),), speaker=3), "speaker 3"),
        (make("  ", speakers=(VoiceSpec(kind="smart"),)), "no text"),
    ],
)
def test_unvoiceable_jobs_get_a_clear_error(job: RenderJob, message: str) -> None:
    with pytest.raises(PromptError, match=message):
        build_conversation(job)


def test_unknown_reference_placement_is_refused() -> None:
    with pytest.raises(PromptError, match="placement"):
        build_conversation(make("Hi", speakers=(VoiceSpec(kind="smart"),)), references="system")


def test_several_smart_voices_get_the_multispeaker_system_message_and_descriptors() -> None:
    from engine.higgs.prompt import MULTISPEAKER_SYSTEM_TEXT

    job = make("Ready?", speakers=(VoiceSpec(kind="smart"),) * 3, speaker=1, scene_description="A studio.")
    conversation = build_conversation(job)
    assert conversation[0]["content"][0]["text"] == MULTISPEAKER_SYSTEM_TEXT
    assert "do not read out the tag" in MULTISPEAKER_SYSTEM_TEXT
    assert conversation[1]["content"] == [
        {"type": "text", "text": "A studio."},
        {"type": "text", "text": "SPEAKER0: feminine"},
        {"type": "text", "text": "SPEAKER1: masculine"},
        {"type": "text", "text": "SPEAKER2: feminine"},
    ]
    assert conversation[-1] == user("[SPEAKER1] Ready?")


def test_numbers_are_spelled_for_english_lines_only() -> None:
    german = make("Ich habe 3 Äpfel für 3,50 € gekauft.")
    assert build_conversation(german)[-1] == user("Ich habe 3 Äpfel für 3,50 € gekauft.")
    told = make("Ich habe 3 Äpfel.", language="de")
    assert build_conversation(told)[-1] == user("Ich habe 3 Äpfel.")
    english = make("I paid €3,50 for 2 coffees at 9:30")
    assert build_conversation(english)[-1] == user(
        "I paid three euros and fifty cents for two coffees at nine thirty."
    )
