"""Waveform peaks for the timeline, computed in a worker thread and handed to the GUI by a signal.

The summaries themselves (and their ``media/<name>.peaks.npz`` files) come from the Qt-free
:mod:`studio.render.peaks`. :meth:`QtPeakStore.get` never blocks: it returns what is loaded, or None
and schedules the work; ``ready(media)`` is emitted on the GUI thread when it is done.

Thread contract: construct and call on the GUI thread; the worker threads only run
``peaks.load_or_compute`` and post the result back through a queued signal.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from studio.render import peaks as peaks_mod
from studio.render.peaks import Peaks, PeaksError


class QtPeakStore(QObject):
    ready = Signal(str)  # media name whose peaks are now available (or failed)
    _done = Signal(str, object, str)  # worker → GUI: media, Peaks | None, error text

    def __init__(
        self, resolve: Callable[[str], Path], workers: int = 1, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._resolve = resolve
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chorus-peaks")
        self._peaks: dict[str, Peaks] = {}
        self._pending: set[str] = set()
        self._errors: dict[str, str] = {}
        self._closed = False
        self._done.connect(self._on_done)

    def get(self, media: str) -> Peaks | None:
        """Peaks of ``media`` if loaded; else None (and the work is scheduled once)."""
        found = self._peaks.get(media)
        if found is not None or not media:
            return found
        if media not in self._pending and media not in self._errors and not self._closed:
            self._pending.add(media)
            future = self._pool.submit(peaks_mod.load_or_compute, self._resolve(media))
            future.add_done_callback(lambda f, m=media: self._finished(m, f))
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
        import time

        from PySide6.QtCore import QCoreApplication

        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            time.sleep(0.005)

    def shutdown(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)

    # worker thread
    def _finished(self, media: str, future: Future[Peaks]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        try:
            if exc is None:
                self._done.emit(media, future.result(), "")
            else:
                text = (
                    str(exc) if isinstance(exc, PeaksError) else f"cannot draw the waveform of {media}: {exc}"
                )
                self._done.emit(media, None, text)
        except RuntimeError:  # the store was deleted while this worker ran
            pass

    @Slot(str, object, str)
    def _on_done(self, media: str, peaks: object, error: str) -> None:
        self._pending.discard(media)
        if isinstance(peaks, Peaks):
            self._peaks[media] = peaks
        else:
            self._errors[media] = error
        self.ready.emit(media)
