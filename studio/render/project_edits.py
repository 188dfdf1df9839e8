"""Named project edits that need more than one core op, shared by the studio and the command line.

Each function takes an ``edit`` callable that applies one op and says whether it did: the studio
passes ``QtDocument.edit`` (inside an undo macro), the CLI and the Python API pass
:func:`apply_now` (``project.apply``; every op is committed to project.db as it happens). So a
setting, a speaker or a cast changed headless is the very same edit the studio makes.

Thread contract: the thread that owns the project (GUI thread in the studio, main thread in the CLI).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.core import ops
from studio.core.layout import layout_ops
from studio.core.model import Speaker
from studio.core.project import Project
from studio.render.takes import refresh_status

Edit = Callable[[Any], bool]
RENDER_KEYS = frozenset({"backend", "backend_options"})
LAYOUT_KEYS = frozenset({"gap_same_speaker", "gap_new_speaker", "gap_new_scene", "lead_in", "timeline_language"})


def apply_now(project: Project) -> Edit:
    """An ``edit`` that applies ops straight to ``project`` (no undo stack: the CLI's)."""

    def edit(op: Any) -> bool:
        if isinstance(op, ops.Batch) and not op.ops:
            return False
        project.apply(op)
        return True

    return edit


def change_settings(project: Project, media_dir: Path, changes: dict[str, Any], edit: Edit) -> bool:
    """Set project settings; lines whose take no longer matches go stale, gaps relayout the timeline."""
    if not changes:
        return False
    ok = edit(ops.set_settings(**changes))
    if ok and RENDER_KEYS & set(changes):
        edit(refresh_status(project, media_dir))
    if ok and LAYOUT_KEYS & set(changes):
        edit(layout_ops(project))
    return ok


def save_speaker(project: Project, media_dir: Path, speaker: Speaker, edit: Edit) -> bool:
    """Add or update ``speaker``; lines whose voice changed go stale in the same step."""
    old = project.speakers.get(speaker.id)
    if old == speaker:
        return False
    if old is None:
        return edit(ops.Insert(speaker, None, "Add speaker"))
    changes = tuple(
        (f, getattr(speaker, f)) for f in ("name", "colour", "voice") if getattr(speaker, f) != getattr(old, f)
    )
    ok = edit(ops.Update("speaker", speaker.id, changes, "Edit speaker"))
    if ok and old.voice != speaker.voice:
        edit(refresh_status(project, media_dir))
    return ok


def remove_speaker(project: Project, speaker_id: str, edit: Edit) -> str:
    """Remove a speaker no line uses; returns "" or the reason it was refused."""
    speaker = project.speakers.get(speaker_id)
    if speaker is None:
        return "No such speaker."
    used = sum(1 for line in project.lines.values() if line.speaker_id == speaker_id)
    if used:
        return f"{speaker.name} speaks {used} line(s): assign them to another speaker first."
    edit(ops.Delete("speaker", speaker_id, "Remove speaker"))
    return ""
