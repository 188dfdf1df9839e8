"""Take-check cost: seconds of QA per minute of audio, beside Piper's render time for the same audio.

Renders the demo podcast (15 lines, ~70 s of speech) through ``chorus render`` twice on copies of the
project, as a user would: once with take checks off (the baseline: Piper alone) and once with checks
on (the same render, plus every take transcribed by the bundled Whisper tiny.en in the engine and
scored in the studio). Both runs use the default Piper pool. The difference is what checking adds.
A second table times the parts in-process: Piper rendering (``workers=0``) vs transcription + scoring.

    .venv/bin/python bench/qa.py [--rounds 1]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from studio.core.store import ProjectFile  # noqa: E402
from studio.render.run import render_lines  # noqa: E402

DEMO = HERE.parent / "projects" / "podcast.chorus"


def end_to_end(check: bool, scratch: Path) -> tuple[float, float, int]:
    """(wall seconds, audio seconds, takes checked) of one full render of a fresh demo copy."""
    target = scratch / f"demo-{'check' if check else 'plain'}-{time.monotonic_ns()}.chorus"
    shutil.copytree(DEMO, target)
    pf = ProjectFile.open(target)
    try:
        start = time.perf_counter()
        outcome = render_lines(pf, check=check, retries=0)
        return time.perf_counter() - start, outcome.audio_seconds, outcome.checked
    finally:
        pf.close()


def in_process(scratch: Path) -> tuple[float, float, float, float]:
    """(audio s, Piper render s, transcribe s, scoring s) for the demo lines, all in this process."""
    import soundfile

    from engine.asr.recognizer import Recognizer
    from engine.asr.text import expected_speech, heard_speech
    from engine.backends.base import render_one
    from engine.backends.piper import PiperBackend
    from engine.protocol import RenderJob
    from engine.takefile import write_take
    from studio.qa.scores import TakeScores, judge, thresholds
    from studio.qa.signal import measure
    from studio.qa.words import char_error_rate, compare

    pf = ProjectFile.open(DEMO)
    texts = [line.text for line in pf.project.ordered_lines()]
    pf.close()
    piper = PiperBackend({"workers": 0})
    piper.load()
    recognizer = Recognizer()
    recognizer.load()
    paths, audio_s = [], 0.0
    start = time.perf_counter()
    for i, text in enumerate(texts):
        out = scratch / f"line{i}.wav"
        result = render_one(piper, RenderJob(job_id=str(i), text=text, out_path=str(out)), lambda *a: None, lambda j: False).result
        assert result is not None
        write_take(out, result.audio, result.sample_rate)
        audio_s += len(result.audio) / result.sample_rate
        paths.append(out)
    render_s = time.perf_counter() - start
    piper.close()
    start = time.perf_counter()
    transcripts = recognizer.transcribe_packed([str(p) for p in paths], "en")  # as the engine does
    asr_s = time.perf_counter() - start
    start = time.perf_counter()
    for path, text, transcript in zip(paths, texts, transcripts, strict=True):
        assert not isinstance(transcript, Exception)
        audio, rate = soundfile.read(path, dtype="float32")
        signal = measure(audio, rate)
        expected, heard = expected_speech(text, "en"), heard_speech(transcript.text)
        diff = compare(expected, heard)
        judge(TakeScores(wer=diff.wer, cer=char_error_rate(expected, heard), level_dbfs=signal.level_dbfs), thresholds())
    score_s = time.perf_counter() - start
    return audio_s, render_s, asr_s, score_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chorus-bench-qa-") as tmp:
        scratch = Path(tmp)
        plain, checked = [], []
        for _ in range(args.rounds):  # interleaved, so other load on the machine hits both alike
            plain.append(end_to_end(False, scratch))
            checked.append(end_to_end(True, scratch))
        p_wall = min(r[0] for r in plain)
        c_wall = min(r[0] for r in checked)
        audio = plain[0][1]
        per_min = 60.0 / audio
        print(f"End to end (chorus render of the demo podcast, {audio:.1f} s of audio, best of {args.rounds}):")
        print(f"  {'configuration':<34} {'wall s':>7} {'s per audio min':>16}")
        print(f"  {'Piper render, checks off (baseline)':<34} {p_wall:>7.1f} {p_wall * per_min:>16.1f}")
        print(f"  {'Piper render + take checks':<34} {c_wall:>7.1f} {c_wall * per_min:>16.1f}")
        print(f"  checks add {c_wall - p_wall:+.1f} s = {(c_wall - p_wall) * per_min:+.1f} s per audio minute "
              f"({(c_wall / p_wall - 1) * 100:+.0f} % of the render); {checked[0][2]} takes checked")
        audio_s, render_s, asr_s, score_s = in_process(scratch)
        per_min = 60.0 / audio_s
        print(f"\nIn process, one at a time ({audio_s:.1f} s of audio):")
        print(f"  {'part':<34} {'s':>7} {'s per audio min':>16}")
        print(f"  {'Piper render, workers=0 (baseline)':<34} {render_s:>7.1f} {render_s * per_min:>16.1f}")
        print(f"  {'Whisper tiny.en, takes packed':<34} {asr_s:>7.1f} {asr_s * per_min:>16.1f}")
        print(f"  {'scoring (signal + words)':<34} {score_s:>7.2f} {score_s * per_min:>16.2f}")
        print(f"  QA = {(asr_s + score_s) / render_s * 100:.0f} % of the Piper render time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
