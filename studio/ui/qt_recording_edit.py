"""Editing a recorded line by typing: deleted words are cut at once; replaced or inserted words are
rendered in the speaker's own voice (cloned from the same recording) on a worker thread and patched in.

The plan comes from :func:`studio.recordings.text_edit.plan_text_edit`; cuts and patches are the
Qt-free edits of :mod:`studio.recordings.edit`. Every change is an undo step; the recording itself is
never modified. With a backend that cannot clone (Piper) the cuts still happen and the panel says why
the replaced words were not patched.

Thread contract: :func:`edit_recorded_text` on the GUI thread; the patch renders on a Python thread
and its result is applied back on the GUI thread through a queued signal.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QObject, Signal

from studio.core.model import ScriptLine
from studio.recordings.audio import RecordingError
from studio.recordings.edit import CLONING_BACKENDS, cut_words, patch_words
from studio.recordings.text_edit import WordChange, plan_text_edit
from studio.render.one_job import OneJobError, render_one
from studio.ui.qt_document import QtDocument


class _SnapshotTarget:
    """What patch_words needs of a project file, over a snapshot (the worker never reads the live project)."""

    def __init__(self, doc: QtDocument) -> None:
        self.project = doc.project.snapshot()
        self.media_path = doc.media_path
        self.add_media = doc.project_file.add_media


class QtPatcher(QObject):
    """Renders patches one after another off the GUI thread; ``finished`` carries (label, batch or error)."""

    finished = Signal(str, object, str)  # line id, ops.Batch | None, error text
    busy = Signal(str)  # a status line while a patch renders

    def __init__(self, doc: QtDocument) -> None:
        super().__init__(doc)
        self.doc = doc
        self.finished.connect(self._apply)
        self.threads: list[threading.Thread] = []

    def start(self, line_id: str, changes: list[WordChange]) -> None:
        settings = self.doc.project.settings
        backend, options = settings.backend, settings.backend_options_dict()
        target = _SnapshotTarget(self.doc)

        def render(job: Any) -> str:
            try:
                return render_one(backend, options, job)
            except OneJobError as exc:
                raise RecordingError(f"the patch was not rendered: {exc}") from None

        def run() -> None:
            for change in changes:
                self.busy.emit(f"Rendering “{change.new}” in the speaker's voice…")
                try:
                    batch, _media = patch_words(target, line_id, change.old, change.new, render, backend=backend)
                except (RecordingError, OSError) as exc:
                    self.finished.emit(line_id, None, str(exc))
                    return
                target.project.apply(batch)  # later patches of the same edit see this one
                self.finished.emit(line_id, batch, "")

        thread = threading.Thread(target=run, name="chorus-patch", daemon=True)
        self.threads.append(thread)
        thread.start()

    def _apply(self, line_id: str, batch: Any, error: str) -> None:
        if error:
            self.doc.report_failure(f"{line_id}: {error}")
            return
        self.doc.edit(batch, batch.label)

    def wait(self, timeout: float = 60.0) -> None:
        """For tests: wait for running patches (their results still arrive through the event loop)."""
        for thread in self.threads:
            thread.join(timeout)


def edit_recorded_text(doc: QtDocument, line: ScriptLine, text: str, patcher: QtPatcher | None = None) -> bool:
    """Make a recorded line say ``text``: cuts now (one undo step), patches on a worker (one step each).
    Returns True if anything was changed or started."""
    try:
        plan = plan_text_edit(line, text)
    except RecordingError as exc:
        doc.report_failure(str(exc))
        return False
    if not plan:
        return False
    cuts = [c for c in plan if c.is_cut]
    patches = [c for c in plan if not c.is_cut]
    changed = False
    if cuts:
        with doc.macro(f"Cut words from {line.id}"):
            for change in cuts:
                try:
                    changed = doc.edit(cut_words(doc.project, line.id, change.old, doc.media_path)) or changed
                except RecordingError as exc:
                    doc.report_failure(str(exc))
    if patches:
        backend = doc.project.settings.backend
        if backend not in CLONING_BACKENDS:
            words = ", ".join(f"“{c.old}” → “{c.new}”" for c in patches)
            doc.report_failure(
                f"{words}: patching words needs a cloning backend (Higgs, or a remote server that clones); "
                f"this project renders with {backend} — cutting words still works"
            )
        else:
            (patcher or QtPatcher(doc)).start(line.id, patches)
            changed = True
    return changed
