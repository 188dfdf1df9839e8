"""Benchmark: importing a 10,000-line game voice-over CSV.

Generates a CSV (3 characters, texts with quotes, commas and a few line breaks) in a temporary
folder and times, side by side with the baseline — Python's ``csv.reader`` alone reading the file:

  (a) parse             read_script(path)
  (b) parse + apply     ... + script_to_ops + Project.apply, in memory
  (c) parse + apply     ... into a real project file (studio.core.store.ProjectFile), committed
  and undoing the import in memory (the inverse Batch).

Run: .venv/bin/python bench/import_csv.py [--lines 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.core.project import Project
from studio.core.script_formats import read_script, script_to_ops

CHARACTERS = ("Guard", "Merchant", "Hero")
PHRASES = (
    'He said "halt", didn\'t he?',
    "Wares, wares, fine wares — cheap!",
    "Who goes there, stranger?",
    "[laugh] Not today, friend.",
    "Stay close; the road is long.",
    'A "bargain", they call it, at 50% off.',
)


def write_csv(path: Path, count: int) -> None:
    rng = random.Random(1234)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(["id", "character", "text", "direction", "scene", "notes"])
        for index in range(count):
            text = " ".join(rng.choice(PHRASES) for _ in range(rng.randint(1, 3)))
            if index % 97 == 0:
                text += "\nSecond line of the same take."
            writer.writerow(
                [
                    f"vo_{index:05d}",
                    CHARACTERS[index % 3],
                    text,
                    rng.choice(["", "shouting", "whispering, fast"]),
                    f"Area {index // 500}",
                    "pick-up" if index % 10 == 0 else "",
                ]
            )


def timed(step: Callable[..., Any], repeat: int, setup: Callable[[], Any] | None = None) -> list[float]:
    times = []
    for _ in range(repeat):
        arg = setup() if setup else None
        start = time.perf_counter()
        step() if arg is None else step(arg)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="chorus-bench-") as folder:
        root = Path(folder)
        path = root / "lines.csv"
        write_csv(path, args.lines)
        size_kib = path.stat().st_size / 1024

        def baseline() -> None:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                rows = list(csv.reader(handle))
            assert len(rows) == args.lines + 1

        def parse_only() -> None:
            assert len(read_script(path).lines) == args.lines

        def parse_apply() -> None:
            project = Project()
            project.apply(script_to_ops(project, read_script(path)))
            assert len(project.lines) == args.lines

        def imported() -> tuple[Project, Any]:
            project = Project()
            inverse = project.apply(script_to_ops(project, read_script(path)))
            return project, inverse

        def undo(state: tuple[Project, Any]) -> None:
            project, inverse = state
            project.apply(inverse)
            assert not project.lines

        rows: list[tuple[str, list[float] | str]] = [
            ("baseline: csv.reader alone", timed(baseline, args.repeat)),
            ("(a) parse (read_script)", timed(parse_only, args.repeat)),
            ("(b) parse + apply, in memory", timed(parse_apply, args.repeat)),
            ("    undo the import, in memory", timed(undo, args.repeat, imported)),
        ]
        try:
            from studio.core.store import ProjectFile
        except ImportError as exc:
            rows.append(
                ("(c) parse + apply, project file", f"skipped: studio.core.store not importable ({exc})")
            )
        else:
            counter = iter(range(1_000_000))

            def parse_apply_file() -> None:
                project_file = ProjectFile.create(root / f"bench{next(counter)}.chorus", title="bench")
                try:
                    project = project_file.project
                    project.apply(script_to_ops(project, read_script(path)))
                finally:
                    project_file.close()

            rows.append(("(c) parse + apply, project file", timed(parse_apply_file, args.repeat)))

    print(f"Import of a {args.lines:,}-line CSV ({size_kib:,.0f} KiB), best and median of {args.repeat} runs")
    base = min(rows[0][1]) if isinstance(rows[0][1], list) else 1.0
    print(f"{'step':<34} {'best ms':>9} {'median ms':>10} {'× baseline':>11}")
    for name, result in rows:
        if isinstance(result, str):
            print(f"{name:<34} {result}")
            continue
        best, median = min(result), statistics.median(result)
        print(f"{name:<34} {best * 1000:9.1f} {median * 1000:10.1f} {best / base:10.1f}×")


if __name__ == "__main__":
    main()
