"""A take that grows while it renders: the engine's ``chunk`` events in, an audio callback reading out.

:class:`PartialTake` lets a line (an audition) start playing from its first chunk instead of waiting
for the whole take. One writer appends (the engine client's reader thread, through a chunk listener);
one reader copies out (a PortAudio callback) without locks: the writer fills the buffer first and
publishes the new length last, and the reader reads the length first, then the buffer, so it never
sees samples that are not there yet. When the buffer is full the writer copies it into a larger one
and swaps it in before publishing; a reader still holding the old buffer only reads what it had.

``finish`` marks the end (the job's final event came): a reader that catches up with the writer before
then is *starved* (it plays silence and waits), after it the take has *ended*.

Thread contract: ``append`` on one writer thread; ``read``/``written``/``ended`` on any one reader
thread; ``finish`` on any thread. Qt-free; ``read`` allocates no audio buffers.
"""

from __future__ import annotations

import numpy as np

INITIAL_S = 20.0


class PartialTake:
    """See the module docstring. ``sample_rate`` is 0 until the first chunk says it."""

    def __init__(self, capacity_s: float = INITIAL_S, sample_rate: int = 0) -> None:
        self.sample_rate = sample_rate
        self._capacity_s = capacity_s
        self._data = np.zeros(0, np.float32)
        self._written = 0
        self._finished = False
        self.underruns = 0  # reads that found nothing new before the end (for tests and measuring)

    @property
    def written(self) -> int:
        """Samples available so far."""
        return self._written

    @property
    def finished(self) -> bool:
        return self._finished

    def seconds(self) -> float:
        return self._written / self.sample_rate if self.sample_rate else 0.0

    def append(self, samples: np.ndarray, sample_rate: int) -> None:
        """Writer thread: add the next chunk (float32 mono). A chunk at another rate than the first is
        refused with ValueError (one job renders at one rate)."""
        if self.sample_rate == 0:
            self.sample_rate = int(sample_rate)
        elif sample_rate != self.sample_rate:
            raise ValueError(f"a chunk at {sample_rate} Hz in a take at {self.sample_rate} Hz")
        block = np.asarray(samples, np.float32).reshape(-1)
        start = self._written
        end = start + len(block)
        data = self._data
        if end > len(data):
            grown = np.zeros(max(end, 2 * len(data), int(self._capacity_s * self.sample_rate)), np.float32)
            grown[:start] = data[:start]
            self._data = data = grown  # swapped in before the new length is published
        data[start:end] = block
        self._written = end

    def finish(self) -> None:
        """No more chunks will come."""
        self._finished = True

    def ended(self, position: int) -> bool:
        """The reader at ``position`` has played everything and nothing more will come."""
        return self._finished and position >= self._written

    def read(self, position: int, out: np.ndarray) -> int:
        """Reader thread: copy samples from ``position`` into ``out`` (1-D, or the first column of a
        2-D buffer); returns how many (0 = starved or ended)."""
        end = self._written  # the length first, then the buffer (see the module docstring)
        data = self._data
        n = max(0, min(len(out), end - position))
        if n:
            if out.ndim == 2:
                out[:n, 0] = data[position : position + n]
            else:
                out[:n] = data[position : position + n]
        elif not self._finished:
            self.underruns += 1
        return n
