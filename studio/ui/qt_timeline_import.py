"""Audio files dropped on (or imported onto) the timeline become clips: copied into the project's
media and placed one after another, as ONE undo step.

Thread contract: GUI thread only.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject

from studio.core import ops
from studio.core.model import Track, TrackKind
from studio.ui.qt_document import QtDocument

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".m4a", ".aac", ".aif", ".aiff", ".opus", ".wma")


class QtAudioImporter(QObject):
    """Imports audio files into a document's timeline."""

    def __init__(self, doc: QtDocument, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc

    def import_audio(
        self, files: list[Path], at: float, track: Track | None = None, kind: TrackKind | None = None
    ) -> list[str]:
        """Copy audio files into the project's media and place them at ``at`` (one after another).

        ``track`` None: a new track of ``kind`` (default: music for music-like files, see
        :func:`studio.core.ops.kind_for_audio`, SFX otherwise). One undo step.
        """
        from studio.audio.decode import audio_info
        from studio.audio.errors import DecodeError
        from studio.core.store import ProjectError

        items: list[tuple[str, float]] = []
        for path in files:
            try:
                info = audio_info(path)
                media = self.doc.project_file.add_media(path)
            except (DecodeError, ProjectError, OSError) as exc:
                self.doc.report_failure(f"Cannot import {path.name}: {exc}")
                continue
            if kind is None and track is None:
                kind = ops.kind_for_audio(path.name, info.duration)
            items.append((media, info.duration))
        if not items:
            return []
        edit, clip_ids = ops.place_audio(
            self.doc.project, items, at, track_id=track.id if track is not None else "", kind=kind
        )
        if self.doc.edit(edit):
            self.doc.select(lines=(), clips=clip_ids)
            return clip_ids
        return []
