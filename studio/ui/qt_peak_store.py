"""Waveform peaks for the timeline, computed on a worker thread and handed to the GUI thread.

The summaries themselves (and their ``media/<name>.peaks.npz`` files) come from the Qt-free
:mod:`studio.render.peaks`. :meth:`QtPeakStore.get` never blocks: it returns what is loaded, or None
and schedules the work; ``ready(media)`` is emitted on the GUI thread when it is done.

Thread contract: construct and call on the GUI thread. Workers only run ``peaks.load_or_compute``
and append their result to a deque; a GUI-thread QTimer drains it while work is pending (no Qt
signal is emitted from a Python worker thread: cross-thread emission of Python objects is fragile
in PySide6).
"""

from __future__ import annotations

import functools
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from studio.render import peaks as peaks_mod
from studio.render.peaks import Peaks, PeaksError

DRAIN_MS = 25


class QtPeakStore(QObject):
    ready = Signal(str)  # media name whose peaks are now available (or failed)

    def __init__(
        self, resolve: Callable[[str], Path], workers: int = 1, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._resolve = resolve
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chorus-peaks")
        self._peaks: dict[str, Peaks] = {}
        self._pending: set[str] = set()
        self._errors: dict[str, str] = {}
        self._results: deque[tuple[str, Peaks | None, str]] = deque()
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_MS)
        self._timer.timeout.connect(self._drain)

    def get(self, media: str) -> Peaks | None:
        """Peaks of ``media`` if loaded; else None (and the work is scheduled once)."""
        found = self._peaks.get(media)
        if found is not None or not media:
            return found
        if media not in self._pending and media not in self._errors and not self._closed:
            self._pending.add(media)
            future = self._pool.submit(peaks_mod.load_or_compute, self._resolve(media))
            future.add_done_callback(functools.partial(self._finished, media))
            if not self._timer.isActive():
                self._timer.start()
        return None

    def error(self, media: str) -> str:
        return self._errors.get(media, "")

    def is_pending(self, media: str) -> bool:
        return media in self._pending

    def forget(self, media: str) -> None:
        """Drop a failed or loaded entry so the next ``get`` tries again (e.g. the file reappeared)."""
        self._errors.pop(media, None)
        self._peaks.pop(media, None)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Tests and benchmarks: block until the scheduled work is done (not for GUI code)."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            time.sleep(0.005)
            self._drain()

    def shutdown(self) -> None:
        self._closed = True
        self._timer.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)

    # worker thread: only a deque append (atomic), no Qt
    def _finished(self, media: str, future: Future[Peaks]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is None:
            self._results.append((media, future.result(), ""))
        else:
            text = str(exc) if isinstance(exc, PeaksError) else f"cannot draw the waveform of {media}: {exc}"
            self._results.append((media, None, text))

    # GUI thread
    def _drain(self) -> None:
        while self._results:
            media, peaks, error = self._results.popleft()
            self._pending.discard(media)
            if peaks is not None:
                self._peaks[media] = peaks
            else:
                self._errors[media] = error
            self.ready.emit(media)
        if not self._pending:
            self._timer.stop()
