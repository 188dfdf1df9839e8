"""Speakers: the dialog that defines one (name, colour, voice) and the one that manages them all.

A voice is a Piper voice (the bundled one or a ``.onnx`` file, plus a variant), a reference clip +
its transcript (the clip is copied into the project's media, so the project stays self-contained),
or a text profile. Until the voice bank panel lands, this is where voices are set.

Changing a voice makes that speaker's rendered lines stale — in the same undo step.

Thread contract: GUI thread only.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio.core.model import SPEAKER_COLOURS, Speaker, Voice, VoiceKind, new_id
from studio.core.project import Change
from studio.core.store import ProjectError
from studio.render import project_edits
from studio.render.casting import CastError, backend_warning, check_name, make_voice, voice_summary
from studio.ui.qt_document import QtDocument

VOICE_KINDS = (
    (VoiceKind.PIPER, "Piper voice (CPU)"),
    (VoiceKind.CLIP, "Reference clip + transcript (cloning)"),
    (VoiceKind.PROFILE, "Text profile"),
    (VoiceKind.SMART, "Smart voice (the model chooses)"),
)


class SpeakerInputError(ValueError):
    """What the user typed cannot make a speaker (the message says what to fix)."""


class QtSpeakerDialog(QDialog):
    """Edit ``speaker`` (None = a new one). ``result_speaker()`` builds the record after accept."""

    def __init__(
        self, doc: QtDocument, speaker: Speaker | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.doc = doc
        self.original = speaker
        self.setWindowTitle("Edit speaker" if speaker else "New speaker")
        self.setMinimumWidth(460)
        voice = speaker.voice if speaker else Voice(variant=len(doc.project.speakers))
        self._colour = (
            speaker.colour if speaker else SPEAKER_COLOURS[len(doc.project.speakers) % len(SPEAKER_COLOURS)]
        )
        self._clip_source: Path | None = None  # a new reference clip chosen in this dialog

        self.name = QLineEdit(speaker.name if speaker else "")
        self.name.setPlaceholderText("e.g. Maya")
        self.colour_button = QPushButton()
        self.colour_button.clicked.connect(self._pick_colour)
        self._show_colour()
        self.kind = QComboBox()
        for kind, label in VOICE_KINDS:
            self.kind.addItem(label, kind)
        self.kind.setCurrentIndex(max(0, self.kind.findData(voice.kind)))

        self.pages = QStackedWidget()
        # Piper
        piper = QWidget()
        form = QFormLayout(piper)
        self.piper_model = QLineEdit(voice.piper_model)
        self.piper_model.setPlaceholderText("bundled voice (en_US joe)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_piper)
        row = QHBoxLayout()
        row.addWidget(self.piper_model, 1)
        row.addWidget(browse)
        self.variant = QSpinBox()
        self.variant.setRange(0, 15)
        self.variant.setValue(voice.variant)
        self.variant.setToolTip("Piper variant: a stable rate and pitch, distinct per speaker")
        form.addRow("Model (.onnx)", row)
        form.addRow("Variant", self.variant)
        # Clip
        clip = QWidget()
        form = QFormLayout(clip)
        self.clip_label = QLabel(voice.clip_media or "no clip chosen")
        self.clip_label.setObjectName("placeholder")
        choose = QPushButton("Choose clip…")
        choose.clicked.connect(self._browse_clip)
        row2 = QHBoxLayout()
        row2.addWidget(self.clip_label, 1)
        row2.addWidget(choose)
        self.transcript = QPlainTextEdit(voice.transcript)
        self.transcript.setPlaceholderText("Exactly what is said in the clip")
        self.transcript.setFixedHeight(70)
        form.addRow("Reference", row2)
        form.addRow("Transcript", self.transcript)
        # Profile
        profile = QWidget()
        form = QFormLayout(profile)
        self.profile = QPlainTextEdit(voice.profile)
        self.profile.setPlaceholderText("e.g. Female, mid-30s, warm, slight British accent, calm")
        self.profile.setFixedHeight(70)
        form.addRow("Profile", self.profile)
        # Smart
        smart = QLabel("The model picks a fitting voice from the scene and the text (Higgs only).")
        smart.setWordWrap(True)
        for page in (piper, clip, profile, smart):
            self.pages.addWidget(page)
        self.kind.currentIndexChanged.connect(self.pages.setCurrentIndex)
        self.pages.setCurrentIndex(self.kind.currentIndex())

        self.error = QLabel()
        self.error.setObjectName("transportWarning")
        self.error.setWordWrap(True)
        # What the project's backend cannot speak, said while choosing (not when its lines fail).
        self.backend_note = QLabel()
        self.backend_note.setObjectName("transportWarning")
        self.backend_note.setWordWrap(True)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        top = QFormLayout()
        top.addRow("Name", self.name)
        top.addRow("Colour", self.colour_button)
        top.addRow("Voice", self.kind)
        layout.addLayout(top)
        layout.addWidget(self.pages)
        layout.addWidget(self.backend_note)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    # ---- inputs --------------------------------------------------------------------------
    def _kind_changed(self, *_: object) -> None:
        """A new voice kind: the last error was about the old one; say what the backend can't do."""
        self.error.clear()
        backend = self.doc.project.settings.backend
        warning = backend_warning(backend, Voice(kind=VoiceKind(self.kind.currentData())))
        self.backend_note.setText(f"⚠ {warning}" if warning else "")
        self.backend_note.setVisible(bool(warning))

    def _show_colour(self) -> None:
        self.colour_button.setText(self._colour)
        text = "#000" if QColor(self._colour).lightness() > 140 else "#fff"
        self.colour_button.setStyleSheet(f"background:{self._colour};color:{text};")

    def _pick_colour(self) -> None:
        colour = QColorDialog.getColor(QColor(self._colour), self, "Speaker colour")
        if colour.isValid():
            self.set_colour(colour.name())

    def set_colour(self, colour: str) -> None:
        self._colour = colour
        self._show_colour()

    def _browse_piper(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Piper voice", "", "Piper voices (*.onnx)")
        if path:
            self.piper_model.setText(path)

    def _browse_clip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Reference clip", "", "Audio (*.wav *.flac *.mp3 *.ogg *.m4a)"
        )
        if path:
            self.set_clip(Path(path))

    def set_clip(self, path: Path) -> None:
        self._clip_source = path
        self.clip_label.setText(path.name)

    # ---- result --------------------------------------------------------------------------
    def result_speaker(self) -> Speaker:
        """The speaker as entered (copies a new reference clip into the project's media)."""
        speaker_id = self.original.id if self.original else None
        try:
            name = check_name(self.doc.project, self.name.text(), speaker_id)
            kind = VoiceKind(self.kind.currentData())
            old = self.original.voice if self.original else Voice()
            media = ""
            if kind == VoiceKind.CLIP and self._clip_source is not None:
                try:
                    media = self.doc.project_file.add_media(self._clip_source)
                except ProjectError as exc:
                    raise SpeakerInputError(str(exc)) from None
            voice = make_voice(
                kind,
                old=old,
                piper_model=self.piper_model.text(),
                variant=self.variant.value(),
                clip_media=media,
                transcript=self.transcript.toPlainText(),
                profile=self.profile.toPlainText(),
            )
        except CastError as exc:
            raise SpeakerInputError(str(exc)) from None
        return Speaker(speaker_id or new_id("spk"), name, self._colour, voice)

    def accept(self) -> None:
        try:
            self.speaker = self.result_speaker()
        except SpeakerInputError as exc:
            self.error.setText(str(exc))
            return
        super().accept()


def save_speaker(doc: QtDocument, speaker: Speaker) -> bool:
    """Add or update ``speaker``; lines whose voice changed go stale in the same undo step."""
    old = doc.project.speakers.get(speaker.id)
    if old == speaker:
        return False
    label = f"Add speaker {speaker.name}" if old is None else f"Edit speaker {speaker.name}"
    with doc.macro(label):
        return project_edits.save_speaker(doc.project, doc.media_dir, speaker, doc.edit)


def remove_speaker(doc: QtDocument, speaker_id: str) -> str:
    """Remove a speaker no line uses; returns "" or the reason it was refused."""
    return project_edits.remove_speaker(doc.project, speaker_id, doc.edit)


class QtSpeakersDialog(QDialog):
    """The list of speakers with Add / Edit / Remove."""

    def __init__(self, doc: QtDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.setWindowTitle("Speakers")
        self.setMinimumSize(420, 320)
        self.list = QListWidget()
        add = QPushButton("Add…")
        edit = QPushButton("Edit…")
        remove = QPushButton("Remove")
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        add.clicked.connect(lambda: self.edit_speaker(None))
        edit.clicked.connect(lambda: self.edit_speaker(self._current()))
        remove.clicked.connect(self._remove)
        self.list.itemDoubleClicked.connect(lambda _item: self.edit_speaker(self._current()))
        buttons = QVBoxLayout()
        for b in (add, edit, remove):
            buttons.addWidget(b)
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.list, 1)
        row.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(close)
        # A bound method, not a lambda: Qt drops the connection when the dialog is destroyed (a
        # lambda would outlive it and touch the deleted list on the next speaker change).
        doc.changed.connect(self._on_change)
        self.refresh()

    def _on_change(self, change: Change) -> None:
        if change.kind == "speaker":
            self.refresh()

    def refresh(self) -> None:
        current = self._current()
        self.list.clear()
        for speaker in self.doc.project.speakers.values():
            count = sum(1 for line in self.doc.project.lines.values() if line.speaker_id == speaker.id)
            item = QListWidgetItem(f"{speaker.name}  ·  {voice_summary(speaker.voice)}  ·  {count} lines")
            item.setData(Qt.ItemDataRole.UserRole, speaker.id)
            item.setData(Qt.ItemDataRole.DecorationRole, QColor(speaker.colour))
            self.list.addItem(item)
            if speaker.id == current:
                self.list.setCurrentItem(item)

    def _current(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def edit_speaker(self, speaker_id: str | None) -> None:
        speaker = self.doc.project.speakers.get(speaker_id) if speaker_id else None
        dialog = QtSpeakerDialog(self.doc, speaker, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            save_speaker(self.doc, dialog.speaker)
            warning = backend_warning(self.doc.project.settings.backend, dialog.speaker.voice)
            if warning:
                self.doc.message.emit(f"{dialog.speaker.name}: {warning}")
        dialog.deleteLater()

    def _remove(self) -> None:
        speaker_id = self._current()
        if speaker_id:
            reason = remove_speaker(self.doc, speaker_id)
            if reason:
                QMessageBox.information(self, "Remove speaker", reason)
