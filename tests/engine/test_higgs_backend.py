"""HiggsBackend on a tiny random checkpoint of the real classes, loaded like a downloaded model."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from higgs_tiny import FRAMES, backend, job, never, no_progress, tiny_model_dir, write_clip

from engine.backends.base import BackendError, Cancelled, create_backend
from engine.backends.higgs import HiggsBackend, _generation_config
from engine.higgs import loading
from engine.higgs.guard import SAMPLE_RATE, SAMPLES_PER_FRAME
from engine.higgs.inputs import build_inputs, decode_codes, encode_waveform, extract_codes, load_audio
from engine.protocol import ContextTurn, GenerationParams, VoiceSpec

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def fixed() -> HiggsBackend:
    return backend(fixed_frames=FRAMES)


def test_the_backend_is_registered_and_declares_its_capabilities() -> None:
    backend = create_backend("higgs", {"batch_size": 4})
    assert isinstance(backend, HiggsBackend)
    caps = backend.capabilities()
    assert caps.voice_cloning and caps.text_profiles and caps.smart_voice and caps.multi_speaker_context
    assert caps.sample_rate == 24000 and caps.batch_size == 4
    assert "[laugh]" in caps.tags and "[humming start]" in caps.tags


def test_a_render_gives_a_24khz_take_of_the_requested_length(fixed: HiggsBackend) -> None:
    fractions: list[float] = []
    result = fixed.render(job(), lambda _id, f: fractions.append(f), never)
    assert result.sample_rate == SAMPLE_RATE == 24000
    assert result.audio.dtype == np.float32 and result.audio.ndim == 1
    assert len(result.audio) == FRAMES * SAMPLES_PER_FRAME
    assert result.codes.shape == (FRAMES, 8) and np.issubdtype(result.codes.dtype, np.integer)
    assert result.codes.min() >= 0 and result.codes.max() < 1024
    assert fractions and fractions[-1] == 1.0 and fractions == sorted(fractions)


def test_a_batch_of_four_lines_is_generated_together(fixed: HiggsBackend) -> None:
    jobs = [job(f"Line number {i}.", job_id=f"b{i}", group="scene-1") for i in range(4)]
    outcomes = fixed.render_batch(jobs, no_progress, never)
    assert [o.job_id for o in outcomes] == ["b0", "b1", "b2", "b3"]
    assert all(o.result is not None and len(o.result.audio) == FRAMES * SAMPLES_PER_FRAME for o in outcomes)
    assert fixed.last_stats["rows"] == 4
    assert len(fixed.last_prompts) == 4 and "Line number three." in fixed.last_prompts[3]


def test_lines_without_a_group_are_rendered_one_by_one(fixed: HiggsBackend) -> None:
    outcomes = fixed.render_batch([job(job_id="a"), job(job_id="b")], no_progress, never)
    assert all(o.result is not None for o in outcomes)
    assert fixed.last_stats["rows"] == 1


def test_the_same_seed_reproduces_the_codes_and_another_seed_does_not(fixed: HiggsBackend) -> None:
    first = fixed.render(job(seed=7), no_progress, never)
    again = fixed.render(job(seed=7), no_progress, never)
    other = fixed.render(job(seed=8), no_progress, never)
    assert np.array_equal(first.codes, again.codes)
    assert np.array_equal(first.audio, again.audio)
    assert not np.array_equal(first.codes, other.codes)


def test_a_cloned_voice_reads_its_reference_once(fixed: HiggsBackend, tmp_path: Path) -> None:
    voice = VoiceSpec(kind="clip", ref_audio=write_clip(tmp_path / "ref.wav"), transcript="A reference line.")
    before = fixed._codes.encoded
    for i in range(2):
        result = fixed.render(job("Cloned speech.", job_id=f"c{i}", speakers=(voice,)), no_progress, never)
        assert len(result.audio) == FRAMES * SAMPLES_PER_FRAME
    assert fixed._codes.encoded == before + 1
    prompt = fixed.last_prompts[0]
    assert "A reference line.<|eot_id|><|start_header_id|>assistant" in prompt
    assert prompt.count("<|audio_out_bos|>") == 2  # the reference clip + the generation prompt


def test_scene_continuity_passes_the_last_n_lines_as_context(tmp_path: Path) -> None:
    backend_ = backend(fixed_frames=FRAMES, context_turns=2)
    context = tuple(
        ContextTurn(text=f"Earlier line {i}.", audio=write_clip(tmp_path / f"{i}.wav", 0.5 + 0.1 * i))
        for i in range(4)
    )
    result = backend_.render(job("Now me.", context=context), no_progress, never)
    assert result is not None
    prompt = backend_.last_prompts[0]
    assert "Earlier line one." not in prompt
    assert prompt.index("Earlier line two.") < prompt.index("Earlier line three.") < prompt.index("Now me.")
    # the last two clips' frames, each + 9 (stream BOS/EOS and the 7 delay-pattern frames)
    frames = [encode_waveform(backend_._processor, load_audio(c.audio)).shape[1] for c in context[2:]]
    assert prompt.count("<|AUDIO_OUT|>") == 2
    assert backend_.last_stats["prompt_audio_frames"] == [sum(frames) + 2 * 9]


def test_a_long_line_is_generated_in_chunks_carrying_the_previous_audio() -> None:
    backend_ = backend(fixed_frames=FRAMES, chunk_words=4, context_turns=1)
    text = "One two three. Four five six. Seven eight nine."
    result = backend_.render(job(text), no_progress, never)
    assert result.codes.shape == (3 * FRAMES, 8)
    assert len(result.audio) == 3 * FRAMES * SAMPLES_PER_FRAME
    last = backend_.last_prompts[0]
    assert "Four five six.<|eot_id|>" in last and "One two three." not in last
    assert last.count("<|audio_out_bos|>") == 2  # the carried chunk + the generation prompt


def test_a_line_that_runs_to_its_cap_is_marked_suspect() -> None:
    backend_ = backend(trim_silence=False)
    params = GenerationParams(max_new_tokens=15, seed=3)  # 6 frames for a long line: the cap must hit
    result = backend_.render(
        job("A line far too long for its tiny limit of frames.", params=params), no_progress, never
    )
    assert result.codes.shape[0] == 6
    assert result.suspect and "length limit" in result.note


def test_humming_and_music_switch_ras_off() -> None:
    higgs = backend(fixed_frames=FRAMES)
    dialogue = higgs.sampler_params(job(), 4)
    humming = higgs.sampler_params(job(kind="humming"), 4)
    tagged = higgs.sampler_params(job("[music start] la la [music end]"), 4)
    greedy = higgs.sampler_params(job(params=GenerationParams(temperature=0)), 4)
    # (temperature, top-k, top-p, RAS window, RAS repeats, seed)
    assert dialogue == (1.0, 50, 0.95, 7, 2, 4)
    assert humming[3] == tagged[3] == 0  # RAS window 0 = off
    assert greedy[0] == 0.0
    off = higgs.sampler_params(job(params=GenerationParams(top_k=0, top_p=1.0, ras_win_len=0)), 1)
    assert off[1:4] == (0, 1.0, 0)


def test_generate_gets_neutral_settings_that_survive_its_own_config_merging() -> None:
    """The picker picks; generate() must not filter or redraw: neutral values, RAS off, never None."""
    model = backend(fixed_frames=FRAMES)._model
    merged, _ = model._prepare_generation_config(
        _generation_config(model.generation_config, job(params=GenerationParams(top_k=20, temperature=0.3)), 50)
    )
    assert (merged.ras_win_len, merged.ras_win_max_num_repeat, merged.max_new_tokens) == (1, 2, 50)
    assert (merged.temperature, merged.top_k, merged.top_p, merged.do_sample) == (1.0, 0, 1.0, False)


def test_a_cancelled_job_is_reported_cancelled(fixed: HiggsBackend) -> None:
    outcomes = fixed.render_batch([job(job_id="x")], no_progress, lambda job_id: True)
    assert outcomes[0].cancelled
    with pytest.raises(Cancelled):
        fixed.render(job(job_id="y"), no_progress, lambda job_id: True)


def test_a_cancelled_line_leaves_the_rest_of_its_batch(fixed: HiggsBackend, tmp_path: Path) -> None:
    voice = VoiceSpec(kind="clip", ref_audio=write_clip(tmp_path / "ref.wav"), transcript="Reference.")
    jobs = [job(job_id=name, group="g", speakers=(voice,)) for name in ("keep", "drop", "keep2")]
    outcomes = fixed.render_batch(jobs, no_progress, lambda job_id: job_id == "drop")
    assert [o.cancelled for o in outcomes] == [False, True, False]
    assert outcomes[0].result is not None and outcomes[2].result is not None
    assert fixed.last_stats["rows"] == 2


def test_a_job_cancelled_mid_generation_stops() -> None:
    backend_ = backend(fixed_frames=400)
    calls = {"n": 0}

    def cancel_later(job_id: str) -> bool:
        calls["n"] += 1
        return calls["n"] > 2  # lets the pre-check pass, then cancels inside generate

    outcome = backend_.render_batch([job(job_id="z")], no_progress, cancel_later)[0]
    assert outcome.cancelled
    assert backend_.last_stats["steps"] < 400


@pytest.mark.parametrize(
    ("speakers", "kind", "message"),
    [
        ((VoiceSpec(kind="piper"),), "dialogue", "Piper voice"),
        ((VoiceSpec(kind="clip", ref_audio="/nowhere/ref.wav", transcript="x"),), "dialogue", "not found"),
        ((VoiceSpec(kind="smart"),), "opera", "unknown line kind"),
    ],
)
def test_a_bad_job_fails_alone_with_a_clear_message(
    fixed: HiggsBackend, speakers: tuple[VoiceSpec, ...], kind: str, message: str
) -> None:
    bad = job(job_id="bad", speakers=speakers, kind=kind, group="g")
    outcomes = fixed.render_batch([bad, job(job_id="good", group="g")], no_progress, never)
    assert message in outcomes[0].error and outcomes[0].result is None
    assert outcomes[1].result is not None


# ---------------------------------------------------------------------- equivalence with the processor


def test_inputs_match_the_processor_for_prompts_with_audio(fixed: HiggsBackend, tmp_path: Path) -> None:
    processor = fixed._processor
    waves = [
        load_audio(write_clip(tmp_path / f"{i}.wav", 0.4 + 0.2 * i, freq=150 + 50 * i)) for i in range(3)
    ]
    prompts = [
        f"<|begin_of_text|>ref {processor.audio_token} and {processor.audio_token} go",
        f"<|begin_of_text|>a longer prompt with one clip {processor.audio_token}",
    ]
    ours = build_inputs(
        processor,
        prompts,
        [[encode_waveform(processor, w) for w in waves[:2]], [encode_waveform(processor, waves[2])]],
    )
    theirs = processor(text=list(prompts), audio=waves, return_tensors="pt")
    assert set(ours) == {"input_ids", "attention_mask", "audio_input_ids", "audio_input_ids_mask"}
    for key in ours:
        assert ours[key].tolist() == theirs[key].tolist(), key


def test_codes_and_audio_match_the_processors_decode(fixed: HiggsBackend) -> None:
    import torch

    model, processor = fixed._model, fixed._processor
    prompt = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" + (
        "<|start_header_id|>assistant<|end_header_id|>\n\n<|audio_out_bos|>"
    )
    inputs = processor(text=[prompt, prompt], return_tensors="pt")
    torch.manual_seed(0)
    sequences = model.generate(**inputs, max_new_tokens=30, do_sample=True)
    config = model.config
    codes = extract_codes(sequences, 0, bos=config.audio_stream_bos_id, eos=config.audio_stream_eos_id)
    expected = processor.batch_decode(sequences)
    for row, audio in zip(codes, expected, strict=True):
        assert np.allclose(decode_codes(processor, row), audio.numpy(), atol=1e-6)


# ---------------------------------------------------------------------- loading and clear errors


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="does not exist"):
        HiggsBackend(options={"model": str(tmp_path / "nope")}).load()


def test_a_folder_without_a_config_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="no config.json"):
        HiggsBackend(options={"model": str(tmp_path)}).load()


def test_a_checkpoint_of_another_architecture_is_named(tmp_path: Path) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2
    )
    LlamaForCausalLM(config).save_pretrained(tmp_path / "llama")
    with pytest.raises(
        BackendError, match=r"holds a llama checkpoint \(LlamaForCausalLM\), not Higgs Audio v2"
    ):
        HiggsBackend(options={"model": str(tmp_path / "llama")}).load()


def test_the_original_boson_format_points_to_the_conversion(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps({"model_type": "higgs_audio", "architectures": ["HiggsAudioModel"]})
    )
    with pytest.raises(
        BackendError, match="original Higgs Audio format.*eustlb/higgs-audio-v2-generation-3B-base"
    ):
        HiggsBackend(options={"model": str(tmp_path)}).load()


def test_missing_weights_are_a_clear_error(tmp_path: Path) -> None:
    config = json.loads((tiny_model_dir() / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(BackendError, match="weights are missing"):
        HiggsBackend(options={"model": str(tmp_path)}).load()


def test_a_repo_that_is_not_downloaded_while_offline_is_a_clear_error(tmp_path: Path) -> None:
    options = {"model": "someone/not-downloaded", "local_files_only": True, "cache_dir": str(tmp_path)}
    with pytest.raises(
        BackendError, match="not downloaded and downloads are off.*hf download someone/not-downloaded"
    ):
        HiggsBackend(options=options).load()


def test_memory_errors_name_what_is_needed_and_free() -> None:
    message = str(loading.memory_error("cpu", 12.5, 3.25))
    assert "needs about 12.5 GiB and 3.2 GiB is free" in message


def test_loading_reports_progress_and_happens_once() -> None:
    reports: list[tuple[float, str]] = []
    backend_ = HiggsBackend(options={"model": str(tiny_model_dir()), "device": "cpu"})
    backend_.load(lambda fraction, detail: reports.append((fraction, detail)))
    assert reports[0][0] == 0.0 and reports[-1] == (1.0, "Higgs Audio ready on cpu (float32)")
    assert [f for f, _ in reports] == sorted(f for f, _ in reports)
    assert backend_.version == "local" and backend_.loaded
    model = backend_._model
    backend_.load(lambda fraction, detail: reports.append((fraction, detail)))
    assert backend_._model is model and backend(fixed_frames=1)._model is model


def test_a_download_reports_bytes_through_load_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake snapshot_download drives the tqdm class the way huggingface_hub does (no network)."""
    import huggingface_hub

    calls: list[dict[str, object]] = []

    def fake_snapshot_download(repo_id: str, **kwargs: object) -> str:
        calls.append(dict(kwargs, repo_id=repo_id))
        if kwargs.get("local_files_only"):
            raise huggingface_hub.errors.LocalEntryNotFoundError("not cached")
        tqdm_class = kwargs["tqdm_class"]
        transfer = tqdm_class(desc="Downloading bytes", total=0, unit="B")  # type: ignore[operator]
        written = tqdm_class(desc="Reconstructing", total=0, unit="B")  # type: ignore[operator]
        files = tqdm_class(desc="Fetching 2 files", total=2)  # type: ignore[operator]
        for bar in (transfer, written):
            bar.total = 4_000_000_000
        for _ in range(4):
            transfer.update(1_000_000_000)
            written.update(1_000_000_000)
        files.update(2)
        for bar in (transfer, written, files):
            bar.close()
        return str(tiny_model_dir())

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    reports: list[tuple[float, str]] = []
    backend_ = HiggsBackend(options={"model": "org/higgs-model", "device": "cpu"})
    backend_.load(lambda fraction, detail: reports.append((fraction, detail)))
    downloading = [(f, d) for f, d in reports if d.startswith("downloading org/higgs-model")]
    assert [round(f, 3) for f, _ in downloading] == [0.0, 0.175, 0.35, 0.525, 0.7]
    assert downloading[-1][1] == "downloading org/higgs-model: 4.00 of 4.00 GB"
    assert reports[-1][0] == 1.0 and backend_.model_id == "org/higgs-model"
    assert calls[0]["local_files_only"] is True and "tqdm_class" in calls[1]


def test_from_model_renders_through_the_same_code(fixed: HiggsBackend) -> None:
    in_memory = HiggsBackend.from_model(fixed._model, fixed._processor, {"fixed_frames": 5})
    result = in_memory.render(replace(job(), job_id="m"), no_progress, never)
    assert result.codes.shape == (5, 8) and in_memory.loaded


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (GenerationParams(temperature=-1), "temperature"),
        (GenerationParams(top_p=0), "top-p"),
        (GenerationParams(max_new_tokens=5), "max new tokens"),
    ],
)
def test_bad_generation_settings_are_refused(
    fixed: HiggsBackend, params: GenerationParams, message: str
) -> None:
    assert message in fixed.check(job(params=params))


def test_a_pinned_revision_reaches_the_download(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    calls: list[dict[str, object]] = []

    def fake_snapshot_download(repo_id: str, **kwargs: object) -> str:
        calls.append(dict(kwargs, repo_id=repo_id))
        return str(tiny_model_dir())

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    assert loading.split_revision("org/m@0123abc") == ("org/m", "0123abc")
    assert loading.split_revision("org/m") == ("org/m", None)
    HiggsBackend(options={"model": "org/higgs-model@0123abc", "device": "cpu"}).load()
    assert calls[0]["repo_id"] == "org/higgs-model" and calls[0]["revision"] == "0123abc"
    calls.clear()
    HiggsBackend(options={"model": "org/other", "revision": "v2", "device": "cpu"}).load()
    assert calls[0]["repo_id"] == "org/other" and calls[0]["revision"] == "v2"
