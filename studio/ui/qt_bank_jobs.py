"""Voice-bank work off the GUI thread: clip preparation, trimming, waveform peaks, pack import/export.

:meth:`QtJobRunner.submit` runs a plain function on a worker thread; its result (or exception) is
handed to the ``done`` / ``failed`` callback on the GUI thread by a QTimer that drains finished
futures. No Qt signal is emitted from a worker thread (cross-thread emission of Python objects is
fragile in PySide6; see :mod:`studio.ui.qt_peak_store`).

Thread contract: construct and call on the GUI thread. Work functions run on a worker and must not
touch Qt or the GUI thread's :class:`~studio.bank.store.VoiceBank` (its connection belongs to the
GUI thread): a worker that writes to the bank opens its own connection (see :func:`with_bank`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from studio.bank.records import BankError
from studio.bank.store import VoiceBank

DRAIN_MS = 25
T = TypeVar("T")


@dataclass
class _Pending:
    future: Future[Any]
    done: Callable[[Any], None] | None
    failed: Callable[[BaseException], None] | None
    label: str


def describe_failure(label: str, exc: BaseException) -> str:
    """A message for the user: a BankError's own text, otherwise what failed and why."""
    if isinstance(exc, BankError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{label} failed: {exc.strerror or exc}"
    return f"{label} failed: {exc or type(exc).__name__}"


def with_bank(root: Path, work: Callable[[VoiceBank], T]) -> T:
    """Worker thread: open the bank at ``root`` on this thread, run ``work(bank)``, close it."""
    bank = VoiceBank.open(root)
    try:
        return work(bank)
    finally:
        bank.close()


class QtJobRunner(QObject):
    """A small worker pool whose results come back on the GUI thread (see the module docstring)."""

    busyChanged = Signal(bool)
    error = Signal(str)  # a failure of a job submitted without a ``failed`` callback

    def __init__(self, workers: int = 1, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chorus-bank")
        self._pending: list[_Pending] = []
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_MS)
        self._timer.timeout.connect(self.drain)

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def submit(
        self,
        fn: Callable[..., T],
        *args: Any,
        done: Callable[[T], None] | None = None,
        failed: Callable[[BaseException], None] | None = None,
        label: str = "The job",
    ) -> Future[T] | None:
        """Run ``fn(*args)`` on a worker; ``done(result)`` / ``failed(exc)`` later on the GUI thread."""
        if self._closed:
            return None
        future = self._pool.submit(fn, *args)
        was_busy = self.busy
        self._pending.append(_Pending(future, done, failed, label))
        if not self._timer.isActive():
            self._timer.start()
        if not was_busy:
            self.busyChanged.emit(True)
        return future

    def drain(self) -> None:
        """GUI thread: hand finished results to their callbacks."""
        # One look at each future: one that finishes between two looks must not be dropped unhandled.
        finished: list[_Pending] = []
        running: list[_Pending] = []
        for item in self._pending:
            (finished if item.future.done() else running).append(item)
        if not finished:
            return
        self._pending = running
        try:
            for item in finished:
                if item.future.cancelled():
                    continue
                exc = item.future.exception()
                if exc is None:
                    if item.done is not None:
                        item.done(item.future.result())
                elif item.failed is not None:
                    item.failed(exc)
                else:
                    self.error.emit(describe_failure(item.label, exc))
        finally:  # a callback that raised still leaves the runner idle when nothing is left
            if not self._pending:
                self._timer.stop()
                self.busyChanged.emit(False)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Tests: block (processing events) until every job's callback has run; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            time.sleep(0.002)
            self.drain()
        return not self._pending

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking work; cancel what has not started, optionally wait for what has."""
        self._closed = True
        self._timer.stop()
        self._pool.shutdown(wait=wait, cancel_futures=True)
        self._pending = []
