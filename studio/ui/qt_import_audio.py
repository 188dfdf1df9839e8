"""File ▸ Import audio: which track the files go on (a new music / SFX / humming track or an
existing one) and where (at the start or at the playhead).

Thread contract: GUI thread only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from studio.core import ops
from studio.core.model import TrackKind
from studio.core.project import Project
from studio.ui.qt_timeline_model import format_time


@dataclass(frozen=True)
class AudioPlacement:
    """Where imported audio goes: an existing ``track_id``, or a new track of ``kind``; from ``at`` s."""

    track_id: str
    kind: TrackKind | None
    at: float


class QtImportAudioDialog(QDialog):
    def __init__(
        self,
        project: Project,
        kind: TrackKind,
        playhead: float,
        selected_track: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("importAudioDialog")
        self.setWindowTitle("Import audio")
        self.playhead = playhead
        self.track = QComboBox(self)
        self.track.setObjectName("importTrack")
        for new_kind in ops.USER_TRACK_KINDS:
            self.track.addItem(f"New {ops.track_kind_label(new_kind)} track", f"new:{new_kind.value}")
        for track in project.tracks.values():
            if track.kind != TrackKind.DIALOGUE:
                self.track.addItem(f"{track.name} ({ops.track_kind_label(track.kind)})", f"track:{track.id}")
        chosen = self.track.findData(f"track:{selected_track}") if selected_track else -1
        self.track.setCurrentIndex(chosen if chosen >= 0 else self.track.findData(f"new:{kind.value}"))
        self.at_start = QRadioButton("At the start (0:00)", self)
        self.at_playhead = QRadioButton(f"At the playhead ({format_time(playhead, 1)})", self)
        music = chosen < 0 and kind == TrackKind.MUSIC
        (self.at_start if music or playhead <= 0 else self.at_playhead).setChecked(True)
        form = QFormLayout()
        form.addRow("Track", self.track)
        form.addRow("Place", self.at_start)
        form.addRow("", self.at_playhead)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def placement(self) -> AudioPlacement:
        what, _, value = str(self.track.currentData()).partition(":")
        at = 0.0 if self.at_start.isChecked() else self.playhead
        if what == "track":
            return AudioPlacement(value, None, at)
        return AudioPlacement("", TrackKind(value), at)


def default_kind(files: list[Path]) -> TrackKind:
    """Music when any file is music-like (see :func:`studio.core.ops.kind_for_audio`)."""
    from studio.audio.decode import audio_info
    from studio.audio.errors import DecodeError

    for path in files:
        try:
            duration = audio_info(path).duration
        except (DecodeError, OSError):
            continue
        if ops.kind_for_audio(path.name, duration) == TrackKind.MUSIC:
            return TrackKind.MUSIC
    return TrackKind.SFX
