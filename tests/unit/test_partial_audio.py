"""A take that grows while it renders (studio.render.partial_audio): what the writer appended comes out
of the reader in order, across the buffer growing, with silence (starved) until the end is marked,
and a writer and a reader on two threads give the same audio as a serial copy."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from studio.render.partial_audio import PartialTake


def test_reads_what_was_appended_across_growth_then_ends() -> None:
    take = PartialTake(capacity_s=0.001)  # 24 samples: grows on the first chunks
    chunks = [np.arange(i * 100, (i + 1) * 100, dtype=np.float32) / 1e4 for i in range(5)]
    out = np.zeros((64, 1), np.float32)
    take.append(chunks[0], 24000)
    assert take.read(0, out) == 64 and np.array_equal(out[:, 0], chunks[0][:64])
    assert take.read(100, out) == 0 and not take.ended(100) and take.underruns == 1  # starved, not over
    for chunk in chunks[1:]:
        take.append(chunk, 24000)
    got, pos = [], 0
    while n := take.read(pos, out):
        got.append(out[:n, 0].copy())
        pos += n
    assert np.array_equal(np.concatenate(got), np.concatenate(chunks))
    take.finish()
    assert take.ended(pos) and take.read(pos, out) == 0 and take.underruns == 2
    assert take.seconds() == pytest.approx(500 / 24000)


def test_a_chunk_at_another_rate_is_refused() -> None:
    take = PartialTake()
    take.append(np.zeros(10, np.float32), 24000)
    with pytest.raises(ValueError, match="8000 Hz in a take at 24000 Hz"):
        take.append(np.zeros(10, np.float32), 8000)


def test_a_writer_and_a_reader_thread_give_the_serial_audio() -> None:
    rng = np.random.default_rng(3)
    chunks = [rng.standard_normal(int(n)).astype(np.float32) for n in rng.integers(1, 900, 400)]
    take = PartialTake(capacity_s=0.01)

    def write() -> None:
        for chunk in chunks:
            take.append(chunk, 8000)
        take.finish()

    writer = threading.Thread(target=write)
    out = np.zeros(333, np.float32)
    got, pos = [], 0
    writer.start()
    while not take.ended(pos):
        n = take.read(pos, out)
        got.append(out[:n].copy())
        pos += n
    writer.join()
    assert np.array_equal(np.concatenate(got), np.concatenate(chunks))
