"""Time to first audio over HTTP: ``/v1/audio/speech`` with ``"stream": true`` vs the whole-file answer.

A real ``EngineServer`` on loopback serves a paced fake decoder that makes audio like Higgs does — one
40 ms frame (960 samples at 24 kHz) per step — at ``--speed`` × real time, streaming each frame through
``chunk`` (the same path the Higgs fast path takes; the GPU is not what is measured here, the engine
and HTTP plumbing are). For each line length the table gives, side by side, the time to the first audio
byte and to the last byte, first for the plain request (the baseline: the first byte is the last) and
then streamed as ``pcm`` and ``wav``.

    .venv/bin/python bench/serve_stream.py [--speed 4] [--seconds 2 8 30] [--repeat 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from engine.backends.base import (  # noqa: E402
    Backend,
    CancelledFn,
    Capabilities,
    ChunkFn,
    JobOutcome,
    JobSource,
    ProgressFn,
    RenderResult,
)
from engine.protocol import RenderJob  # noqa: E402
from engine.serve import EngineServer  # noqa: E402

RATE = 24000
FRAME = 960  # 40 ms: one Higgs audio frame


class PacedDecoder(Backend):
    """Makes ``int(text)`` seconds of tone, one frame per step at ``speed`` × real time, streaming."""

    def __init__(self, speed: float) -> None:
        super().__init__(name="paced")
        self.step_s = FRAME / RATE / speed

    def capabilities(self) -> Capabilities:
        return Capabilities(sample_rate=RATE, batch_size=8, continuous=True, streaming=True)

    def render_stream(
        self,
        jobs: Sequence[RenderJob],
        progress: ProgressFn,
        cancelled: CancelledFn,
        *,
        more: JobSource | None = None,
        chunk: ChunkFn | None = None,
    ) -> Iterator[JobOutcome]:
        for job in jobs:
            frames = []
            total = int(float(job.text) * RATE / FRAME)
            for n in range(total):
                time.sleep(self.step_s)
                t = (np.arange(FRAME) + n * FRAME) / RATE
                frame = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
                frames.append(frame)
                if chunk is not None:
                    chunk(job.job_id, frame, RATE)
            yield JobOutcome(job.job_id, result=RenderResult(np.concatenate(frames), RATE))


def timed(server: EngineServer, seconds: float, fmt: str, stream: bool) -> tuple[float, float, int]:
    """(seconds to the first body byte, seconds to the last, bytes) of one request."""
    host, port = server.http.server_address[:2]
    connection = http.client.HTTPConnection(str(host), int(port), timeout=600)
    body = {"input": str(seconds), "response_format": fmt, "stream": stream}
    began = time.perf_counter()
    connection.request(
        "POST", "/v1/audio/speech", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    reply = connection.getresponse()
    first = reply.read1(1 << 20)
    first_s = time.perf_counter() - began
    rest = reply.read()
    total_s = time.perf_counter() - began
    connection.close()
    assert reply.status == 200, first
    return first_s, total_s, len(first) + len(rest)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=4.0, help="decoder speed × real time (default 4)")
    parser.add_argument("--seconds", type=float, nargs="+", default=[2.0, 8.0, 30.0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    server = EngineServer(PacedDecoder(args.speed), "127.0.0.1", 0)
    server.start()
    server.wait_loaded()
    try:
        print(
            f"paced decoder at {args.speed:g}x real time, {FRAME / RATE * 1000:.0f} ms frames; median of {args.repeat}"
        )
        print(
            f"{'line':>6} | {'whole file: first/last byte':>28} | {'stream pcm: first/last':>24} | {'stream wav: first/last':>24}"
        )
        for seconds in args.seconds:
            cells = []
            for fmt, stream in (("wav", False), ("pcm", True), ("wav", True)):
                runs = [timed(server, seconds, fmt, stream) for _ in range(args.repeat)]
                first = statistics.median(r[0] for r in runs)
                last = statistics.median(r[1] for r in runs)
                cells.append(f"{first * 1000:8.1f} ms / {last * 1000:8.1f} ms")
            print(f"{seconds:5g}s | {cells[0]:>28} | {cells[1]:>24} | {cells[2]:>24}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
