"""Audio files dropped on (or imported onto) the timeline become clips, without blocking the GUI.

Reading, hashing and fsyncing a file into the project's media (:func:`studio.audio.media_import.run`)
runs on a worker thread; the GUI thread only starts it, shows its progress (``progressChanged``, read
from the job's state by a QTimer — no signal is emitted from the worker) and, when it is done, places
the clips one after another as ONE undo step and selects them. Files that cannot be imported are
reported through the document (``editFailed``), the others still land. A request is a snapshot with
an id; an importer that is gone (its project closed) drops its result.

Thread contract: GUI thread only (the job itself is described in :mod:`studio.audio.media_import`).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from studio.audio.media_import import ImportRequest, ImportResult, run
from studio.core import ops
from studio.core.model import Track, TrackKind
from studio.ui.qt_document import QtDocument

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".m4a", ".aac", ".aif", ".aiff", ".opus", ".wma")
POLL_MS = 40


class _State:
    """The job's side of the conversation: plain attributes, written by the worker, read by the GUI."""

    def __init__(self) -> None:
        self.progress = 0.0
        self.cancel = threading.Event()

    def set_progress(self, fraction: float) -> None:
        self.progress = fraction

    def is_cancel_requested(self) -> bool:
        return self.cancel.is_set()


@dataclass
class ImportJob:
    """One import in flight; :attr:`clip_ids` fill in when it lands (GUI thread)."""

    request: ImportRequest
    at: float
    track_id: str
    kind: TrackKind | None
    state: _State = field(default_factory=_State)
    future: Future[ImportResult] | None = None
    done: bool = False
    clip_ids: list[str] = field(default_factory=list)
    failures: tuple[str, ...] = ()
    cancelled: bool = False

    @property
    def progress(self) -> float:
        return self.state.progress

    def cancel(self) -> None:
        self.state.cancel.set()

    def wait(self, timeout: float = 30.0) -> list[str]:
        """Process events until the job has landed (for tests and scripts; the studio never waits)."""
        deadline = time.monotonic() + timeout
        while not self.done:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the import of {len(self.request.files)} file(s) did not finish")
            QCoreApplication.processEvents()
            time.sleep(0.002)
        return self.clip_ids


class QtAudioImporter(QObject):
    """Imports audio files into a document's timeline on a worker thread (see the module docstring)."""

    progressChanged = Signal(float, str)  # fraction, what is being imported
    finished = Signal(object)  # the ImportJob, landed

    def __init__(self, doc: QtDocument, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.jobs: list[ImportJob] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chorus-import")
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        self.destroyed.connect(lambda *_: self._pool.shutdown(wait=False, cancel_futures=True))

    @property
    def busy(self) -> bool:
        return bool(self.jobs)

    def import_audio(
        self, files: list[Path], at: float, track: Track | None = None, kind: TrackKind | None = None
    ) -> ImportJob:
        """Start copying ``files`` into the project's media; they are placed at ``at`` (one after
        another) when the copy is done. ``track`` None: a new track of ``kind`` (default: music for
        music-like files, see :func:`studio.core.ops.kind_for_audio`, SFX otherwise)."""
        request = ImportRequest(tuple(Path(f) for f in files), self.doc.project_file.media_dir)
        job = ImportJob(request, at, track.id if track is not None else "", kind)
        job.future = self._pool.submit(run, request, job.state)
        self.jobs.append(job)
        self._timer.start()
        self.progressChanged.emit(0.0, self._label(job))
        return job

    def cancel_all(self) -> None:
        for job in self.jobs:
            job.cancel()

    def shutdown(self) -> None:
        self.cancel_all()
        self._timer.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)

    # ---- GUI thread -------------------------------------------------------------------------
    def _label(self, job: ImportJob) -> str:
        files = job.request.files
        return files[0].name if len(files) == 1 else f"{len(files)} files"

    def _poll(self) -> None:
        for job in list(self.jobs):
            future = job.future
            if future is None or not future.done():
                self.progressChanged.emit(job.progress, self._label(job))
                continue
            self.jobs.remove(job)
            try:
                result = future.result()
            except Exception as exc:  # a bug in the job: a message, not a traceback
                result = ImportResult(job.request.request_id, (), (f"Cannot import: {exc}",))
            self._land(job, result)
        if not self.jobs:
            self._timer.stop()

    def _land(self, job: ImportJob, result: ImportResult) -> None:
        """Place what was imported (one undo step) and select it."""
        job.failures = result.failures
        job.cancelled = result.cancelled
        for text in result.failures:
            self.doc.report_failure(text)
        project = self.doc.project
        items: list[tuple[str, float]] = []
        kind = job.kind
        track_id = job.track_id if job.track_id in project.tracks else ""
        for item in result.imported:
            project.missing_media.discard(item.media)
            if kind is None and not track_id:
                kind = ops.kind_for_audio(item.path.name, item.duration)
            items.append((item.media, item.duration))
        if items and not result.cancelled:
            edit, clip_ids = ops.place_audio(project, items, job.at, track_id=track_id, kind=kind)
            if self.doc.edit(edit):
                self.doc.select(lines=(), clips=clip_ids)
                job.clip_ids = list(clip_ids)
        job.done = True
        self.progressChanged.emit(1.0, self._label(job))
        self.finished.emit(job)
