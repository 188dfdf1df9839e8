"""Chorus prompts Higgs Audio v2 the way the checkpoint was trained.

* Chorus's fallback chat template renders byte-identically to the template transformers' conversion
  script writes into real checkpoints (data/higgs_audio_v2_conversion.jinja), on a matrix of
  conversations Chorus builds (smart/clone/profile voices, 1–4 speakers, scene text, continuation turns,
  humming/music tags). The tiny checkpoint is saved with the conversion template, not ours.
* For conversations with audio, Chorus's own input assembly equals the processor's
  ``apply_chat_template(tokenize=True)`` tensor for tensor.
* A golden token sequence captured with the real tokenizer (skips until the file exists).
"""

from __future__ import annotations

import itertools
import json
import runpy
from pathlib import Path

import pytest
from higgs_tiny import CONVERSION_TEMPLATE, FRAMES, backend, tiny_model_dir, write_clip

from engine.backends.higgs import HiggsBackend
from engine.higgs.inputs import build_inputs, resolve_audio
from engine.higgs.loading import is_higgs_template
from engine.higgs.prompt import PriorTurn, audio_items, build_conversation
from engine.higgs.template import CHAT_TEMPLATE
from engine.protocol import RenderJob, VoiceSpec

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
GOLDEN = Path(__file__).parent / "data" / "higgs_golden_tokens.json"

SMART = VoiceSpec(kind="smart")
PROFILE = VoiceSpec(kind="profile", profile="Male, British accent, calm and low.")


@pytest.fixture(scope="module")
def fixed() -> HiggsBackend:
    return backend(fixed_frames=FRAMES)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("clips")
    return [write_clip(folder / f"v{i}.wav", 0.4 + 0.15 * i, freq=140 + 40 * i) for i in range(4)]


def clip(path: str, transcript: str = "It was the night before my birthday.") -> VoiceSpec:
    return VoiceSpec(kind="clip", ref_audio=path, transcript=transcript)


def conversations(clips: list[str]) -> list[list[dict]]:
    """The matrix: voice kinds × cast sizes × scene × continuation × tags."""
    kinds = {
        "smart": lambda i: SMART,
        "clip": lambda i: clip(clips[i]),
        "clip-no-transcript": lambda i: clip(clips[i], ""),
        "profile": lambda i: VoiceSpec(kind="profile", profile=f"Voice {i}: warm,\n low and slow."),
        "mixed": lambda i: (SMART, clip(clips[i]), PROFILE, clip(clips[i], ""))[i % 4],
    }
    texts = ["Hello there", "[humming start] mm mm [humming end]", "[music start] la la [music end] Right!"]
    out = []
    for make, size, scene, prior, text in itertools.product(
        kinds.values(), (1, 2, 3, 4), ("", "  A busy station.\n"), (0, 2), texts
    ):
        speakers = tuple(make(i) for i in range(size))
        turns = [PriorTurn(text=f"Earlier line {n}.", audio=n, speaker=n % size) for n in range(prior)]
        job = RenderJob("j", text, "/tmp/j.wav", speakers=speakers, speaker=size - 1, scene_description=scene)
        for references in ("auto", "turns", "scene"):
            out.append(build_conversation(job, prior=turns, references=references))
    return out


def test_the_tiny_checkpoint_carries_the_conversion_template(fixed: HiggsBackend) -> None:
    assert (tiny_model_dir() / "chat_template.jinja").read_text() == CONVERSION_TEMPLATE
    assert fixed._processor.chat_template == CONVERSION_TEMPLATE
    assert is_higgs_template(CONVERSION_TEMPLATE) and is_higgs_template(CHAT_TEMPLATE)


def test_our_template_renders_exactly_as_the_checkpoints(fixed: HiggsBackend, clips: list[str]) -> None:
    processor = fixed._processor
    matrix = conversations(clips)
    assert len(matrix) >= 600
    for conversation in matrix:
        theirs = processor.apply_chat_template(
            conversation, chat_template=CONVERSION_TEMPLATE, tokenize=False, add_generation_prompt=True
        )
        ours = processor.apply_chat_template(
            conversation, chat_template=CHAT_TEMPLATE, tokenize=False, add_generation_prompt=True
        )
        assert ours == theirs, json.dumps(conversation)[:400]


def test_a_base_llama_template_is_never_used_for_higgs(tmp_path: Path) -> None:
    from engine.higgs.loading import _chat_template

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "chat_template.jinja").write_text("{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}")
    assert _chat_template(folder, {}, tokenizer=None) == ""  # → Chorus's own template
    (folder / "chat_template.jinja").write_text(CONVERSION_TEMPLATE)
    assert _chat_template(folder, {}, tokenizer=None) == CONVERSION_TEMPLATE


@pytest.mark.parametrize("case", ["one clone", "two clones in the scene", "clone + profile + context file"])
def test_input_assembly_equals_the_processors_tokenized_chat(
    fixed: HiggsBackend, clips: list[str], tmp_path: Path, case: str
) -> None:
    processor = fixed._processor
    context = write_clip(tmp_path / "ctx.wav", 0.5, freq=300)
    speakers, prior = {
        "one clone": ((clip(clips[0]),), []),
        "two clones in the scene": ((clip(clips[0]), clip(clips[1], "Hey, what's up?")), []),
        "clone + profile + context file": (
            (clip(clips[2]), PROFILE),
            [PriorTurn(text="Earlier, I said this.", audio=context, speaker=1)],
        ),
    }[case]
    job = RenderJob("j", "The sun rises in the east.", "/tmp/j.wav", speakers=speakers)
    conversation = build_conversation(job, prior=prior)
    prompt = processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
    codes = resolve_audio(processor, audio_items(conversation), fixed._codes, {})
    ours = build_inputs(processor, [prompt], [codes])
    theirs = processor.apply_chat_template(
        conversation, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
    )
    assert len(codes) == len(audio_items(conversation)) >= 1
    for key in ("input_ids", "attention_mask", "audio_input_ids", "audio_input_ids_mask"):
        assert ours[key].tolist() == theirs[key].tolist(), key


def test_golden_token_sequence_of_the_real_checkpoint(fixed: HiggsBackend) -> None:
    if not GOLDEN.is_file():
        pytest.skip(
            f"{GOLDEN.name} not captured yet: needs the real checkpoint's tokenizer "
            "(run scripts/capture_higgs_golden.py where the weights are)"
        )
    golden = json.loads(GOLDEN.read_text())
    capture = runpy.run_path(str(Path(__file__).parents[2] / "scripts" / "capture_higgs_golden.py"))
    conversation = capture["golden_conversation"]()
    prompt = fixed._processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
    assert prompt == golden["prompt"]  # template, system/scene layout and text normalisation
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(golden["model"], local_files_only=True)
    except (OSError, ValueError):
        pytest.skip(f"prompt matches; token ids need {golden['model']}'s tokenizer, not in the local cache")
    assert tokenizer(prompt, add_special_tokens=False)["input_ids"] == golden["input_ids"]
