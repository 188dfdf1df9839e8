"""Track headers beside the timeline: colour, name, mute/solo and gain for each track row.

Rows follow the timeline model (including the "new track" rows of speakers whose first line is
rendering). A gain drag is one undo step: every value change is an edit merged into the step that
began when the slider was pressed.

Thread contract: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QContextMenuEvent, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core import ops
from studio.core.model import Track, TrackKind
from studio.core.project import Change
from studio.ui import qt_theme
from studio.ui.qt_document import QtDocument
from studio.ui.qt_timeline_model import QtTimelineModel, Row

HEADER_WIDTH = 190
GAIN_MIN_DB = -60.0
GAIN_MAX_DB = 12.0


class QtTrackEditor:
    """Track edits shared by the headers and the mixer: a drag (press → release) is one undo step."""

    def __init__(self, doc: QtDocument) -> None:
        self.doc = doc
        self._serial = 0

    def begin_drag(self) -> None:
        self._serial += 1

    def set(self, track_id: str, merge: bool = False, **changes: object) -> bool:
        track = self.doc.project.tracks.get(track_id)
        if track is None or all(getattr(track, k) == v for k, v in changes.items()):
            return False
        names = "/".join(sorted(changes))
        label = {
            "mute": "Mute track" if changes.get("mute") else "Unmute track",
            "solo": "Solo track" if changes.get("solo") else "Unsolo track",
            "gain_db": f"Track gain ({track.name})",
            "pan": f"Track pan ({track.name})",
        }.get(names, f"Track settings ({track.name})")
        key = f"track:{track_id}:{names}:{self._serial}" if merge else ""
        return self.doc.edit(ops.set_track(track_id, **changes), label, merge_key=key)

    def _named(self, make: Callable[[], ops.Op]) -> bool:
        try:
            return self.doc.edit(make())
        except ops.EditError as exc:
            self.doc.report_failure(str(exc))
            return False

    def add_track(self, kind: TrackKind) -> str:
        """A new music / SFX / humming track, selected; its id ("" if refused)."""
        try:
            insert = ops.add_track(self.doc.project, kind)
        except ops.EditError as exc:
            self.doc.report_failure(str(exc))
            return ""
        if not self.doc.edit(insert):
            return ""
        self.doc.select(track=insert.record.id)
        return str(insert.record.id)

    def rename(self, track_id: str, name: str) -> bool:
        return self._named(lambda: ops.rename_track(self.doc.project, track_id, name))

    def change_kind(self, track_id: str, kind: TrackKind) -> bool:
        return self._named(lambda: ops.change_track_kind(self.doc.project, track_id, kind))

    def delete(self, track_id: str) -> bool:
        return self._named(lambda: ops.delete_track(self.doc.project, track_id))

    def menu(self, track: Track | None, parent: QWidget) -> QMenu:
        """The track context menu: add a track; rename, change kind or delete this one."""
        menu = QMenu(parent)
        for kind in ops.USER_TRACK_KINDS:
            menu.addAction(f"Add {ops.track_kind_label(kind)} track", partial(self.add_track, kind))
        if track is None:
            return menu
        menu.addSeparator()
        menu.addAction(f"Rename “{track.name}”…", lambda: self._ask_rename(track, parent))
        user_track = track.kind != TrackKind.DIALOGUE
        kinds = menu.addMenu("Change kind")
        kinds.setEnabled(user_track)
        for kind in ops.USER_TRACK_KINDS:
            label = ops.track_kind_label(kind)
            action = kinds.addAction(label[0].upper() + label[1:], partial(self.change_kind, track.id, kind))
            action.setCheckable(True)
            action.setChecked(kind == track.kind)
        delete = menu.addAction("Delete track", lambda: self.delete(track.id))
        delete.setEnabled(user_track)
        return menu

    def _ask_rename(self, track: Track, parent: QWidget) -> None:
        name, ok = QInputDialog.getText(parent, "Rename track", "Name", text=track.name)
        if ok:
            self.rename(track.id, name)


class QtTrackHeader(QFrame):
    def __init__(self, row: Row, editor: QtTrackEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trackHeader")
        self.row = row
        self.editor = editor
        self._updating = False
        self.name = QLabel(row.name, self)
        self.name.setObjectName("trackName")
        font = self.name.font()
        font.setBold(True)
        self.name.setFont(font)
        self.kind = QLabel(self)
        self.kind.setObjectName("placeholder")
        self.mute = QToolButton(self)
        self.mute.setObjectName("muteButton")
        self.mute.setText("M")
        self.mute.setCheckable(True)
        self.mute.setToolTip("Mute this track")
        self.solo = QToolButton(self)
        self.solo.setObjectName("soloButton")
        self.solo.setText("S")
        self.solo.setCheckable(True)
        self.solo.setToolTip("Solo this track")
        self.gain = QSlider(Qt.Orientation.Horizontal, self)
        self.gain.setRange(int(GAIN_MIN_DB * 10), int(GAIN_MAX_DB * 10))
        self.gain.setPageStep(10)
        self.gain_label = QLabel(self)
        self.gain_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("-60.0 dB") + 4)
        self.gain_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(4)
        top.addWidget(self.name, 1)
        top.addWidget(self.mute)
        top.addWidget(self.solo)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.setSpacing(4)
        bottom.addWidget(self.gain, 1)
        bottom.addWidget(self.gain_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 4, 6, 4)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.kind)
        layout.addLayout(bottom)
        layout.addStretch(1)

        self.mute.toggled.connect(lambda on: self._edit(mute=on))
        self.solo.toggled.connect(lambda on: self._edit(solo=on))
        self.gain.sliderPressed.connect(editor.begin_drag)
        self.gain.valueChanged.connect(lambda v: self._edit(merge=True, gain_db=round(v / 10.0, 1)))
        self.set_row(row)

    def set_row(self, row: Row) -> None:
        self.row = row
        self._updating = True
        try:
            self.name.setText(row.name)
            track = row.track
            enabled = track is not None
            for widget in (self.mute, self.solo, self.gain):
                widget.setEnabled(enabled)
            if track is None:
                self.kind.setText("new track · rendering")
                self.gain_label.setText("")
                return
            self.kind.setText(track.kind.value)
            self.mute.setChecked(track.mute)
            self.solo.setChecked(track.solo)
            self.gain.setValue(int(round(track.gain_db * 10)))
            self.gain_label.setText(f"{track.gain_db:+.1f} dB")
            self.gain.setToolTip(f"Track gain {track.gain_db:+.1f} dB")
        finally:
            self._updating = False
        self.update()

    def set_compact(self, compact: bool) -> None:
        self.kind.setVisible(not compact)
        self.gain.setVisible(not compact)
        self.gain_label.setVisible(not compact)

    def _edit(self, merge: bool = False, **changes: object) -> None:
        if self._updating or self.row.track is None:
            return
        if not self.editor.set(self.row.track.id, merge=merge, **changes):
            self.set_row(self.row)  # refused: show the model's value again

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Clicking a header selects its track (the Inspector then shows it)."""
        if self.row.track is not None:
            self.editor.doc.select(track=self.row.track.id, clips=(), lines=())
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.row.track is not None:
            self.editor._ask_rename(self.row.track, self)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if self.row.track is not None:
            self.editor.doc.select(track=self.row.track.id, clips=(), lines=())
        self.editor.menu(self.row.track, self).exec(event.globalPos())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(qt_theme.PANEL))
        painter.fillRect(0, 0, 4, self.height(), QColor(self.row.colour))
        painter.fillRect(0, self.height() - 1, self.width(), 1, QColor(qt_theme.TRACK_SEPARATOR))
        if self.row.track is not None and self.row.track.id == getattr(self.parent(), "selected_track", ""):
            painter.fillRect(4, 0, 2, self.height(), QColor(qt_theme.ACCENT))
        painter.end()


class QtTrackHeaders(QWidget):
    """The column of headers; ``y_offset`` scrolls it with the canvas."""

    def __init__(self, doc: QtDocument, model: QtTimelineModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trackHeaders")
        self.doc = doc
        self.model = model
        self.editor = QtTrackEditor(doc)
        self.track_height = 84
        self.y_offset = 0
        self.headers: dict[str, QtTrackHeader] = {}
        self.setFixedWidth(HEADER_WIDTH)
        model.rowsChanged.connect(self.rebuild)
        doc.changed.connect(self._on_change)
        doc.selectionChanged.connect(self.update_selection)
        self.rebuild()

    @property
    def selected_track(self) -> str:
        return self.doc.selected_track

    def sizeHint(self) -> QSize:
        return QSize(HEADER_WIDTH, 400)

    def header(self, track_id: str) -> QtTrackHeader | None:
        return self.headers.get(track_id)

    def rebuild(self) -> None:
        keep: dict[str, QtTrackHeader] = {}
        for row in self.model.rows:
            header = self.headers.pop(row.key, None)
            if header is None:
                header = QtTrackHeader(row, self.editor, self)
                header.show()
            else:
                header.set_row(row)
            keep[row.key] = header
        for header in self.headers.values():
            header.deleteLater()
        self.headers = keep
        self._place()

    def set_geometry(self, track_height: int, y_offset: int) -> None:
        self.track_height = track_height
        self.y_offset = y_offset
        self._place()

    def _place(self) -> None:
        if any(row.key not in self.headers for row in self.model.rows):
            self.rebuild()  # rows changed and this is the first to hear of it
            return
        for i, row in enumerate(self.model.rows):
            header = self.headers[row.key]
            header.setGeometry(0, i * self.track_height - self.y_offset, self.width(), self.track_height)
            header.set_compact(self.track_height < 64)

    def resizeEvent(self, event: object) -> None:
        self._place()

    def update_selection(self) -> None:
        for header in self.headers.values():
            header.update()

    def _on_change(self, change: Change) -> None:
        if change.kind == "track" and change.action == "update" and isinstance(change.new, Track):
            header = self.headers.get(change.id)
            row = self.model.row_for_track(change.id)
            if header is not None and row is not None:
                row.track = change.new
                row.name = change.new.name
                header.set_row(row)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        self.editor.menu(None, self).exec(event.globalPos())  # below the last track: add one

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(qt_theme.TIMELINE_BG))
        painter.end()
