"""The re-roll policy: how many new seeds a suspect take gets, and which take of a line is best.

Nothing the user selected is ever replaced: the best take is chosen only among the takes of one
re-roll chain (the first take and its re-rolls), and only while the line still selects one of them.

Pure; safe from any thread.
"""

from __future__ import annotations

from collections.abc import Iterable

from studio.core.project import Project
from studio.qa.scores import TakeScores

# Re-rolls of a suspect take when the project leaves it to the backend: a sampling model (Higgs, a
# remote speech server) says something else with another seed; Piper says the same thing again.
DEFAULT_RETRIES: dict[str, int] = {"higgs": 2, "openai": 2, "piper": 0}


def retries_for(project: Project, override: int | None = None) -> int:
    """Re-rolls allowed per line: ``override`` (CLI), else the project setting, else the backend default."""
    if override is not None:
        return max(0, override)
    setting = project.settings.qa_retries
    if setting >= 0:
        return setting
    return DEFAULT_RETRIES.get(project.settings.backend, 0)


def scores_of(project: Project, key: str) -> TakeScores | None:
    take = project.takes.get(key)
    return TakeScores.from_json(take.qa) if take is not None else None


def best_take(project: Project, keys: Iterable[str]) -> str:
    """The best-scoring of ``keys``: ok before suspect, then fewest/least-bad problems, then earliest."""
    ranked = []
    for index, key in enumerate(keys):
        scores = scores_of(project, key)
        if scores is None:
            ranked.append((2, 0.0, index, key))
        else:
            ranked.append((1 if scores.suspect else 0, scores.badness(), index, key))
    if not ranked:
        raise ValueError("no takes to choose from")
    return min(ranked)[3]
