"""Samples for the timeline's sample-level waveform, read on a worker thread, cached by block.

:meth:`QtSampleStore.window` never blocks: it returns the samples (mono, the file's own rate) of a
frame range when all of its :data:`~studio.audio.sample_view.BLOCK` blocks are loaded, or None and
schedules the missing ones; ``ready(media)`` is emitted on the GUI thread when a block arrives. Only
the blocks the view asks for are read (a zoomed-in view shows a second or two), the least recently
used first out past :data:`MAX_BLOCKS`.

Thread contract: construct and call on the GUI thread. The one worker only runs
:meth:`studio.audio.sample_view.BlockReader.read` and appends the result to a deque, which a GUI-thread
QTimer drains (no Qt signal from a worker thread, as in :mod:`studio.ui.qt_peak_store`).
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from studio.audio import sample_view as sv

DRAIN_MS = 25
MAX_BLOCKS = 256  # × 32768 float32 frames = 32 MiB


class QtSampleStore(QObject):
    ready = Signal(str)  # media name with newly loaded samples (or a failed read: then it stays on peaks)

    def __init__(self, resolve: Callable[[str], Path], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._resolve = resolve
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chorus-samples")
        self._reader = sv.BlockReader()  # used by the one worker thread only
        self._blocks: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._pending: set[tuple[str, int]] = set()
        self._failed: set[str] = set()
        self._results: deque[tuple[str, int, np.ndarray | None]] = deque()
        self._closed = False
        self.reads = 0  # blocks read from disk (tests count them)
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_MS)
        self._timer.timeout.connect(self._drain)

    def window(self, media: str, first_frame: float, last_frame: float) -> tuple[int, np.ndarray] | None:
        """(frame of the first sample, mono samples) covering ``[first_frame, last_frame]``, or None."""
        if not media or media in self._failed:
            return None
        blocks = sv.block_range(first_frame, last_frame)
        parts: list[np.ndarray] = []
        missing = False
        for index in blocks:
            key = (media, index)
            block = self._blocks.get(key)
            if block is None:
                missing = True
                self._request(key)
                continue
            self._blocks.move_to_end(key)
            parts.append(block)
            if block.shape[0] < sv.BLOCK:  # the end of the file
                break
        if missing:
            return None
        data = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return blocks.start * sv.BLOCK, data

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Tests: block until the scheduled reads are done (not for GUI code)."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            time.sleep(0.005)
            self._drain()

    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._timer.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
        closing = threading.Thread(target=self._close_reader, name="chorus-samples-close", daemon=True)
        closing.start()

    def _close_reader(self) -> None:
        """After the last read: the worker's open files are closed (off the GUI thread)."""
        self._pool.shutdown(wait=True)
        self._reader.close()

    def _request(self, key: tuple[str, int]) -> None:
        if key in self._pending or self._closed:
            return
        self._pending.add(key)
        future = self._pool.submit(self._reader.read, self._resolve(key[0]), key[1])
        future.add_done_callback(functools.partial(self._finished, key))
        if not self._timer.isActive():
            self._timer.start()

    # worker thread: only a deque append (atomic), no Qt
    def _finished(self, key: tuple[str, int], future: Future[np.ndarray]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        self._results.append((key[0], key[1], None if exc is not None else future.result()))

    # GUI thread
    def _drain(self) -> None:
        done: set[str] = set()
        while self._results:
            media, index, block = self._results.popleft()
            self._pending.discard((media, index))
            if block is None:
                self._failed.add(media)
            else:
                self.reads += 1
                self._blocks[(media, index)] = block
                while len(self._blocks) > MAX_BLOCKS:
                    self._blocks.popitem(last=False)
            done.add(media)
        for media in done:
            self.ready.emit(media)
        if not self._pending:
            self._timer.stop()
