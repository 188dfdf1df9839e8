"""The voice bank's list: a model over the bank's voices (search + tags) and its two-line delegate.

Drags out of the list carry :data:`VOICE_MIME` (``application/x-chorus-voice``): the bank voice ids,
one per line. A widget that accepts them reads them with :func:`voice_ids_from_mime`.

Thread contract: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from studio.bank.records import VOICE_ID, BankVoice
from studio.bank.store import VoiceBank
from studio.ui import qt_theme

VOICE_MIME = "application/x-chorus-voice"
KIND_BADGE = {"clip": "clip", "profile": "profile", "piper": "piper"}


def voice_mime_data(voice_ids: Iterable[str]) -> QMimeData:
    """MIME data carrying bank voice ids (one per line) as :data:`VOICE_MIME`."""
    mime = QMimeData()
    mime.setData(VOICE_MIME, "\n".join(voice_ids).encode("utf-8"))
    return mime


def voice_ids_from_mime(mime: QMimeData | None) -> list[str]:
    """The bank voice ids a drag carries ([] if it carries none)."""
    if mime is None or not mime.hasFormat(VOICE_MIME):
        return []
    raw = bytes(mime.data(VOICE_MIME).data()).decode("utf-8", errors="replace")
    return [line.strip() for line in raw.splitlines() if VOICE_ID.match(line.strip())]


class QtVoiceListModel(QAbstractListModel):
    """Bank voices matching a search and tags, sorted by name; drags carry :data:`VOICE_MIME`."""

    IdRole = int(Qt.ItemDataRole.UserRole) + 1
    VoiceRole = int(Qt.ItemDataRole.UserRole) + 2

    def __init__(self, bank: VoiceBank, parent: Any = None) -> None:
        super().__init__(parent)
        self.bank = bank
        self.query = ""
        self.tags: tuple[str, ...] = ()
        self.voices: list[BankVoice] = []
        self.total = 0
        self.refresh()

    def set_filter(self, query: str | None = None, tags: Iterable[str] | None = None) -> None:
        if query is not None:
            self.query = query
        if tags is not None:
            self.tags = tuple(tags)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the bank: rows change in place when the same voices match, else the model resets."""
        voices = self.bank.list_voices(self.query, self.tags)
        self.total = self.bank.count()
        if [v.id for v in voices] == [v.id for v in self.voices]:
            changed = [i for i, (a, b) in enumerate(zip(self.voices, voices, strict=True)) if a != b]
            self.voices = voices
            for row in changed:
                index = self.index(row)
                self.dataChanged.emit(index, index)
            return
        self.beginResetModel()
        self.voices = voices
        self.endResetModel()

    def row_of(self, voice_id: str) -> int:
        for row, voice in enumerate(self.voices):
            if voice.id == voice_id:
                return row
        return -1

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.voices)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.voices):
            return None
        voice = self.voices[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return voice.name
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [voice.name]
            if voice.description:
                lines.append(voice.description)
            if voice.tags.labels():
                lines.append("Tags: " + ", ".join(voice.tags.labels()))
            lines.append("Drag onto a speaker to assign this voice")
            return "\n".join(lines)
        if role == self.IdRole:
            return voice.id
        if role == self.VoiceRole:
            return voice
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.isValid():
            return base | Qt.ItemFlag.ItemIsDragEnabled
        return base

    def mimeTypes(self) -> list[str]:
        return [VOICE_MIME]

    def mimeData(self, indexes: Any) -> QMimeData:
        ids = list(dict.fromkeys(self.voices[i.row()].id for i in indexes if i.isValid()))
        return voice_mime_data(ids)

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction


class QtVoiceDelegate(QStyledItemDelegate):
    """Two lines per voice: the name and a kind badge, then its tags."""

    PAD = 6

    @classmethod
    def row_height(cls, font: QFont) -> int:
        """The height of one voice row drawn in ``font``."""
        return QFontMetrics(font).height() * 2 + cls.PAD * 2 + 2

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(200, self.row_height(option.font))

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        voice: BankVoice | None = index.data(QtVoiceListModel.VoiceRole)
        if voice is None:
            return
        painter.save()
        rect: QRect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect, option.palette.highlight())
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(rect, QColor("#262a30"))
        painter.setPen(QColor(qt_theme.BORDER))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        fm = QFontMetrics(option.font)
        inner = rect.adjusted(self.PAD + 2, self.PAD, -self.PAD, -self.PAD)
        # badge: what a project will use, and how many clips
        badge = KIND_BADGE.get(voice.kind, voice.kind)
        if len(voice.clips) > 1:
            badge += f" ×{len(voice.clips)}"
        if any(c.notes() for c in voice.clips):
            badge = "⚠ " + badge
        small = QFont(option.font)
        small.setPointSizeF(max(6.0, option.font.pointSizeF() * 0.85))
        sfm = QFontMetrics(small)
        bw = sfm.horizontalAdvance(badge) + 10
        badge_rect = QRect(inner.right() - bw, inner.top() + 1, bw, fm.height() - 2)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#2f3d57") if voice.kind == "clip" else QColor("#3a3e45"))
        painter.drawRoundedRect(badge_rect, 3, 3)
        painter.setFont(small)
        painter.setPen(QColor("#bcd0ff") if voice.kind == "clip" else QColor(qt_theme.TEXT_DIM))
        painter.drawText(badge_rect, Qt.AlignmentFlag.AlignCenter, badge)
        # name
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(QColor("#ffffff") if selected else QColor(qt_theme.TEXT))
        name_rect = QRect(inner.left(), inner.top(), inner.width() - bw - 6, fm.height())
        name = QFontMetrics(bold).elidedText(voice.name, Qt.TextElideMode.ElideRight, name_rect.width())
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
        # tags (or the description when there are none)
        painter.setFont(small)
        painter.setPen(QColor("#c9d6f2") if selected else QColor(qt_theme.TEXT_DIM))
        labels = [label.split(":", 1)[-1] for label in voice.tags.labels()]
        second = " · ".join(labels) if labels else (voice.description or voice.profile or "no tags")
        tags_rect = QRect(inner.left(), inner.top() + fm.height() + 2, inner.width(), sfm.height())
        text = sfm.elidedText(" ".join(second.split()), Qt.TextElideMode.ElideRight, tags_rect.width())
        painter.drawText(tags_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        painter.restore()
