"""An open project as the UI sees it: the project file, the undo stack, change signals, the selection.

Every user edit goes through :meth:`QtDocument.edit`, which applies a :mod:`studio.core.ops` operation
and pushes one :class:`QtEditCommand` (op + inverse) on the QUndoStack; the project store commits it
to ``project.db`` as it happens, so nothing is ever unsaved. Changes that are not user edits (line
status and takes from rendering) are applied with :meth:`QtDocument.apply_untracked` and never enter
the undo stack. Widgets never subscribe to the Project directly: they connect to :attr:`changed`,
which re-announces every :class:`~studio.core.project.Change` synchronously on the GUI thread.

Thread contract: GUI thread only. :meth:`snapshot` returns a detached copy of the project that a
worker thread (playback feeder, export) may read while the GUI keeps editing.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from studio.core import ops
from studio.core.model import LineStatus
from studio.core.ops import EditError
from studio.core.project import Change, Project
from studio.core.store import ProjectError, ProjectFile
from studio.render.takes import refresh_lines

# QUndoCommand.id() of commands that may merge (consecutive nudges of the same thing).
MERGE_ID = 0x43484F


RENDERING = (LineStatus.QUEUED, LineStatus.RENDERING)  # the render owns these lines' status


class QtEditCommand(QUndoCommand):
    """One undo step: an op and its inverse. ``merge_key`` lets consecutive nudges of the same
    target collapse into one step (the first inverse is kept, the latest op replaces the op)."""

    def __init__(self, doc: QtDocument, op: ops.Op, inverse: ops.Op, label: str, merge_key: str = "") -> None:
        super().__init__(label)
        self._doc = doc
        self.op = op
        self.inverse = inverse
        self.merge_key = merge_key
        self._applied = True  # the op was applied before the push (redo() skips the first call)

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        try:
            self.inverse = self._doc.project.apply(self.op)
        except (EditError, KeyError) as exc:
            self._doc.report_failure(f"Cannot redo “{self.text()}”: {exc}")
            self.setObsolete(True)

    def undo(self) -> None:
        try:
            self._doc.project.apply(self.inverse)
        except (EditError, KeyError) as exc:
            self._doc.report_failure(f"Cannot undo “{self.text()}”: {exc}")
            self.setObsolete(True)

    def id(self) -> int:
        return MERGE_ID if self.merge_key else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, QtEditCommand) or not self.merge_key or other.merge_key != self.merge_key:
            return False
        self.op = _merge_ops(self.op, other.op)
        return True


def _merge_ops(first: ops.Op, second: ops.Op) -> ops.Op:
    """The op that does ``first`` then ``second``; an absolute Update of the same fields replaces."""
    if (
        isinstance(first, ops.Update)
        and isinstance(second, ops.Update)
        and (first.kind, first.id) == (second.kind, second.id)
        and {k for k, _ in first.changes} <= {k for k, _ in second.changes}
    ):
        return second
    return ops.Batch((first, second), getattr(second, "label", "Edit"))


class QtDocument(QObject):
    """See the module docstring. Owns the ProjectFile it is given (``close`` closes it)."""

    changed = Signal(object)  # a studio.core.project.Change, for every real change
    editEnded = Signal()  # after each outermost project.apply (one edit, possibly many changes)
    selectionChanged = Signal()
    editFailed = Signal(str)
    message = Signal(str)  # transient status-bar text

    def __init__(self, project_file: ProjectFile, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project_file = project_file
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(2000)
        self._selected_lines: tuple[str, ...] = ()
        self._selected_clips: tuple[str, ...] = ()
        self._selected_track = ""
        self._unsubscribe = project_file.project.subscribe(self._on_change)
        self._closed = False
        self._touched: set[str] | None = None  # lines changed by the edit being applied

    @classmethod
    def open(cls, path: str | Path, parent: QObject | None = None) -> QtDocument:
        """Open a project folder (raises ProjectError with a message for the user)."""
        return cls(ProjectFile.open(path), parent)

    # ---- properties ----------------------------------------------------------------------
    @property
    def project(self) -> Project:
        return self.project_file.project

    @property
    def media_dir(self) -> Path:
        return self.project_file.media_dir

    @property
    def root(self) -> Path:
        return self.project_file.root

    def media_path(self, name: str) -> Path:
        return self.project_file.media_path(name)

    @property
    def title(self) -> str:
        return self.project.settings.title or self.root.stem

    # ---- edits ---------------------------------------------------------------------------
    def edit(self, op: ops.Op, label: str | None = None, merge_key: str = "") -> bool:
        """Apply a user edit and push it on the undo stack; False (and ``editFailed``) if refused."""
        if isinstance(op, ops.Batch) and not op.ops:
            return False
        if self.project_file.read_only:
            self.report_failure(f"{self.title} is open read-only (another program is writing it): not changed")
            return False
        touched: set[str] = set()
        self._touched = touched
        try:
            inverse = self.project.apply(op)
            if touched:  # a line's status follows its take key (one rule: studio.render.takes)
                lines = [self.project.lines[i] for i in touched if i in self.project.lines]
                fix = refresh_lines(self.project, self.media_dir, [x for x in lines if x.status not in RENDERING])
                if fix.ops:
                    inverse = ops.Batch((self.project.apply(fix), inverse), str(getattr(op, "label", "Edit")))
                    op = ops.Batch((op, fix), str(getattr(op, "label", "Edit")))
        except (EditError, KeyError, ValueError, ProjectError) as exc:
            self.report_failure(str(exc))
            return False
        except sqlite3.Error as exc:  # the store keeps the change and commits it with the next edit
            self.report_failure(
                f"The edit could not be written to project.db yet ({exc}); it is kept in memory"
            )
            return False
        finally:
            self._touched = None
        text = str(label or getattr(op, "label", "Edit"))
        self.undo_stack.push(QtEditCommand(self, op, inverse, text, merge_key))
        return True

    @contextlib.contextmanager
    def macro(self, label: str) -> Iterator[None]:
        """Group several :meth:`edit` calls into one undo step."""
        self.undo_stack.beginMacro(label)
        try:
            yield
        finally:
            self.undo_stack.endMacro()

    def apply_untracked(self, op: ops.Op) -> None:
        """Apply a change that is not a user edit (render status, takes): not on the undo stack."""
        if isinstance(op, ops.Batch) and not op.ops:
            return
        self.project.apply(op)

    def report_failure(self, text: str) -> None:
        self.editFailed.emit(text)

    # ---- selection -----------------------------------------------------------------------
    @property
    def selected_lines(self) -> tuple[str, ...]:
        return self._selected_lines

    @property
    def selected_clips(self) -> tuple[str, ...]:
        return self._selected_clips

    @property
    def selected_track(self) -> str:
        return self._selected_track

    def select(
        self,
        *,
        lines: tuple[str, ...] | list[str] | None = None,
        clips: tuple[str, ...] | list[str] | None = None,
        track: str | None = None,
    ) -> None:
        """Set any of the three selections; emits ``selectionChanged`` once if anything changed.

        One selection at a time: selecting lines drops selected clips that voice other things, and
        selecting clips drops selected lines those clips do not voice (the Inspector never shows a
        line beside another thing's clip)."""
        project = self.project
        if lines is not None and clips is None:
            keep = set(lines)
            clips = tuple(c for c in self._selected_clips if c in project.clips and project.clips[c].line_id in keep)
        elif clips is not None and lines is None:
            voiced = {project.clips[c].line_id for c in clips if c in project.clips}
            lines = tuple(i for i in self._selected_lines if i in voiced)
        changed = False
        if lines is not None and tuple(lines) != self._selected_lines:
            self._selected_lines = tuple(lines)
            changed = True
        if clips is not None and tuple(clips) != self._selected_clips:
            self._selected_clips = tuple(clips)
            changed = True
        if track is not None and track != self._selected_track:
            self._selected_track = track
            changed = True
        if changed:
            self.selectionChanged.emit()

    # ---- change propagation --------------------------------------------------------------
    def _on_change(self, change: Change) -> None:
        if self._touched is not None and change.kind == "line" and change.action == "update":
            self._touched.add(change.id)
        if change.kind == "edit":
            self.editEnded.emit()
            return
        self.changed.emit(change)  # views drop the record first, then the selection follows
        if change.action == "delete":
            self._drop_from_selection(change)

    def _drop_from_selection(self, change: Change) -> None:
        if change.kind == "clip" and change.id in self._selected_clips:
            self._selected_clips = tuple(c for c in self._selected_clips if c != change.id)
            self.selectionChanged.emit()
        elif change.kind == "line" and change.id in self._selected_lines:
            self._selected_lines = tuple(c for c in self._selected_lines if c != change.id)
            self.selectionChanged.emit()
        elif change.kind == "track" and change.id == self._selected_track:
            self._selected_track = ""
            self.selectionChanged.emit()

    # ---- worker-thread views -------------------------------------------------------------
    def snapshot(self) -> Project:
        """A detached copy of the project for worker threads."""
        return self.project.snapshot()

    # ---- lifetime ------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._unsubscribe()
        self.undo_stack.clear()
        self.project_file.close()


def describe(record: Any) -> str:
    """A short human name for a record in messages."""
    for attr in ("name", "title", "id"):
        value = getattr(record, attr, "")
        if value:
            return str(value)
    return type(record).__name__
