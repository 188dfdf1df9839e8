"""Settings ▸ Audio output: choose the output device (a studio preference of this computer).

The list comes from :class:`studio.audio.device_streams.DeviceStreams`; the choice is stored as the
``output_device`` studio preference (:data:`studio.core.settings_schema.STUDIO_PARAMS`) by name, so
it survives devices being re-numbered. A saved device that is not connected stays in the list,
marked, with a line saying that the system default plays instead. Without PortAudio the dialog
says why and offers nothing to choose.

Thread contract: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from studio.audio.device_streams import AudioDevice, AudioDeviceError, DeviceStreams

DEFAULT_LABEL = "System default"


class QtAudioOutputDialog(QDialog):
    """Pick the output device; :attr:`choice` is the name to save ("" = the system default)."""

    def __init__(self, streams: DeviceStreams, saved: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Audio output")
        self.setObjectName("audioOutputDialog")
        self.streams = streams
        self.saved = saved
        self.devices: list[AudioDevice] = []
        self.combo = QComboBox(self)
        self.combo.setObjectName("outputDevice")
        self.details = QLabel(self)
        self.details.setWordWrap(True)
        self.warning = QLabel(self)
        self.warning.setObjectName("transportWarning")
        self.warning.setWordWrap(True)
        try:
            self.devices = streams.outputs()
            error = "" if self.devices else "No audio output device was found."
        except AudioDeviceError as exc:
            error = str(exc)
        self.combo.addItem(DEFAULT_LABEL, "")
        for device in self.devices:
            self.combo.addItem(device.label, device.name)
        if saved:
            index = self.combo.findData(saved)
            if index < 0:
                try:
                    self.warning.setText(streams.choose_output(saved).message)
                except AudioDeviceError as exc:
                    self.warning.setText(str(exc))
                self.combo.addItem(f"{saved} (not connected)", saved)
                index = self.combo.count() - 1
            self.combo.setCurrentIndex(index)
        if error:
            self.warning.setText(error)
            self.combo.setEnabled(False)
        self.combo.currentIndexChanged.connect(self._show_details)
        self._show_details()

        form = QFormLayout()
        form.addRow("Output device", self.combo)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, parent=self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        note = QLabel(
            "Where playback, auditions and takes are heard on this computer (not saved in the project)."
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(self.details)
        layout.addWidget(self.warning)
        layout.addWidget(buttons)

    @property
    def choice(self) -> str:
        return str(self.combo.currentData() or "")

    def _show_details(self) -> None:
        name = self.choice
        device = next((d for d in self.devices if d.name == name), None)
        if device is None and not name:
            device = next((d for d in self.devices if d.is_default_output), None)
        if device is None:
            self.details.setText("")
            return
        self.details.setText(
            f"{device.name}: {device.outputs} channel(s), {device.default_rate} Hz by default, "
            f"about {device.output_latency * 1000:.0f} ms output latency (the playhead allows for it)."
        )
