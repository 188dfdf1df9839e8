"""The state object a long-running audio job reports to (progress, status, cancellation).

A job is a module-level function ``run(request, state)`` (STYLE.md #15). ``state`` is anything with
``is_cancel_requested()`` and, optionally, ``set_progress(fraction)`` / ``set_status(text)``; a plain
callable is taken as the cancel check. :func:`as_state` adapts all of these (and ``None``) to
:class:`JobState`, so jobs are unit-tested with a fake state and no widget.

Thread contract: a job calls its state from the worker thread that runs the job; the state object is
responsible for handing values to the GUI thread (e.g. through a queue or a Qt signal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from studio.audio.errors import ExportCancelled, ExportError

__all__ = ["ExportCancelled", "ExportError", "JobState", "as_state", "check_cancel"]


@runtime_checkable
class JobState(Protocol):
    def set_progress(self, fraction: float) -> None: ...

    def set_status(self, text: str) -> None: ...

    def is_cancel_requested(self) -> bool: ...


class NullState:
    """Reports nowhere and never cancels."""

    def set_progress(self, fraction: float) -> None:
        pass

    def set_status(self, text: str) -> None:
        pass

    def is_cancel_requested(self) -> bool:
        return False


@dataclass
class CallbackState:
    """A state made of optional callbacks: ``progress(fraction)``, ``status(text)``, ``cancel() -> bool``."""

    progress: Callable[[float], None] | None = None
    status: Callable[[str], None] | None = None
    cancel: Callable[[], bool] | None = None

    def set_progress(self, fraction: float) -> None:
        if self.progress is not None:
            self.progress(fraction)

    def set_status(self, text: str) -> None:
        if self.status is not None:
            self.status(text)

    def is_cancel_requested(self) -> bool:
        return bool(self.cancel()) if self.cancel is not None else False


class _Adapted:
    """Wraps a partial state object (only some of the three methods)."""

    def __init__(self, obj: Any) -> None:
        self._obj = obj

    def set_progress(self, fraction: float) -> None:
        fn = getattr(self._obj, "set_progress", None)
        if fn is not None:
            fn(fraction)

    def set_status(self, text: str) -> None:
        fn = getattr(self._obj, "set_status", None)
        if fn is not None:
            fn(text)

    def is_cancel_requested(self) -> bool:
        fn = getattr(self._obj, "is_cancel_requested", None)
        return bool(fn()) if fn is not None else False


def as_state(
    state: Any = None,
    *,
    progress: Callable[[float], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> JobState:
    """Adapt ``state`` (None, a :class:`JobState`-like object or a cancel callable) to :class:`JobState`."""
    if state is None:
        if progress is None and cancel is None:
            return NullState()
        return CallbackState(progress=progress, cancel=cancel)
    if progress is not None or cancel is not None:
        raise TypeError("pass either a state object or progress=/cancel= callbacks, not both")
    if isinstance(state, JobState):
        return state
    if hasattr(state, "is_cancel_requested") or hasattr(state, "set_progress"):
        return _Adapted(state)
    if callable(state):
        return CallbackState(cancel=state)
    raise TypeError(f"not a job state: {type(state).__name__}")


class SubProgress:
    """Maps a sub-task's 0..1 progress onto ``[lo, hi]`` of the parent state's progress."""

    def __init__(self, state: JobState, lo: float, hi: float) -> None:
        self._state = state
        self._lo = lo
        self._hi = hi

    def set_progress(self, fraction: float) -> None:
        f = min(1.0, max(0.0, fraction))
        self._state.set_progress(self._lo + (self._hi - self._lo) * f)

    def set_status(self, text: str) -> None:
        self._state.set_status(text)

    def is_cancel_requested(self) -> bool:
        return self._state.is_cancel_requested()


class MonotonicProgress:
    """Passes progress on, never lower than before (a stage that repeats doesn't move the bar back)."""

    def __init__(self, state: JobState) -> None:
        self._state = state
        self._best = 0.0

    def set_progress(self, fraction: float) -> None:
        if fraction > self._best:
            self._best = fraction
            self._state.set_progress(fraction)

    def set_status(self, text: str) -> None:
        self._state.set_status(text)

    def is_cancel_requested(self) -> bool:
        return self._state.is_cancel_requested()


def check_cancel(state: JobState) -> None:
    """Raise :class:`ExportCancelled` when the user asked to cancel."""
    if state.is_cancel_requested():
        raise ExportCancelled("Export cancelled.")
