"""Continuous batching: lines join a running batch as places free up and leave it when they finish.

The scheduler knows nothing of models: it drives a :class:`SlotModel` — a decoder with a fixed number
of slots that makes one step for every occupied slot at a time (the Higgs fast path,
:class:`engine.higgs.slots.HiggsSlots`; a fake in the tests). Lines of different lengths do not wait
for the longest: a finished line's slot takes the next pending line at the next poll.

- ``more`` pulls new lines while the batch runs (the engine's queue), as many as there are free places.
- ``follow`` turns a finished line into the lines that must come next (the next chunk of a long line,
  which needs the codes of the one before): they go to the front of the queue, so order dependencies
  hold.
- A line that does not fit the model's current plan (e.g. a longer context than its cache holds) waits
  until the batch drains; then the model re-plans for what is pending.
- Nothing is lost: when the model fails mid-batch (a GPU error, a killed engine), :class:`BatchFailed`
  carries every line that has not finished, for the caller to fail or run again.

Thread contract: ``run`` and the model's methods are called from one thread (the engine worker);
``stop`` may be called from any thread.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

POLL_EVERY = 4  # steps between looks at the slots (each look waits for the device)


class SlotModel(Protocol):
    def capacity(self) -> int:
        """How many slots the model runs at once under its current plan."""
        ...

    def fits(self, line: Any) -> bool:
        """Whether ``line`` can be admitted under the current plan."""
        ...

    def replan(self, lines: Sequence[Any]) -> None:
        """Re-size for ``lines`` (called only while no slot is occupied)."""
        ...

    def admit(self, entries: Sequence[tuple[int, Any]]) -> None:
        """Start each (slot, line) (the prompt is read; the first step follows)."""
        ...

    def step(self) -> None:
        """One step for every occupied slot (may run ahead of the host)."""
        ...

    def poll(self) -> Mapping[int, tuple[int, bool]]:
        """For every occupied slot: (frames made so far, finished)."""
        ...

    def release(self, slot: int, keep: bool) -> Any:
        """Free ``slot``; its result when ``keep`` (None otherwise)."""
        ...


class BatchFailed(RuntimeError):
    """The model failed mid-batch; ``unfinished`` holds every line that did not finish."""

    def __init__(self, message: str, unfinished: list[Any]) -> None:
        super().__init__(message)
        self.unfinished = unfinished


@dataclass
class Finished:
    """One line leaving the batch: ``result`` is None when it was cancelled."""

    line: Any
    result: Any
    cancelled: bool = False


@dataclass
class BatchStats:
    steps: int = 0
    slot_steps: int = 0  # sum over steps of the occupied slots
    capacity: int = 0
    admitted: int = 0
    replans: int = 0
    polls: int = 0
    occupancy_trace: list[float] = field(default_factory=list)  # occupied / capacity at each poll

    @property
    def occupancy(self) -> float:
        """Mean share of the slots that held a line, over all steps."""
        return self.slot_steps / (self.steps * self.capacity) if self.steps and self.capacity else 0.0


class ContinuousScheduler:
    def __init__(self, model: SlotModel, *, poll_every: int = POLL_EVERY) -> None:
        self.model = model
        self.poll_every = max(1, poll_every)
        self.stats = BatchStats()
        self._stop = threading.Event()

    def stop(self) -> None:
        """End ``run`` at the next poll; unfinished lines come back in :class:`BatchFailed`."""
        self._stop.set()

    def run(
        self,
        lines: Iterable[Any],
        *,
        more: Callable[[int], list[Any]] | None = None,
        cancelled: Callable[[Any], bool] = lambda line: False,
        progress: Callable[[Any, int], None] = lambda line, frames: None,
        follow: Callable[[Any, Any], list[Any]] = lambda line, result: [],
    ) -> Iterator[Finished]:
        """Run ``lines`` (and what ``more`` adds) to the end, yielding each line as it finishes."""
        model = self.model
        pending: deque[Any] = deque(lines)
        running: dict[int, Any] = {}
        free: list[int] = []
        self.stats = stats = BatchStats()
        try:
            if not pending and more is not None:
                pending.extend(more(1))
            if not pending:
                return
            model.replan(list(pending))
            stats.replans += 1
            stats.capacity = model.capacity()
            free = list(range(stats.capacity - 1, -1, -1))
            while True:
                if more is not None and len(free) > len(pending):
                    pending.extend(more(len(free) - len(pending)))
                for line in [line for line in pending if cancelled(line)]:
                    pending.remove(line)
                    yield Finished(line, None, cancelled=True)
                entries = []
                while free and pending and model.fits(pending[0]):
                    entries.append((free.pop(), pending.popleft()))
                if entries:
                    model.admit(entries)
                    running.update(entries)
                    stats.admitted += len(entries)
                if not running:
                    if not pending:
                        return
                    model.replan(list(pending))  # the head did not fit: re-size while idle
                    stats.replans += 1
                    stats.capacity = model.capacity()
                    free = list(range(stats.capacity - 1, -1, -1))
                    continue
                if self._stop.is_set():
                    raise BatchFailed("the batch was stopped", [*running.values(), *pending])
                for _ in range(self.poll_every):
                    model.step()
                stats.steps += self.poll_every
                stats.slot_steps += self.poll_every * len(running)
                stats.polls += 1
                stats.occupancy_trace.append(len(running) / stats.capacity)
                status = model.poll()
                for slot in sorted(running):
                    line = running[slot]
                    frames, done = status[slot]
                    if cancelled(line):
                        model.release(slot, keep=False)
                        del running[slot]
                        free.append(slot)
                        yield Finished(line, None, cancelled=True)
                        continue
                    progress(line, frames)
                    if done:
                        result = model.release(slot, keep=True)
                        del running[slot]
                        free.append(slot)
                        pending.extendleft(reversed(follow(line, result)))
                        yield Finished(line, result)
        except BatchFailed:
            raise
        except Exception as exc:
            raise BatchFailed(f"{type(exc).__name__}: {exc}", [*running.values(), *pending]) from exc
