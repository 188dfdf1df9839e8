"""The Higgs fast path (slots, continuous batching, streaming) on the tiny random checkpoint, on CPU.

The fast path must give the same take as the plain ``generate()`` path for the same seed, whatever
lines share its batch, and keep every backend promise (cancel, bad lines, long lines in chunks).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from higgs_tiny import FRAMES, backend, job, never, no_progress, write_clip

from engine.backends.higgs import HiggsBackend
from engine.protocol import ContextTurn, GenerationParams, VoiceSpec

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def higgs() -> HiggsBackend:
    return backend(chunk_words=6)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_clip(tmp_path_factory.mktemp("clips") / "ref.wav", seconds=0.8)


def assorted(clip: str) -> list:
    cloned = (VoiceSpec(kind="clip", ref_audio=clip, transcript="A short tone."),)
    return [
        job("Hello there, how are you?", job_id="smart", seed=3),
        job("A cloned voice says this.", job_id="clone", seed=5, speakers=cloned),
        job("Greedy and plain.", job_id="greedy", params=GenerationParams(temperature=0.0, seed=1)),
        job("[humming start] la la la [humming end]", job_id="hum", kind="humming", seed=9),
        job(
            "A long line that the backend cuts into chunks of six words, each prompted with the audio before.",
            job_id="long",
            seed=11,
        ),
        job(
            "Continuing the scene.",
            job_id="scene",
            seed=2,
            context=(ContextTurn(text="An earlier line.", audio=clip),),
        ),
    ]


def test_the_fast_path_gives_the_plain_paths_takes_for_the_same_seeds(higgs: HiggsBackend, clip: str) -> None:
    jobs = assorted(clip)
    plain = {j.job_id: higgs.render(j, no_progress, never) for j in jobs}
    fast = {o.job_id: o for o in higgs.render_stream(jobs, no_progress, never)}
    assert set(fast) == set(plain)
    for j in jobs:
        result = fast[j.job_id].result
        assert result is not None, fast[j.job_id].error
        assert result.codes.shape == plain[j.job_id].codes.shape, j.job_id
        assert np.array_equal(result.codes, plain[j.job_id].codes), j.job_id
        assert np.array_equal(result.audio, plain[j.job_id].audio), j.job_id
    assert len(higgs.render_stream.__doc__ or "") > 0
    assert "CUDA graphs off: no CUDA device" in higgs.fast_path_status()


def test_a_take_does_not_depend_on_the_lines_beside_it(higgs: HiggsBackend, clip: str) -> None:
    alone = next(iter(higgs.render_stream([job("Only me.", job_id="me", seed=21)], no_progress, never)))
    crowd = [job(f"Neighbour number {i}.", job_id=f"n{i}", seed=i) for i in range(5)]
    crowd.insert(2, job("Only me.", job_id="me", seed=21))
    together = {o.job_id: o for o in higgs.render_stream(crowd, no_progress, never)}
    assert alone.result is not None and together["me"].result is not None
    assert np.array_equal(alone.result.codes, together["me"].result.codes)
    other_seed = next(iter(higgs.render_stream([job("Only me.", job_id="me", seed=22)], no_progress, never)))
    assert other_seed.result is not None
    assert not np.array_equal(other_seed.result.codes, alone.result.codes)


def test_jobs_from_the_queue_join_the_running_batch() -> None:
    higgs = backend(max_slots=2, fixed_frames=FRAMES)
    queued = [job(f"Queued line {i}.", job_id=f"q{i}", seed=i) for i in range(4)]
    asked: list[int] = []

    def more(places: int) -> list:
        asked.append(places)
        taken = queued[:places]
        del queued[:places]
        return taken

    outcomes = list(higgs.render_stream([job("First.", job_id="first")], no_progress, never, more=more))
    assert sorted(o.job_id for o in outcomes) == ["first", "q0", "q1", "q2", "q3"]
    assert all(o.result is not None and o.result.codes.shape == (FRAMES, 8) for o in outcomes)
    assert asked and not queued
    assert higgs.capabilities().continuous and higgs.capabilities().streaming


def test_partial_audio_streams_before_the_take_is_done_and_joins_into_the_take() -> None:
    higgs = backend(fixed_frames=90, trim_silence=False)
    events: list[tuple[str, int]] = []
    pieces: list[np.ndarray] = []

    def chunk(job_id: str, samples: np.ndarray, rate: int) -> None:
        assert rate == 24000 and samples.dtype == np.float32
        events.append(("chunk", len(samples)))
        pieces.append(samples)

    outcomes = []
    jobs = [job("Stream me.", job_id="s", stream=True), job("Not me.", job_id="quiet")]
    for outcome in higgs.render_stream(jobs, no_progress, never, chunk=chunk):
        events.append(("done", 0))
        outcomes.append(outcome)
    [streamed] = [o for o in outcomes if o.job_id == "s"]
    assert streamed.result is not None
    audio = streamed.result.audio
    assert [e for e, _ in events].index("chunk") < [e for e, _ in events].index("done")
    assert len(joined := np.concatenate(pieces)) == len(audio)  # nothing of the quiet job's audio
    assert sum(1 for e, _ in events if e == "chunk") >= 3  # about one a second of audio, and the rest
    # Each piece came from decoding the codes made so far; the codec's edge was held back, so the
    # joined pieces are the take up to rounding at the seams.
    assert float(np.max(np.abs(joined - audio))) < 0.05 * max(1e-6, float(np.max(np.abs(audio))))


def test_a_cancel_mid_batch_stops_that_line_only() -> None:
    higgs = backend(fixed_frames=60)
    calls = {"n": 0}

    def cancelled(job_id: str) -> bool:
        calls["n"] += 1
        return job_id == "stop" and calls["n"] > 6

    jobs = [job("Keep going.", job_id="keep"), job("Stop me.", job_id="stop")]
    outcomes = {o.job_id: o for o in higgs.render_stream(jobs, no_progress, cancelled)}
    assert outcomes["stop"].cancelled and outcomes["stop"].result is None
    assert outcomes["keep"].result is not None and outcomes["keep"].result.codes.shape == (60, 8)


def test_bad_lines_fail_alone_and_progress_climbs_to_one(higgs: HiggsBackend, tmp_path: Path) -> None:
    missing = (VoiceSpec(kind="clip", ref_audio=str(tmp_path / "gone.wav"), transcript="x"),)
    jobs = [
        job("", job_id="empty"),
        job("A fine line.", job_id="fine"),
        job("Cloned from nothing.", job_id="missing", speakers=missing),
    ]
    seen: dict[str, list[float]] = {}
    outcomes = {
        o.job_id: o for o in higgs.render_stream(jobs, lambda j, f: seen.setdefault(j, []).append(f), never)
    }
    assert "no text" in outcomes["empty"].error
    assert "not found" in outcomes["missing"].error
    assert outcomes["fine"].result is not None
    assert seen["fine"] == sorted(seen["fine"]) and seen["fine"][-1] == 1.0


def test_fast_off_renders_through_generate() -> None:
    higgs = backend(fast="off", fixed_frames=FRAMES)
    assert not higgs.capabilities().continuous
    assert "off" in higgs.fast_path_status()
    [outcome] = list(higgs.render_stream([job(job_id="p")], no_progress, never))
    assert outcome.result is not None and higgs.last_stats["rows"] == 1


def test_a_step_that_cannot_be_compiled_falls_back_and_says_why() -> None:
    from engine.higgs.continuous import ContinuousRender
    from engine.higgs.slots import HiggsSlots

    higgs = backend(fixed_frames=FRAMES)
    reference = {o.job_id: o for o in higgs.render_stream([job(job_id="r", seed=4)], no_progress, never)}
    slots = HiggsSlots(higgs._model, max_slots=2)

    def broken() -> None:
        raise RuntimeError("inductor: no C++ compiler")

    slots._run_step = broken  # what a failed torch.compile does at its first call
    slots.graph_reason += "; step compiled"
    [outcome] = list(ContinuousRender(higgs, slots).run([job(job_id="r", seed=4)], no_progress, never))
    assert "compiling the step failed (RuntimeError)" in slots.graph_reason
    assert outcome.result is not None and np.array_equal(outcome.result.codes, reference["r"].result.codes)


def test_the_engine_status_says_how_higgs_renders(tmp_path: Path) -> None:
    """Through the real engine host: the status names the fast path and why CUDA graphs are off here."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_host import HostHarness, final, rjob

    h = HostHarness(backend(fixed_frames=FRAMES))
    try:
        h.submit(rjob(tmp_path, "a", "A line through the host.", speakers=(VoiceSpec(kind="smart"),)))
        assert h.until(final("a"))[-1]["type"] == "finished"
        h.send("status")
        status = h.until(lambda e: e["type"] == "engine_status")[-1]
        assert status["model_loaded"] is True
        assert "fast path on; CUDA graphs off: no CUDA device" in status["detail"]
        assert "memory plan: weights" in status["detail"]
    finally:
        h.close()
