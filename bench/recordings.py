"""Import + transcribe a long recording (Piper speech tiled to --minutes) the way `chorus import-recording`
does (engine process, chunks at quiet points, progress), beside faster-whisper called directly on the file.
Prints wall time and peak memory (this process + the engine's children) for both.

    .venv/bin/python bench/recordings.py --minutes 60
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TEXTS = [
    "Welcome back to the show, where we talk about the little things that make a city work.",
    "The old bridge closed in nineteen ninety eight, and the ferry took forty two minutes to cross.",
    "Keep your voice down, the innkeeper hears everything in this tavern.",
    "Today we are looking at bus timetables, and why nobody can read them.",
]


def make_recording(folder: Path, minutes: float) -> Path:
    from engine.backends.base import render_one
    from engine.backends.piper import PiperBackend
    from engine.protocol import RenderJob

    piper = PiperBackend({"workers": 0})
    piper.load()
    parts = []
    for i, text in enumerate(TEXTS):
        out = render_one(piper, RenderJob(job_id=str(i), text=text, out_path=str(folder / f"{i}.wav")), lambda *a: None, lambda j: False)
        assert out.result is not None
        rate = out.result.sample_rate
        parts += [np.asarray(out.result.audio, np.float32).reshape(-1), np.zeros(int(0.8 * rate), np.float32)]
    piper.close()
    block = np.concatenate(parts)
    reps = int(np.ceil(minutes * 60 * rate / len(block)))
    path = folder / "long.wav"
    with sf.SoundFile(path, "w", rate, 1, subtype="PCM_16") as f:
        for _ in range(reps):
            f.write(block)
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--which", default="both", choices=["both", "chorus", "direct", "_direct"])
    ap.add_argument("--file")
    args = ap.parse_args()
    if args.which == "_direct":  # child: faster-whisper on the file, as the engine's recogniser configures it
        from faster_whisper import WhisperModel

        from engine.asr.models import resolve_model

        model = WhisperModel(str(resolve_model("")), device="cpu", compute_type="int8", cpu_threads=2)
        segments, _ = model.transcribe(args.file, language="en", beam_size=1, word_timestamps=True,
                                       condition_on_previous_text=False, vad_filter=False)
        print(sum(len(s.words or ()) for s in segments))
        return
    with tempfile.TemporaryDirectory() as tmp:
        wav = make_recording(Path(tmp), args.minutes)
        minutes = sf.info(wav).duration / 60
        rows = []
        if args.which in ("both", "chorus"):
            from studio.core.store import ProjectFile
            from studio.recordings.importer import engine_transcriber, import_recording
            from studio.render.client import EngineClient

            pf = ProjectFile.create(Path(tmp) / "bench")
            client = EngineClient("piper", {"workers": 0})
            client.start()
            t0 = time.monotonic()
            result = import_recording(pf, wav, "Host", engine_transcriber(client))
            took = time.monotonic() - t0
            client.shutdown()
            pf.close()
            rows.append(("chorus import-recording (engine, chunked)", took, result.words))
        if args.which in ("both", "direct"):
            t0 = time.monotonic()
            out = subprocess.run([sys.executable, __file__, "--which", "_direct", "--file", str(wav)],
                                 capture_output=True, text=True, check=True)
            rows.append(("faster-whisper directly on the file", time.monotonic() - t0, int(out.stdout.split()[-1])))
        self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"recording: {minutes:.1f} min of Piper speech, whisper tiny.en int8 on CPU")
        print(f"{'path':<44} {'wall s':>8} {'x realtime':>10} {'words':>7}")
        for name, took, words in rows:
            print(f"{name:<44} {took:>8.1f} {minutes * 60 / took:>10.1f} {words:>7}")
        print(f"peak RSS: bench process {self_mb:.0f} MB, largest child (engine / direct) {child_mb:.0f} MB")


if __name__ == "__main__":
    main()
