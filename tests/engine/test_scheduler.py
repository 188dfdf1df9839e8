"""The continuous scheduler on a fake slot model: lines join and leave, nothing is lost."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from engine.scheduler import BatchFailed, ContinuousScheduler


@dataclass(eq=False)
class Line:
    name: str
    length: int  # steps it needs


class FakeSlots:
    """A slot model whose lines need ``length`` steps each; ``limit`` plays the cache length."""

    def __init__(self, slots: int, fail_after: int | None = None) -> None:
        self.slots = slots
        self.fail_after = fail_after
        self.limit = 0
        self.held: dict[int, list] = {}
        self.steps = 0
        self.replans: list[int] = []

    def capacity(self) -> int:
        return self.slots

    def fits(self, line: Line) -> bool:
        return line.length <= self.limit

    def replan(self, lines: list[Line]) -> None:
        assert not self.held, "re-planned with lines in the slots"
        self.limit = max(line.length for line in lines)
        self.replans.append(self.limit)

    def admit(self, entries: list[tuple[int, Line]]) -> None:
        for slot, line in entries:
            assert slot not in self.held and 0 <= slot < self.slots
            self.held[slot] = [line, 0]

    def step(self) -> None:
        self.steps += 1
        if self.fail_after is not None and self.steps > self.fail_after:
            raise RuntimeError("CUDA error: the device fell over")
        for entry in self.held.values():
            entry[1] = min(entry[1] + 1, entry[0].length)

    def poll(self) -> dict[int, tuple[int, bool]]:
        return {slot: (made, made >= line.length) for slot, (line, made) in self.held.items()}

    def release(self, slot: int, keep: bool) -> str | None:
        line, made = self.held.pop(slot)
        return f"{line.name}:{made}" if keep else None


def mixed(n: int) -> list[Line]:
    lengths = [13, 41, 7, 29, 50, 18, 3, 36, 22, 9, 45, 15, 31, 5, 27, 40]
    return [Line(f"l{i}", lengths[i % len(lengths)]) for i in range(n)]


def test_lines_finish_in_order_of_length_not_of_arrival() -> None:
    lines = [Line("long", 40), Line("short", 8), Line("mid", 24), Line("tiny", 4)]
    finished = list(ContinuousScheduler(FakeSlots(4), poll_every=1).run(lines))
    assert [f.line.name for f in finished] == ["tiny", "short", "mid", "long"]
    assert [f.result for f in finished] == ["tiny:4", "short:8", "mid:24", "long:40"]


def test_a_free_slot_takes_the_next_line_and_occupancy_stays_high() -> None:
    lines = mixed(32)
    continuous = ContinuousScheduler(FakeSlots(4), poll_every=2)
    done = list(continuous.run(lines))
    assert sorted(f.line.name for f in done) == sorted(line.name for line in lines)
    assert all(f.result == f"{f.line.name}:{f.line.length}" for f in done)
    # Fixed batches of the same size wait for their longest line.
    fixed_steps = sum(max(line.length for line in lines[i : i + 4]) for i in range(0, len(lines), 4))
    total = sum(line.length for line in lines)
    print(f"occupancy {continuous.stats.occupancy:.2f}; steps {continuous.stats.steps} vs fixed {fixed_steps}")
    assert continuous.stats.occupancy > 0.85
    assert total / (4 * fixed_steps) < 0.75  # what fixed batches would have kept busy
    assert continuous.stats.steps < 0.8 * fixed_steps
    # While lines were waiting, no slot stood empty at a poll.
    waiting_polls = continuous.stats.occupancy_trace[: len(continuous.stats.occupancy_trace) // 2]
    assert min(waiting_polls) == 1.0


def test_more_lines_join_the_running_batch() -> None:
    queue = mixed(10)
    asked: list[int] = []

    def more(places: int) -> list[Line]:
        asked.append(places)
        taken = queue[:places]
        del queue[:places]
        return taken

    scheduler = ContinuousScheduler(FakeSlots(3), poll_every=1)
    done = list(scheduler.run([Line("first", 20)], more=more))
    assert len(done) == 11 and not queue
    assert asked[0] == 2  # the two places beside the first line
    assert done[-1].line.name != "first" or len(done) == 1


def test_a_cancelled_line_leaves_and_the_others_are_untouched() -> None:
    lines = mixed(8)
    gone = {"l1"}
    steps = {"n": 0}

    def cancelled(line: Line) -> bool:
        return line.name in gone and steps["n"] > 2

    def progress(line: Line, frames: int) -> None:
        steps["n"] += 1

    done = list(ContinuousScheduler(FakeSlots(4), poll_every=1).run(lines, cancelled=cancelled, progress=progress))
    by_name = {f.line.name: f for f in done}
    assert by_name["l1"].cancelled and by_name["l1"].result is None
    assert all(f.result == f"{f.line.name}:{f.line.length}" for f in done if f.line.name != "l1")
    assert len(done) == 8


def test_a_failure_mid_batch_hands_back_every_unfinished_line_and_a_restart_finishes_them() -> None:
    lines = mixed(12)
    first = ContinuousScheduler(FakeSlots(4, fail_after=30), poll_every=2)
    finished: list = []
    with pytest.raises(BatchFailed) as failure:
        for event in first.run(lines):
            finished.append(event)
    unfinished = failure.value.unfinished
    assert finished and unfinished
    names = [f.line.name for f in finished] + [line.name for line in unfinished]
    assert sorted(names) == sorted(line.name for line in lines)  # nothing lost, nothing twice
    again = list(ContinuousScheduler(FakeSlots(4), poll_every=2).run(unfinished))  # the restarted engine
    assert sorted(f.line.name for f in finished + again) == sorted(line.name for line in lines)
    assert all(f.result == f"{f.line.name}:{f.line.length}" for f in again)


def test_stop_ends_the_run_with_the_lines_still_to_do() -> None:
    lines = mixed(8)
    scheduler = ContinuousScheduler(FakeSlots(2), poll_every=1)
    got = []
    with pytest.raises(BatchFailed, match="stopped") as failure:
        for event in scheduler.run(lines):
            got.append(event)
            scheduler.stop()
    assert len(got) + len(failure.value.unfinished) == 8


def test_follow_up_lines_come_next_and_lines_that_do_not_fit_wait_for_a_replan() -> None:
    model = FakeSlots(2)
    chunks = [Line("a2", 6), Line("a3", 6)]
    late = [Line("huge", 90)]

    def follow(line: Line, result: str) -> list[Line]:
        return [chunks.pop(0)] if line.name.startswith("a") and chunks else []

    def more(places: int) -> list[Line]:
        taken, late[:] = late[:], []
        return taken

    lines = [Line("a1", 6), Line("b", 10), Line("c", 12)]
    done = [f.line.name for f in ContinuousScheduler(model, poll_every=1).run(lines, follow=follow, more=more)]
    assert done.index("a1") < done.index("a2") < done.index("a3")
    assert done[-1] == "huge"  # it did not fit the first plan: it waited for the others to drain
    assert model.replans == [12, 90]
