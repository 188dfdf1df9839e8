"""The Mixer panel: a channel strip per track (fader in dB, pan, mute/solo, ducking on music and
humming tracks) and the master strip (master gain, a loudness meter showing momentary, short-term
and integrated LUFS while playing, and the export loudness preset).

Fader and pan drags are one undo step each (see :class:`~studio.ui.qt_track_headers.QtTrackEditor`).

Thread contract: GUI thread only; meter readings arrive from :class:`~studio.ui.qt_playback.QtPlayback`
on the GUI thread.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
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
from studio.ui.qt_effects_rack import QtEffectsRack
from studio.ui.qt_playback import MeterReading
from studio.ui.qt_track_headers import GAIN_MAX_DB, GAIN_MIN_DB, QtTrackEditor

PRESETS = (
    ("podcast", "Podcast (−16 LUFS stereo / −19 mono)"),
    ("ebu", "EBU R128 broadcast (−23 LUFS)"),
    ("acx", "ACX audiobook (RMS −20 dB, peaks ≤ −3 dB)"),
    ("none", "No normalisation"),
)
METER_FLOOR = -60.0
STRIP_WIDTH = 74


def preset_target(preset: str, channels: int) -> float | None:
    return {"podcast": -16.0 if channels >= 2 else -19.0, "ebu": -23.0}.get(preset)


class QtLoudnessMeter(QWidget):
    """Three bars (M, S, I) in LUFS from −60 to 0, with the preset's target marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values = {"M": -math.inf, "S": -math.inf, "I": -math.inf}
        self.target: float | None = None
        self.setMinimumSize(70, 150)

    def sizeHint(self) -> QSize:
        return QSize(80, 180)

    def set_reading(self, reading: MeterReading | None) -> None:
        if reading is None:
            self.values = {"M": -math.inf, "S": -math.inf, "I": -math.inf}
        else:
            self.values = {"M": reading.momentary, "S": reading.short_term, "I": reading.integrated}
        self.update()

    def _y(self, lufs: float, top: float, height: float) -> float:
        v = min(0.0, max(METER_FLOOR, lufs))
        return top + height * (v / METER_FLOOR)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(qt_theme.BASE))
        top, bottom = 6.0, self.height() - 18.0
        height = bottom - top
        bar_w = (self.width() - 16) / 3
        p.setPen(QColor(qt_theme.TEXT_DIM))
        for i, (name, value) in enumerate(self.values.items()):
            x = 8 + i * bar_w
            p.fillRect(QRectF(x + 2, top, bar_w - 4, height), QColor("#15171a"))
            if math.isfinite(value):
                y = self._y(value, top, height)
                colour = (
                    qt_theme.METER_RED
                    if value > -9
                    else qt_theme.METER_YELLOW
                    if value > -18
                    else qt_theme.METER_GREEN
                )
                p.fillRect(QRectF(x + 2, y, bar_w - 4, bottom - y), QColor(colour))
            p.drawText(QRectF(x, bottom + 2, bar_w, 14), Qt.AlignmentFlag.AlignCenter, name)
        if self.target is not None:
            y = self._y(self.target, top, height)
            p.setPen(QColor(qt_theme.ACCENT))
            p.drawLine(4, int(y), self.width() - 4, int(y))
        p.end()


class QtChannelStrip(QFrame):
    def __init__(
        self, track: Track, editor: QtTrackEditor, colour: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("channelStrip")
        self.track = track
        self.editor = editor
        self._updating = False
        self.setFixedWidth(STRIP_WIDTH)
        self.name = QLabel(track.name)
        self.name.setObjectName("stripName")
        self.name.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.colour = QFrame()
        self.colour.setFixedHeight(4)
        self.colour.setStyleSheet(f"background:{colour};border-radius:2px;")
        self.pan = QSlider(Qt.Orientation.Horizontal)
        self.pan.setRange(-100, 100)
        self.pan.setToolTip("Pan (double-click the label to centre)")
        self.pan_label = QLabel()
        self.pan_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.fader = QSlider(Qt.Orientation.Vertical)
        self.fader.setRange(int(GAIN_MIN_DB * 10), int(GAIN_MAX_DB * 10))
        self.fader.setPageStep(30)
        self.fader.setMinimumHeight(110)
        self.db = QLabel()
        self.db.setObjectName("lufsValue")
        self.db.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.mute = QToolButton()
        self.mute.setObjectName("muteButton")
        self.mute.setText("M")
        self.mute.setCheckable(True)
        self.solo = QToolButton()
        self.solo.setObjectName("soloButton")
        self.solo.setText("S")
        self.solo.setCheckable(True)
        self.duck = QCheckBox("Duck")
        self.duck.setToolTip("Lower this track under the dialogue")
        self.duck_depth = QDoubleSpinBox()
        self.duck_depth.setRange(-40, 0)
        self.duck_depth.setSuffix(" dB")
        self.duck_depth.setDecimals(0)
        self.duck_depth.setKeyboardTracking(False)
        self.duck_depth.setToolTip("Ducking depth")
        self.fx = QToolButton()
        self.fx.setObjectName("fxButton")
        self.fx.setCheckable(True)
        self.fx.setToolTip("Effects: this track's insert chain and its speaker's voice chain")

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.mute)
        buttons.addWidget(self.solo)
        buttons.addStretch(1)
        fader_row = QHBoxLayout()
        fader_row.addStretch(1)
        fader_row.addWidget(self.fader)
        fader_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.colour)
        layout.addWidget(self.name)
        layout.addWidget(self.pan)
        layout.addWidget(self.pan_label)
        layout.addLayout(fader_row, 1)
        layout.addWidget(self.db)
        layout.addLayout(buttons)
        layout.addWidget(self.duck)
        layout.addWidget(self.duck_depth)
        layout.addWidget(self.fx)

        self.fader.sliderPressed.connect(editor.begin_drag)
        self.pan.sliderPressed.connect(editor.begin_drag)
        self.fader.valueChanged.connect(lambda v: self._edit(merge=True, gain_db=round(v / 10.0, 1)))
        self.pan.valueChanged.connect(lambda v: self._edit(merge=True, pan=round(v / 100.0, 2)))
        self.mute.toggled.connect(lambda on: self._edit(mute=on))
        self.solo.toggled.connect(lambda on: self._edit(solo=on))
        self.duck.toggled.connect(self._ducking)
        self.duck_depth.valueChanged.connect(self._ducking)
        self.set_track(track)

    def set_track(self, track: Track) -> None:
        self.track = track
        self._updating = True
        try:
            width = STRIP_WIDTH - 14
            self.name.setText(
                self.name.fontMetrics().elidedText(track.name, Qt.TextElideMode.ElideRight, width)
            )
            self.name.setToolTip(f"{track.name} ({track.kind.value})")
            self.fader.setValue(int(round(track.gain_db * 10)))
            self.db.setText(f"{track.gain_db:+.1f} dB")
            self.pan.setValue(int(round(track.pan * 100)))
            self.pan_label.setText(
                "C"
                if abs(track.pan) < 0.005
                else f"{'L' if track.pan < 0 else 'R'}{abs(track.pan) * 100:.0f}"
            )
            self.mute.setChecked(track.mute)
            self.solo.setChecked(track.solo)
            duckable = track.kind in (TrackKind.MUSIC, TrackKind.HUMMING)
            self.duck.setVisible(duckable)
            self.duck_depth.setVisible(duckable)
            self.duck.setChecked(track.ducking.enabled)
            self.duck_depth.setValue(track.ducking.depth_db)
            self.duck_depth.setEnabled(track.ducking.enabled)
            count = len(track.effects)
            self.fx.setText(f"FX {count}" if count else "FX")
        finally:
            self._updating = False

    def _edit(self, merge: bool = False, **changes: Any) -> None:
        if self._updating:
            return
        if not self.editor.set(self.track.id, merge=merge, **changes):
            self.set_track(self.editor.doc.project.tracks.get(self.track.id, self.track))

    def _ducking(self, *_: Any) -> None:
        if self._updating:
            return
        ducking = dataclasses.replace(
            self.track.ducking, enabled=self.duck.isChecked(), depth_db=float(self.duck_depth.value())
        )
        self.editor.set(self.track.id, merge=False, ducking=ducking)


class QtMixerPanel(QWidget):
    def __init__(self, doc: QtDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mixerPanel")
        self.doc = doc
        self.editor = QtTrackEditor(doc)
        self.strips: dict[str, QtChannelStrip] = {}
        self._updating = False

        self.strip_area = QWidget()
        self.strip_layout = QHBoxLayout(self.strip_area)
        self.strip_layout.setContentsMargins(4, 4, 4, 4)
        self.strip_layout.setSpacing(6)
        self.strip_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.strip_area)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        # Strips scroll sideways only: a vertical bar would sit over the last strip and cut it.
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.strip_scroll = scroll

        master = QFrame()
        master.setObjectName("masterStrip")
        master.setFixedWidth(178)
        title = QLabel("Master")
        title.setObjectName("stripName")
        self.master_fader = QSlider(Qt.Orientation.Vertical)
        self.master_fader.setRange(int(GAIN_MIN_DB * 10), int(GAIN_MAX_DB * 10))
        self.master_fader.setMinimumHeight(110)
        self.master_db = QLabel()
        self.master_db.setObjectName("lufsValue")
        self.master_db.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.meter = QtLoudnessMeter()
        self.lufs = QLabel()
        self.lufs.setObjectName("lufsValue")
        self.preset = QComboBox()
        for name, label in PRESETS:
            self.preset.addItem(label, name)
        self.preset.setToolTip("Loudness preset the export normalises to")
        fader_col = QVBoxLayout()
        fader_col.addWidget(self.master_fader, 1, Qt.AlignmentFlag.AlignHCenter)
        fader_col.addWidget(self.master_db)
        meters = QHBoxLayout()
        meters.addLayout(fader_col)
        meters.addWidget(self.meter, 1)
        mlayout = QVBoxLayout(master)
        mlayout.setContentsMargins(8, 6, 8, 6)
        mlayout.addWidget(title)
        mlayout.addLayout(meters, 1)
        mlayout.addWidget(self.lufs)
        mlayout.addWidget(QLabel("Export preset"))
        mlayout.addWidget(self.preset)

        self.rack = QtEffectsRack(doc)
        self.rack.setFixedWidth(270)
        self.rack.hide()

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.rack)
        layout.addWidget(master)

        self.master_fader.sliderPressed.connect(self.editor.begin_drag)
        self.master_fader.valueChanged.connect(self._master_gain)
        self.preset.activated.connect(self._preset)
        doc.changed.connect(self._on_change)
        self.rebuild()
        self._show_settings()
        self.show_reading(None)

    # ---- strips --------------------------------------------------------------------------
    def rebuild(self) -> None:
        for strip in self.strips.values():
            strip.setParent(None)
            strip.deleteLater()
        self.strips = {}
        colours = {
            TrackKind.MUSIC: qt_theme.MUSIC_CLIP,
            TrackKind.HUMMING: qt_theme.HUMMING_CLIP,
            TrackKind.SFX: qt_theme.SFX_CLIP,
        }
        for i, track in enumerate(self.doc.project.tracks.values()):
            speaker = self.doc.project.speakers.get(track.speaker_id)
            colour = speaker.colour if speaker else colours.get(track.kind, qt_theme.ACCENT)
            strip = QtChannelStrip(track, self.editor, colour)
            strip.fx.setChecked(self.rack.isVisibleTo(self) and self.rack.target_id == track.id)
            strip.fx.clicked.connect(lambda on, tid=track.id: self.show_effects(tid if on else ""))
            self.strip_layout.insertWidget(i, strip)
            self.strips[track.id] = strip
        self.strip_scroll.setMinimumHeight(
            self.strip_area.minimumSizeHint().height() + self.strip_scroll.horizontalScrollBar().sizeHint().height()
        )

    def show_effects(self, track_id: str) -> None:
        """Open the effects rack on a track's chain ("" closes it)."""
        for tid, strip in self.strips.items():
            strip.fx.setChecked(tid == track_id)
        if track_id and track_id in self.doc.project.tracks:
            self.rack.show_track(track_id)
            self.rack.show()
        else:
            self.rack.hide()

    def _on_change(self, change: Change) -> None:
        if change.kind == "track":
            if change.action == "update" and change.id in self.strips and isinstance(change.new, Track):
                self.strips[change.id].set_track(change.new)
            else:
                self.rebuild()
        elif change.kind == "settings":
            self._show_settings()
        elif change.kind == "speaker":
            self.rebuild()

    # ---- master --------------------------------------------------------------------------
    def _show_settings(self) -> None:
        s = self.doc.project.settings
        self._updating = True
        try:
            self.master_fader.setValue(int(round(s.master_gain_db * 10)))
            self.master_db.setText(f"{s.master_gain_db:+.1f} dB")
            self.preset.setCurrentIndex(max(0, self.preset.findData(s.export_preset)))
            self.meter.target = preset_target(s.export_preset, s.channels)
            self.meter.update()
        finally:
            self._updating = False

    def _master_gain(self, value: int) -> None:
        if self._updating:
            return
        gain = round(value / 10.0, 1)
        if gain != self.doc.project.settings.master_gain_db:
            self.doc.edit(
                ops.set_settings(master_gain_db=gain),
                "Master gain",
                merge_key=f"master:{self.editor._serial}",
            )

    def _preset(self) -> None:
        preset = str(self.preset.currentData())
        if preset != self.doc.project.settings.export_preset:
            self.doc.edit(ops.set_settings(export_preset=preset), "Export preset")

    def show_reading(self, reading: MeterReading | None) -> None:
        self.meter.set_reading(reading)
        if reading is None:
            self.lufs.setText("M  —   S  —\nI  —  LUFS")
            return

        def fmt(v: float) -> str:
            return f"{v:5.1f}" if math.isfinite(v) else "  —"

        self.lufs.setText(
            f"M {fmt(reading.momentary)}  S {fmt(reading.short_term)}\nI {fmt(reading.integrated)} LUFS"
        )
