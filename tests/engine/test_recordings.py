"""Recorded tracks end to end on real speech: two speakers' Piper recordings imported (transcribed by the
bundled Whisper), a word cut at its word timings, a patch rendered by the tiny Higgs model, undo."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.audio.mixer import Mixdown
from studio.core.store import ProjectFile
from studio.recordings.audio import RecordingError, loudness_lufs
from studio.recordings.edit import XFADE_S, check_cloning, cut_words, patch_words
from studio.recordings.importer import SPAN, import_recording
from studio.recordings.segment import Word
from tests.conftest import QA_SENTENCES

RATE = 48000


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower().replace("-", " "))


def _wer(ref: str, hyp: str) -> float:
    r, h = _words(ref), _words(hyp)
    d = np.arange(len(h) + 1)
    for i in range(1, len(r) + 1):
        prev, d[0] = d.copy(), i
        for j in range(1, len(h) + 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r[i - 1] != h[j - 1]))
    return float(d[len(h)]) / max(1, len(r))


@pytest.fixture(scope="module")
def recorded(piper_takes, whisper, tmp_path_factory):
    """A project with two speakers' recordings (own files: speech, pauses, the other's turns silent)."""
    folder = tmp_path_factory.mktemp("recordings")
    takes = {name: sf.read(path, dtype="float32") for name, path in piper_takes.items()}
    rate = takes["welcome"][1]
    rng = np.random.default_rng(1)
    gap = lambda s: (rng.standard_normal(int(s * rate)) * 1e-4).astype(np.float32)  # noqa: E731
    a, b = takes["welcome"][0], takes["tavern"][0]
    c = takes["bridge"][0]
    # Alice: welcome … (Bob talks) … bridge.  Bob: … tavern …
    alice = np.concatenate([gap(0.5), a, gap(1.0 + len(b) / rate + 1.0), c, gap(0.5)])
    bob = np.concatenate([gap(0.5 + len(a) / rate + 1.0), b, gap(1.0 + len(c) / rate + 0.5)])
    sf.write(folder / "alice.wav", alice, rate, subtype="PCM_16")
    sf.write(folder / "bob.wav", bob, rate, subtype="PCM_16")

    def transcribe(path: str) -> list[Word]:
        t = whisper.transcribe(path, "en")
        return [Word(w.word, w.start, w.end, w.probability) for w in t.words]

    pf = ProjectFile.create(folder / "show")
    progress: list[float] = []
    ra = import_recording(pf, folder / "alice.wav", "Alice", transcribe, progress=progress.append, chunk_s=8.0)
    rb = import_recording(pf, folder / "bob.wav", "Bob", transcribe)
    yield pf, ra, rb, progress, folder
    pf.close()


def _bare(word: str) -> str:
    return word.strip(",.?!;:").lower()


def _middle_word(line) -> int:
    """A word in the middle of a recorded line that occurs once in it, with a word after it."""
    live = [w[1] != "-" and w[4] >= 0 for w in line.words]
    bare = [_bare(w[0]) if ok else "" for w, ok in zip(line.words, live, strict=True)]
    middle = len(line.words) // 2
    for k in sorted(range(2, len(line.words) - 2), key=lambda i: abs(i - middle)):
        if len(bare[k]) > 3 and bare.count(bare[k]) == 1 and bare[k + 1]:
            return k
    raise AssertionError(f"no usable word in {line.text!r}")


def _mix(pf) -> np.ndarray:
    mix = Mixdown(pf.project, pf.media_path, channels=1, sample_rate=RATE)
    try:
        return np.concatenate(list(mix))[:, 0] if mix.length else np.zeros(0)
    finally:
        mix.close()


def test_import_gives_recorded_lines_whose_transcripts_match(recorded) -> None:
    pf, ra, rb, progress, _ = recorded
    project = pf.project
    assert progress[-1] == 1.0 and len(progress) > 1  # chunked, with progress
    texts = {lid: project.lines[lid].text for lid in (*ra.line_ids, *rb.line_ids)}
    assert len(ra.line_ids) == 2 and len(rb.line_ids) == 1
    wers = [
        _wer(QA_SENTENCES["welcome"], texts[ra.line_ids[0]]),
        _wer(QA_SENTENCES["bridge"], texts[ra.line_ids[1]]),
        _wer(QA_SENTENCES["tavern"], texts[rb.line_ids[0]]),
    ]
    print("import WER per line", wers, texts)
    assert max(wers) <= 0.35 and sum(wers) / 3 <= 0.2
    # script order follows time: Alice, Bob, Alice; speaker from the track; clips at their original times
    assert [project.lines[i].speaker_id for i in project.line_order] == [ra.speaker_id, rb.speaker_id, ra.speaker_id]
    for lid in ra.line_ids:
        (clip,) = [c for c in project.clips.values() if c.line_id == lid]
        assert clip.track_id == ra.track_id and clip.start == project.lines[lid].words[0][2]
    rec = project.recordings[ra.recording_id]
    assert 5.0 <= rec.ref_out - rec.ref_in <= 15.2 or rec.ref_out - rec.ref_in == pytest.approx(rec.duration, abs=0.2)


def test_cut_removes_exactly_the_word_span_and_undo_is_bit_identical(recorded) -> None:
    pf, ra, _rb, _p, _ = recorded
    project = pf.project
    line_id = ra.line_ids[0]
    before = _mix(pf)
    line = project.lines[line_id]
    k = _middle_word(line)  # what Whisper heard varies a little between runs: pick from what it heard
    target = _bare(line.words[k][0])
    word, nxt = line.words[k], line.words[k + 1]
    inverse = project.apply(cut_words(project, line_id, target, pf.media_path))
    line = project.lines[line_id]
    assert target not in [_bare(w) for w in line.text.split()] and line.words[k][1] == "-"
    clips = sorted((c for c in project.clips.values() if c.line_id == line_id), key=lambda c: c.start)
    first, second = clips[0], clips[1]
    assert abs(first.source_out - word[2]) < 0.005 and abs(second.source_in - nxt[2]) < 0.005
    removed = second.source_in - first.source_out
    assert removed == pytest.approx(nxt[2] - word[2], abs=0.01)
    after = _mix(pf)
    # before the join: unchanged; after it: the original, shifted by exactly the removed span
    join = int(round(first.end * RATE))
    x = int(XFADE_S * RATE) + 48
    assert np.allclose(after[: join - x], before[: join - x], atol=1e-6)
    shift = int(round((second.source_in - second.start) * RATE)) - int(round((first.source_in - first.start) * RATE))
    seg = slice(join + x, join + x + RATE // 2)
    # (the shift is rounded to whole samples on both sides, so allow one sample either way)
    assert any(
        np.allclose(after[seg], before[seg.start + shift + d : seg.stop + shift + d], atol=2e-3) for d in (-1, 0, 1)
    )
    # no discontinuity at the join above what the speech itself has
    jump = np.max(np.abs(np.diff(after[join - x : join + x])))
    typical = np.percentile(np.abs(np.diff(before[: join])), 99.9)
    print(f"join jump {jump:.4f} vs speech 99.9th pct {typical:.4f}")
    assert jump <= typical
    project.apply(inverse)
    assert project.lines[line_id] == project.lines[line_id] and "little" in project.lines[line_id].text.lower()
    assert np.array_equal(_mix(pf), before)


def test_patch_with_the_tiny_higgs_model_lands_in_place_matched_in_loudness(recorded) -> None:
    from engine.backends.base import render_one
    from engine.takefile import write_take
    from tests.engine.higgs_tiny import backend

    pf, ra, _rb, _p, _ = recorded
    project = pf.project
    line_id = ra.line_ids[0]
    before_line = project.lines[line_id]
    before = _mix(pf)
    with pytest.raises(RecordingError, match="needs a cloning backend"):
        check_cloning("piper")
    higgs = backend()

    def render(job) -> str:
        outcome = render_one(higgs, job, lambda *a: None, lambda j: False)
        assert outcome.result is not None, outcome.error
        return str(write_take(Path(job.out_path), outcome.result.audio, outcome.result.sample_rate))

    k = _middle_word(before_line)
    phrase = f"{_bare(before_line.words[k][0])} {_bare(before_line.words[k + 1][0])}"
    batch, media = patch_words(pf, line_id, phrase, "small details", render, backend="higgs")
    inverse = project.apply(batch)
    line = project.lines[line_id]
    assert "small details" in line.text and phrase not in " ".join(_bare(w) for w in line.text.split())
    (patch,) = [c for c in project.clips.values() if c.line_id == line_id and c.media == media]
    assert patch.start == pytest.approx(before_line.words[k][2] - XFADE_S, abs=0.006)  # where the words began
    mix = _mix(pf)
    a, b = int(patch.start * RATE), int(patch.end * RATE)

    def lufs(x: np.ndarray) -> float:  # BS.1770 loudness; K-weighted mean square under one 400 ms block
        return loudness_lufs(x.astype(np.float32), RATE)

    around = np.concatenate([mix[max(0, a - 3 * RATE) : a], mix[b : b + 3 * RATE]])
    difference = lufs(mix[a:b]) - lufs(around)
    print(f"patch {patch.duration:.2f} s, loudness vs neighbours {difference:+.2f} LU")
    # Unmatched, the tiny random model's patch sits ~29 LU under its neighbours; matched, within 1.5 LU
    # (the tiny model's noise-like audio and the crossfades move the measurement by about 1 LU).
    assert abs(difference) <= 1.5
    project.apply(inverse)
    assert project.lines[line_id] == before_line
    assert np.array_equal(_mix(pf), before)


def test_bad_input_is_one_line(recorded, tmp_path: Path) -> None:
    pf, ra, *_ = recorded
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF garbage")
    with pytest.raises(RecordingError, match="bad.wav"):
        import_recording(pf, bad, "Alice", lambda p: [])
    with pytest.raises(RecordingError, match="no words matched"):
        cut_words(pf.project, ra.line_ids[0], "zebra crossing", pf.media_path)
    with pytest.raises(RecordingError, match="no line with id"):
        cut_words(pf.project, "nope", "the", pf.media_path)
    assert pf.project.lines[ra.line_ids[0]].words[0][4] == SPAN
