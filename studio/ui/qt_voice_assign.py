"""Assigning a bank voice to a speaker of a project, and the speaker strip that accepts voice drops.

:func:`assign_voice` embeds the voice (:func:`studio.bank.embed.embed_op`: the primary clip is
copied into the project's media) and, with a :class:`~studio.ui.qt_document.QtDocument`, pushes it
as one undo step that also marks the speaker's rendered lines stale.

Thread contract: GUI thread only (the document and the bank belong to it).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QDragEnterEvent, QDragMoveEvent, QDropEvent, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

from studio.bank.records import BankError
from studio.bank.store import VoiceBank
from studio.core.store import ProjectFile
from studio.render.casting import cast_bank_voice
from studio.render.project_edits import apply_now
from studio.ui.qt_document import QtDocument
from studio.ui.qt_voice_list import voice_ids_from_mime


def assign_voice(target: QtDocument | ProjectFile, speaker_id: str, bank: VoiceBank, voice_id: str) -> bool:
    """Embed bank voice ``voice_id`` into speaker ``speaker_id``; True if the speaker's voice changed.

    With a :class:`QtDocument` it is one undo step ("Assign voice …") that also marks the speaker's
    rendered lines stale; with a bare :class:`ProjectFile` the same edits are applied and committed
    (no undo stack). Raises BankError (no such speaker or voice, unreadable clip) with a message
    for the user; an edit the project refuses is reported through ``QtDocument.editFailed``.
    """
    project_file = target.project_file if isinstance(target, QtDocument) else target
    speaker = project_file.project.speakers.get(speaker_id)
    if speaker is None:
        raise BankError(f"the project has no speaker {speaker_id!r}")
    if not isinstance(target, QtDocument):
        return cast_bank_voice(project_file, speaker_id, bank, voice_id, apply_now(project_file.project))
    name = bank.get(voice_id).name
    with target.macro(f"Assign voice {name} to {speaker.name}"):
        return cast_bank_voice(project_file, speaker_id, bank, voice_id, target.edit)


class QtSpeakerDropList(QListWidget):
    """The open project's speakers; drop a voice from the bank list on one to assign it."""

    SpeakerRole = int(Qt.ItemDataRole.UserRole) + 1

    def __init__(self, on_drop: Callable[[str, str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("speakerDropList")
        self._on_drop = on_drop
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setUniformItemSizes(True)

    def set_speakers(self, rows: list[tuple[str, str, str, str]]) -> None:
        """(speaker id, text, colour, tooltip) per speaker."""
        current = self.current_speaker()
        self.clear()
        for speaker_id, text, colour, tip in rows:
            item = QListWidgetItem(text)
            item.setData(self.SpeakerRole, speaker_id)
            item.setIcon(_dot(colour))
            item.setToolTip(tip)
            self.addItem(item)
            if speaker_id == current:
                self.setCurrentItem(item)
        rows_shown = max(1, min(len(rows), 4))
        self.setFixedHeight(self.sizeHintForRow(0) * rows_shown + 2 * self.frameWidth() + 2 if rows else 28)

    def current_speaker(self) -> str | None:
        item = self.currentItem()
        return str(item.data(self.SpeakerRole)) if item is not None else None

    def speaker_at(self, pos: QPoint) -> str | None:
        item = self.itemAt(pos)
        return str(item.data(self.SpeakerRole)) if item is not None else None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if voice_ids_from_mime(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        speaker = self.speaker_at(event.position().toPoint())
        if speaker and voice_ids_from_mime(event.mimeData()):
            item = self.itemAt(event.position().toPoint())
            if item is not None:
                self.setCurrentItem(item)
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        speaker = self.speaker_at(event.position().toPoint())
        ids = voice_ids_from_mime(event.mimeData())
        if not speaker or not ids:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        self._on_drop(speaker, ids[0])


def _dot(colour: str, size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(colour))
    painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    return QIcon(pixmap)
