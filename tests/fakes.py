"""Stand-ins that several test modules share (Qt-free): one definition each, imported as ``fakes``.

* :func:`no_progress` and :func:`never` — the host's progress and cancel callbacks, for tests that call
  a backend directly (``render_one(backend, job, no_progress, never)``);
* :class:`CallbackStream` — a sound-card stream that does not run by itself: the test drives its
  callback, ``pull(n)`` for an output stream, ``push(block)`` for an input stream. The sounddevice
  fakes (``fake_sounddevice.FakeDeviceStream``, ``ui_fakes.FakeStream``, the recorder tests' input
  stream) are this with their own constructors.

The other shared fakes live beside the tests that use them: ``fake_sounddevice`` (the sounddevice
module), ``ui/ui_fakes`` (engine client and synthetic takes for widget tests), ``engine/fake_backends``
(a stepped, streaming backend and an engine process serving it), ``engine/higgs_tiny`` (a tiny random
Higgs model).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def no_progress(job_id: str, fraction: float) -> None:
    """A progress callback that ignores progress."""


def never(job_id: str) -> bool:
    """A cancel callback under which no job is ever cancelled."""
    return False


class CallbackStream:
    """A sounddevice stream stand-in whose callback runs only when the test says (see module docstring)."""

    def __init__(self, samplerate: int, channels: int, blocksize: int, callback: Any) -> None:
        self.samplerate = samplerate
        self.channels = channels
        self.blocksize = blocksize
        self.callback = callback
        self.started = False
        self.closed = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True

    def pull(self, blocks: int) -> np.ndarray:
        """Run the output callback for ``blocks`` blocks; what it wrote, (frames, channels)."""
        out = []
        for _ in range(blocks):
            buf = np.zeros((self.blocksize, self.channels), np.float32)
            self.callback(buf, self.blocksize, None, None)
            out.append(buf)
        return np.concatenate(out) if out else np.zeros((0, self.channels), np.float32)

    def push(self, block: np.ndarray) -> None:
        """Feed ``block`` (any length) to the input callback in one call."""
        block = np.asarray(block, np.float32).reshape(-1, self.channels)
        self.callback(block, block.shape[0], None, None)
