"""File ▸ Import recording: a speaker's recording transcribed in the engine on a worker thread (with
progress and cancel), then added as recorded lines on the speaker's track in one undo step.

Thread contract: :meth:`QtRecordingImporter.start` on the GUI thread; transcription runs on a Python
thread; progress and the result come back to the GUI thread through queued signals.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from studio.recordings.audio import RecordingError
from studio.recordings.importer import ImportCancelled, engine_transcriber, import_batch, transcribe_in_chunks
from studio.render.client import EngineError
from studio.render.one_job import asr_client
from studio.ui.qt_document import QtDocument

# (project backend options) -> (transcribe function, shutdown function); tests inject a recogniser
TranscriberFactory = Callable[[dict[str, Any]], tuple[Callable[[str], Any], Callable[[], None]]]


def engine_transcriber_factory(options: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], None]]:
    client = asr_client(options)
    try:
        client.start()
    except EngineError as exc:
        raise RecordingError(f"the speech recogniser did not start: {exc}") from None
    return engine_transcriber(client), client.shutdown


class QtRecordingImporter(QObject):
    progress = Signal(float)
    heard = Signal(object, object)  # (source, speaker, heard, seconds), error text
    imported = Signal(object)  # ImportResult
    failed = Signal(str)

    def __init__(self, doc: QtDocument, factory: TranscriberFactory | None = None) -> None:
        super().__init__(doc)
        self.doc = doc
        self.factory = factory or engine_transcriber_factory
        self._cancel = threading.Event()
        self.worker: threading.Thread | None = None
        self.heard.connect(self._apply)

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.is_alive()

    def cancel(self) -> None:
        self._cancel.set()

    def start(self, path: str | Path, speaker: str) -> None:
        source = Path(path).expanduser()
        if not source.is_file():
            self.failed.emit(f"no such recording: {source}")
            return
        if not speaker.strip():
            self.failed.emit("a recording needs a speaker name")
            return
        options = self.doc.project.settings.backend_options_dict()
        self._cancel.clear()

        def run() -> None:
            began = time.monotonic()
            try:
                transcribe, shutdown = self.factory(options)
                try:
                    heard = transcribe_in_chunks(
                        source, transcribe, progress=self.progress.emit, cancelled=self._cancel.is_set
                    )
                finally:
                    shutdown()
            except ImportCancelled:
                self.heard.emit(None, "import cancelled: nothing was added")
                return
            except (RecordingError, OSError) as exc:
                self.heard.emit(None, str(exc))
                return
            self.heard.emit((source, speaker, heard, time.monotonic() - began), "")

        self.worker = threading.Thread(target=run, name="chorus-import-recording", daemon=True)
        self.worker.start()

    def _apply(self, payload: Any, error: str) -> None:
        if error:
            self.failed.emit(error)
            return
        source, speaker, heard, seconds = payload
        try:
            batch, result = import_batch(self.doc.project_file, source, speaker, heard, seconds)
        except RecordingError as exc:
            self.failed.emit(str(exc))
            return
        if self.doc.edit(batch, batch.label):
            self.imported.emit(result)
