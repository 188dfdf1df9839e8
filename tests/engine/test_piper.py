"""The Piper backend renders real speech with the bundled voice (in-process and with a worker pool)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fakes import never, no_progress

from engine.backends.base import JobOutcome, render_one
from engine.backends.piper import PiperBackend
from engine.backends.piper_variants import pitch_shift, shift_voice, time_stretch, variant_params
from engine.protocol import RenderJob, VoiceSpec

SR = 22050


def f0_track(audio: np.ndarray, sample_rate: int, fmin: float = 60.0, fmax: float = 400.0) -> np.ndarray:
    """YIN f0 every 10 ms (NaN where unvoiced or quiet) — robust against octave errors."""
    x = np.asarray(audio, dtype=np.float64)
    win, hop = int(0.05 * sample_rate), int(0.01 * sample_rate)
    tmin, tmax = int(sample_rate / fmax), int(sample_rate / fmin)
    overall = float(np.sqrt(np.mean(x**2)))
    nfft = 1 << int(np.ceil(np.log2(2 * (win + tmax))))
    lags = np.arange(tmax + 1)
    track = []
    for start in range(0, len(x) - win - tmax, hop):
        frame = x[start : start + win + tmax]
        if np.sqrt(np.mean(frame[:win] ** 2)) < 0.3 * overall:
            track.append(np.nan)
            continue
        acf = np.fft.irfft(np.fft.rfft(frame, nfft) * np.conj(np.fft.rfft(frame[:win], nfft)), nfft)[
            : tmax + 1
        ]
        energy = np.concatenate([[0.0], np.cumsum(frame**2)])
        diff = energy[win] + (energy[lags + win] - energy[lags]) - 2 * acf
        cmnd = np.ones_like(diff)
        cmnd[1:] = diff[1:] * lags[1:] / np.maximum(np.cumsum(diff[1:]), 1e-12)
        dips = [t for t in range(tmin, tmax) if cmnd[t] < 0.15 and cmnd[t] <= cmnd[t + 1]]
        if not dips:
            track.append(np.nan)
            continue
        tau = dips[0]
        a, b, c = cmnd[tau - 1], cmnd[tau], cmnd[tau + 1]
        shift = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c > 1e-12 else 0.0
        track.append(sample_rate / (tau + shift))
    return np.array(track)


def median_f0(audio: np.ndarray, sample_rate: int) -> float:
    track = f0_track(audio, sample_rate)
    return float(np.nanmedian(track))


def job(job_id: str, text: str, **voice: object) -> RenderJob:
    return RenderJob(job_id=job_id, text=text, out_path=f"/tmp/{job_id}.wav", speakers=(VoiceSpec(**voice),))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def backend() -> Iterator[PiperBackend]:
    """In-process backend; noise_w=0 and noise_scale=0 make every render the same audio, so variants compare."""
    piper = PiperBackend({"workers": 0, "noise_w": 0.0, "noise_scale": 0.0})
    piper.load()
    yield piper
    piper.close()


def render(backend: PiperBackend, render_job: RenderJob) -> JobOutcome:
    return render_one(backend, render_job, no_progress, never)


SENTENCE = "Welcome back to the show, where we talk about the little things that make a city work."


def test_renders_plausible_speech(backend: PiperBackend) -> None:
    outcome = render(backend, job("a", SENTENCE))
    assert outcome.error == "" and outcome.result is not None
    audio, rate = outcome.result.audio, outcome.result.sample_rate
    assert rate == SR == backend.capabilities().sample_rate
    assert audio.dtype == np.float32 and audio.ndim == 1
    words = len(SENTENCE.split())
    assert 0.2 * words <= len(audio) / rate <= 0.8 * words  # the bundled voice speaks ~4 words/s
    assert float(np.sqrt(np.mean(audio**2))) > 0.03  # not silent
    assert float(np.max(np.abs(audio))) <= 1.0
    assert 70 < median_f0(audio, rate) < 200  # a male voice, voiced


def test_variants_differ_in_pitch_and_keep_duration(backend: PiperBackend) -> None:
    renders = {}
    for variant in (0, 1, 2):
        outcome = render(backend, job(f"v{variant}", SENTENCE, variant=variant))
        assert outcome.result is not None
        renders[variant] = outcome.result.audio
    f0 = {v: median_f0(a, SR) for v, a in renders.items()}
    assert f0[1] < 0.93 * f0[0]  # variant 1 ~3 semitones lower
    assert f0[2] > 1.07 * f0[0]  # variant 2 ~3 semitones higher
    for variant in (1, 2):
        ratio = len(renders[variant]) / len(renders[0])
        assert abs(ratio - 1.0) < 0.08  # only the small rate change of the variant, no tape effect


def test_pitch_shift_keeps_length_and_moves_f0(backend: PiperBackend) -> None:
    outcome = render(backend, job("p", SENTENCE))
    assert outcome.result is not None
    audio = outcome.result.audio
    base = f0_track(audio, SR)
    for semitones in (-3.0, 4.0):
        shifted = pitch_shift(audio, SR, semitones)
        assert len(shifted) == len(audio)
        ratio = f0_track(shifted, SR) / base
        ratio = ratio[np.isfinite(ratio)]
        assert len(ratio) > 10
        assert float(np.median(ratio)) == pytest.approx(2 ** (semitones / 12), rel=0.03)
    stretched = time_stretch(audio, 1.25, SR)
    assert len(stretched) == round(len(audio) * 1.25)
    assert float(np.nanmedian(f0_track(stretched, SR))) == pytest.approx(float(np.nanmedian(base)), rel=0.05)


def test_variant_params_are_stable_and_distinct() -> None:
    for style in (1, 2):
        assert variant_params(0, style).semitones == 0.0 and variant_params(0, style).length_scale == 1.0
        assert variant_params(1, style).semitones < 0 < variant_params(2, style).semitones
        first = [variant_params(v, style) for v in range(8)]
        assert len({(p.semitones, p.formant_semitones) for p in first}) == 8
        assert variant_params(9, style) == variant_params(9, style)
        assert variant_params(9, style) != variant_params(1, style)
        assert variant_params(-2, style) == variant_params(2, style)
    # style 1 is the first recipe, unchanged: old projects' variants stay what they were
    assert [(p.semitones, p.length_scale) for p in (variant_params(v, 1) for v in range(8))] == [
        (0.0, 1.0),
        (-3.0, 1.06),
        (3.0, 0.96),
        (-5.0, 1.0),
        (5.0, 1.03),
        (-1.5, 0.93),
        (1.5, 1.09),
        (-7.0, 1.04),
    ]
    assert all(variant_params(v, 1).formant_semitones is None for v in range(8))
    with pytest.raises(ValueError, match="unknown Piper variant style 9"):
        variant_params(1, 9)


def spectral_centroid(audio: np.ndarray, sample_rate: int) -> float:
    spec = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float((spec * np.fft.rfftfreq(len(audio), 1 / sample_rate)).sum() / spec.sum())


def test_formants_move_apart_from_the_pitch(backend: PiperBackend) -> None:
    outcome = render(backend, job("f", SENTENCE))
    assert outcome.result is not None
    audio = outcome.result.audio
    f0, centroid = median_f0(audio, SR), spectral_centroid(audio, SR)
    formants_only = shift_voice(audio, SR, 0.0, 3.0)  # same pitch, a smaller speaker
    assert len(formants_only) == len(audio)
    assert median_f0(formants_only, SR) == pytest.approx(f0, rel=0.08)  # (the f0 estimate wavers when formants move; 4 semitones is 26 %)
    assert spectral_centroid(formants_only, SR) > 1.08 * centroid
    pitch_only = shift_voice(audio, SR, 4.0, 0.0)  # higher voice, same size
    assert median_f0(pitch_only, SR) == pytest.approx(f0 * 2 ** (4 / 12), rel=0.08)
    assert spectral_centroid(pitch_only, SR) == pytest.approx(centroid, rel=0.08)


def test_missing_voice_file_fails_with_clear_reason(backend: PiperBackend, tmp_path: Path) -> None:
    missing = tmp_path / "nobody.onnx"
    outcome = render(backend, job("m", "Hello.", piper_model=str(missing)))
    assert outcome.result is None
    assert str(missing) in outcome.error and "does not exist" in outcome.error


def test_corrupt_voice_file_fails_with_clear_reason(backend: PiperBackend, tmp_path: Path) -> None:
    from engine.backends.piper_synth import bundled_voice

    model = tmp_path / "broken.onnx"
    model.write_bytes(b"this is not an onnx model")
    (tmp_path / "broken.onnx.json").write_text(bundled_voice()[1].read_text())
    outcome = render(backend, job("c", "Hello.", piper_model=str(model)))
    assert outcome.result is None
    assert "cannot be loaded" in outcome.error and "broken.onnx" in outcome.error
    # a voice without its settings file
    lonely = tmp_path / "lonely.onnx"
    lonely.write_bytes(b"x")
    outcome = render(backend, job("l", "Hello.", piper_model=str(lonely)))
    assert "lonely.onnx.json" in outcome.error


def test_bad_voice_settings_file(backend: PiperBackend, tmp_path: Path) -> None:
    model = tmp_path / "odd.onnx"
    model.write_bytes(b"x")
    (tmp_path / "odd.onnx.json").write_text(json.dumps({"audio": {}}))
    outcome = render(backend, job("o", "Hello.", piper_model=str(model)))
    assert "cannot be read" in outcome.error


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "no text"),
        ("   ", "no text"),
        ("... !!! ?", "nothing to speak"),
        ("*** @#%", "nothing to speak"),
        ("[laugh]", "nothing to speak"),
    ],
)
def test_unspeakable_text_fails_the_job(backend: PiperBackend, text: str, expected: str) -> None:
    outcome = render(backend, job("u", text))
    assert outcome.result is None and expected in outcome.error


def test_tags_are_not_spoken(backend: PiperBackend) -> None:
    outcome = render(backend, job("t", "Well [laugh] okay."))
    assert outcome.result is not None and "[laugh]" in outcome.result.note


@pytest.mark.parametrize("kind", ["clip", "profile", "smart"])
def test_cloning_profiles_and_smart_voices_are_refused(backend: PiperBackend, kind: str) -> None:
    reason = backend.check(job("k", "Hello.", kind=kind))
    assert reason and "piper backend" in reason and kind in reason
    caps = backend.capabilities()
    assert not (caps.voice_cloning or caps.text_profiles or caps.smart_voice) and caps.tags == ()


LONG = " ".join(f"This is sentence number {n} of a long line." for n in range(1, 9))


def test_cancel_between_sentences_in_process(backend: PiperBackend) -> None:
    seen: list[float] = []

    def progress(job_id: str, fraction: float) -> None:
        seen.append(fraction)

    outcome = render_one(backend, job("x", LONG), progress, lambda job_id: any(f > 0 for f in seen))
    assert outcome.cancelled and outcome.result is None
    assert [f for f in seen if f > 0] == [pytest.approx(1 / 8)]  # stopped after the first sentence


def test_pool_renders_and_cancels_between_sentences(tmp_path: Path) -> None:
    piper = PiperBackend({"workers": 1})
    try:
        piper.load()
        assert piper.capabilities().concurrency == 1
        seen: dict[str, list[float]] = {}

        def progress(job_id: str, fraction: float) -> None:
            seen.setdefault(job_id, []).append(fraction)

        def cancelled(job_id: str) -> bool:
            return job_id == "long" and any(f > 0 for f in seen.get("long", []))

        jobs = [job("long", LONG), job("bad", "...", variant=1), job("short", "Short and sweet.", variant=2)]
        outcomes = {o.job_id: o for o in piper.render_stream(jobs, progress, cancelled)}
        assert outcomes["long"].cancelled
        assert max(seen["long"]) < 1.0  # the remaining sentences were never synthesised
        assert "nothing to speak" in outcomes["bad"].error
        short = outcomes["short"].result
        assert short is not None and len(short.audio) / short.sample_rate > 0.5
        assert seen["short"][0] == 0.0  # a job reports its start
    finally:
        piper.close()


def test_pool_replaces_a_worker_that_died_while_idle() -> None:
    """A worker killed between jobs is replaced; the next job renders instead of spinning forever."""
    piper = PiperBackend({"workers": 1})
    try:
        piper.load()
        assert piper._pool is not None
        dead = piper._pool._workers[0].process
        dead.kill()
        dead.join(10)
        outcomes = list(piper.render_stream([job("a", "Hello there.")], no_progress, never))
        assert [o.job_id for o in outcomes] == ["a"]
        assert outcomes[0].result is not None and not outcomes[0].error
        assert piper._pool._workers[0].process.pid != dead.pid
    finally:
        piper.close()
