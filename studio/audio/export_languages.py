"""Mixes in other languages: the project's timeline laid out in a language on a copy, and the names
of one language's files when every language is exported at once (``mix.wav`` → ``mix.fr.wav``,
``stems/`` → ``stems/fr/``). The project itself, and the language its timeline speaks, are untouched.

Thread contract: pure functions over a project snapshot; safe from a worker thread when given one.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

from studio.audio.export import ExportRequest
from studio.core.layout import lines_without_take, set_timeline_language
from studio.core.project import Project


def in_language(project: Project, language: str) -> tuple[Project, int]:
    """A copy of ``project`` whose timeline speaks ``language``, and how many lines it leaves out (no
    take in that language). Raises ``studio.core.ops.EditError`` for a language the project lacks."""
    copy = project.snapshot()
    copy.apply(set_timeline_language(copy, language))
    return copy, len(lines_without_take(copy))


def _named(path: Path | None, language: str) -> Path | None:
    return path.with_name(f"{path.stem}.{language}{path.suffix}") if path is not None else None


def for_language(request: ExportRequest, language: str) -> ExportRequest:
    """``request`` with every file named for ``language`` (mix and subtitles: ``NAME.fr.EXT``; stems
    and per-line folders: a ``fr`` folder inside)."""
    return replace(
        request,
        output=_named(request.output, language),
        srt=_named(request.srt, language),
        vtt=_named(request.vtt, language),
        stems_dir=request.stems_dir / language if request.stems_dir is not None else None,
        lines_dir=request.lines_dir / language if request.lines_dir is not None else None,
        id=uuid.uuid4().hex[:12],
    )
