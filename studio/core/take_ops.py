"""Named edits of a line's takes: pick one, mark a favourite, store check scores, delete unused ones.

Each returns an operation of :mod:`studio.core.ops` (undoable, like every edit). Take files in
``media/`` are never deleted here: media is content-addressed and shared, so dropping a take record
only forgets it.

Thread contract: call on the thread that owns the project.
"""

from __future__ import annotations

from studio.core import ops
from studio.core.model import LineStatus
from studio.core.project import Project


def pick_take(project: Project, line_id: str, key: str) -> ops.Update:
    """Select take ``key`` for its line (the user's pick: re-rolls never replace it)."""
    line = project.lines[line_id]
    if key not in line.takes or key not in project.takes:
        raise ops.EditError(f"take {key[:12]} is not a take of line {line_id}")
    return ops.Update("line", line_id, (("selected_take", key),), "Pick take")


def set_favourite(key: str, favourite: bool = True) -> ops.Update:
    return ops.Update("take", key, (("favourite", bool(favourite)),), "Favourite take" if favourite else "Unfavourite take")


def store_scores(project: Project, key: str, qa: str, suspect: bool, reasons: str) -> ops.Batch:
    """Keep a take's check scores (JSON); a line whose selected take this is shows the verdict."""
    edits: list[ops.Op] = [ops.Update("take", key, (("qa", qa),), "Check take")]
    take = project.takes[key]
    line = project.lines.get(take.line_id)
    if line is not None and line.selected_take == key and line.status in (LineStatus.DONE, LineStatus.SUSPECT):
        wanted = LineStatus.SUSPECT if suspect else LineStatus.DONE
        detail = reasons if suspect else ""
        if (line.status, line.status_detail) != (wanted, detail):
            edits.append(ops.set_line_status(line.id, wanted, detail))
    return ops.Batch(tuple(edits), "Check take")


def unused_takes(project: Project, line_id: str) -> list[str]:
    """Takes of the line that are neither selected (in any language), favourite, nor on the timeline."""
    line = project.lines[line_id]
    keep = {line.selected_take, *(key for _, key in getattr(line, "language_takes", ()))}
    placed = {clip.media for clip in project.clips.values()}
    out = []
    for key in line.takes:
        take = project.takes.get(key)
        if key in keep or take is None or take.favourite or take.media in placed:
            continue
        out.append(key)
    return out


def delete_unused_takes(project: Project, line_id: str) -> ops.Batch:
    """Forget the line's unused takes (see :func:`unused_takes`) in one undoable step."""
    gone = unused_takes(project, line_id)
    line = project.lines[line_id]
    edits: list[ops.Op] = [ops.Delete("take", key) for key in gone]
    if gone:
        edits.append(ops.Update("line", line_id, (("takes", tuple(k for k in line.takes if k not in gone)),)))
    return ops.Batch(tuple(edits), "Delete unused takes")
