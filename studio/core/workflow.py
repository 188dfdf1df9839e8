"""Languages and the line status workflow: text per language, the selected take per language, stages.

A project has a source language (``ProjectSettings.source_language``: the lines' ``text``) and target
languages; a line keeps its text in each target language in ``translations`` and the selected take
of each target language in ``language_takes`` (the source language's is ``selected_take``). A
take knows the language it speaks (``Take.language``, "" = source).

Stages (:class:`~studio.core.model.LineStage`): draft → ready → rendered → approved → locked. A
finished take moves a draft/ready line to rendered; an edit of what is said moves a rendered or
approved line back to ready; a locked line is never re-rendered, even when it is stale, and its
notes say who locked it and when.

Thread contract: pure functions of the project (call on its thread); edits are returned as ops.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from studio.core.model import LineStage, LineStatus, ScriptLine
from studio.core.ops import Batch, EditError, Update
from studio.core.project import Project

STAGES: tuple[LineStage, ...] = tuple(LineStage)
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})?$")


def check_language(code: str) -> str:
    """``code`` lower-cased if it is an ISO 639 code (``fr``, ``pt-br``); else EditError."""
    value = code.strip().lower().replace("_", "-")
    if not _LANGUAGE.match(value):
        raise EditError(f"{code!r} is not a language code; use ISO 639-1 codes such as en, fr, de")
    return value


def project_languages(project: Project) -> tuple[str, ...]:
    """The source language first, then the target languages."""
    source = project.settings.source_language
    return (source, *(code for code in project.settings.target_languages if code != source))


def is_source(project: Project, language: str) -> bool:
    return not language or language == project.settings.source_language


def line_text(project: Project, line: ScriptLine, language: str = "") -> str:
    """The line's text in ``language`` ("" = source); "" when it has not been translated yet."""
    if is_source(project, language):
        return line.text
    return dict(line.translations).get(language, "")


def selected_take_key(project: Project, line: ScriptLine, language: str = "") -> str:
    if is_source(project, language):
        return line.selected_take
    return dict(line.language_takes).get(language, "")


def with_language_take(line: ScriptLine, language: str, key: str) -> tuple[tuple[str, str], ...]:
    """``line.language_takes`` with ``language``'s selected take set to ``key``."""
    takes = dict(line.language_takes)
    takes[language] = key
    return tuple(sorted(takes.items()))


def set_translation(project: Project, line_id: str, language: str, text: str) -> Update:
    """Set (or with "" remove) a line's text in a target language."""
    line = project.lines.get(line_id)
    if line is None:
        raise EditError(f"no line with id {line_id!r}")
    language = check_language(language)
    if is_source(project, language):
        raise EditError(f"{language} is the project's source language: edit the line's text instead")
    translations = dict(line.translations)
    if text.strip():
        translations[language] = text.strip()
    else:
        translations.pop(language, None)
    changes: dict[str, Any] = {"translations": tuple(sorted(translations.items()))}
    if line.stage in (LineStage.RENDERED, LineStage.APPROVED):
        changes["stage"] = LineStage.READY
    return Update("line", line_id, tuple(changes.items()), "Edit translation")


def set_languages(source: str, targets: Iterable[str]) -> Any:
    """The project's languages as a settings edit (codes checked, duplicates and the source dropped)."""
    from studio.core.ops import SetSettings

    source = check_language(source)
    wanted = tuple(dict.fromkeys(code for code in (check_language(t) for t in targets) if code != source))
    return SetSettings((("source_language", source), ("target_languages", wanted)), "Languages")


def set_stage(
    project: Project,
    line_ids: Iterable[str],
    stage: LineStage | str,
    who: str = "",
    when: datetime | None = None,
) -> Batch:
    """Move lines to ``stage``. Locking notes who and when (``locked by ann, 2025-05-01 10:00 UTC``)."""
    try:
        stage = LineStage(stage)
    except ValueError:
        raise EditError(f"unknown stage {stage!r}; use one of {', '.join(STAGES)}") from None
    stamp = (when or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    ops: list[Any] = []
    for line_id in line_ids:
        line = project.lines.get(line_id)
        if line is None:
            raise EditError(f"no line with id {line_id!r}")
        if line.stage == stage:
            continue
        changes: dict[str, Any] = {"stage": stage}
        if stage == LineStage.LOCKED:
            note = f"locked by {who or 'unknown'}, {stamp}"
            changes["notes"] = f"{line.notes}\n{note}".strip() if line.notes else note
        elif line.stage == LineStage.LOCKED:
            note = f"unlocked by {who or 'unknown'}, {stamp}"
            changes["notes"] = f"{line.notes}\n{note}".strip() if line.notes else note
        ops.append(Update("line", line_id, tuple(changes.items()), "Line stage"))
    return Batch(tuple(ops), f"Mark {stage.value}")


def stage_after_render(line: ScriptLine) -> LineStage:
    """A finished take moves draft/ready lines to rendered; others keep their stage."""
    return LineStage.RENDERED if line.stage in (LineStage.DRAFT, LineStage.READY) else line.stage


def status_counts(lines: Iterable[ScriptLine]) -> dict[str, int]:
    """Lines per stage, every stage present (0 where none)."""
    counts = {stage.value: 0 for stage in STAGES}
    for line in lines:
        counts[line.stage.value] += 1
    return counts


__all__ = [
    "STAGES",
    "LineStatus",
    "check_language",
    "is_source",
    "line_text",
    "project_languages",
    "selected_take_key",
    "set_languages",
    "set_stage",
    "set_translation",
    "stage_after_render",
    "status_counts",
    "with_language_take",
]
