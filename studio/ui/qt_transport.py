"""The transport bar: go to start, play/pause, stop, loop, the time display, and why there is no sound.

Thread contract: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStyle, QToolButton, QWidget

from studio.ui.qt_playback import QtPlayback
from studio.ui.qt_timeline_model import format_time


class QtTransport(QWidget):
    def __init__(self, playback: QtPlayback, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transport")
        self.playback = playback
        SP = QStyle.StandardPixmap
        self.to_start = self._button(SP.SP_MediaSkipBackward, "Go to start (Home)")
        self.play = self._button(SP.SP_MediaPlay, "Play / pause (Space)")
        self.stop = self._button(SP.SP_MediaStop, "Stop: back to where playback started")
        self.loop = QToolButton(self)
        self.loop.setText("Loop")
        self.loop.setToolTip("Loop the range set on the ruler (Shift+drag on the ruler)")
        self.loop.setCheckable(True)
        self.time = QLabel(format_time(0.0, 2))
        self.time.setObjectName("transportTime")
        self.time.setMinimumWidth(self.time.fontMetrics().horizontalAdvance("00:00:00.00") + 28)
        self.time.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.warning = QLabel()
        self.warning.setObjectName("transportWarning")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(2)
        for widget in (self.to_start, self.play, self.stop, self.loop):
            layout.addWidget(widget)
        layout.addSpacing(8)
        layout.addWidget(self.time)
        layout.addSpacing(8)
        layout.addWidget(self.warning, 1)

        self.to_start.clicked.connect(lambda: playback.seek(0.0))
        self.play.clicked.connect(playback.toggle)
        self.stop.clicked.connect(playback.stop)
        self.loop.toggled.connect(lambda on: playback.set_loop(on, playback.loop_range))
        playback.positionChanged.connect(self.show_position)
        playback.stateChanged.connect(self.show_state)
        playback.error.connect(self.show_warning)
        if not playback.available:
            self.show_warning(playback.reason)
            self.play.setToolTip(f"Playback unavailable — {playback.reason}")

    def _button(self, icon: QStyle.StandardPixmap, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(self.style().standardIcon(icon))
        button.setIconSize(QSize(18, 18))
        button.setToolTip(tip)
        button.setAutoRaise(True)
        return button

    def show_position(self, seconds: float) -> None:
        self.time.setText(format_time(seconds, 2))

    def show_state(self, playing: bool) -> None:
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play.setIcon(self.style().standardIcon(icon))
        if playing:
            self.warning.clear()

    def show_warning(self, text: str) -> None:
        self.warning.setText(text)
        self.warning.setToolTip(text)
