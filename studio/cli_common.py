"""What every ``chorus`` sub-command module shares: the one-line error and opening a project.

Kept apart from :mod:`studio.cli` so the sub-command modules (``cli_render``, ``cli_project`` …) and
``cli`` itself never import each other in a circle.

Thread contract: the main thread of the ``chorus`` process.
"""

from __future__ import annotations

from typing import Any


class CliError(Exception):
    """An error to print as ``chorus: error: …`` with exit status 2 (or ``code``)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _open(path: str, *, read_only: bool = False) -> Any:
    """Open a project for a command; ``read_only`` for commands that only read (no lock, no edits)."""
    from studio.core.store import ProjectError, ProjectFile

    try:
        return ProjectFile.open(path, read_only=read_only)
    except ProjectError as exc:
        raise CliError(str(exc)) from None
