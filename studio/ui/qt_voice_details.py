"""The details editor of one bank voice: Voice (name, description, profile, tags), Clips (waveforms
with trim handles, transcripts, add from file, record), Generation (default settings, Piper draft
voice), Effects (the voice's effect chain, copied onto a speaker that embeds it) and Consent
(provenance, consent document).

Every field is written to the bank when it is committed (Return or leaving the field; a choice in
a list at once) through :meth:`~studio.bank.store.VoiceBank.update_voice` and the clip methods; a
refused value shows its reason on the panel's status line (``report``) and nothing is written.
When the bank announces a change, :meth:`QtVoiceDetails.update_from_bank` refreshes the fields —
except the one being typed in.

Thread contract: GUI thread only; clip preparation runs through the panel's QtJobRunner.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from studio.bank.clips import PreparedClip, prepare_clip
from studio.bank.records import (
    TAG_FIELDS,
    BankError,
    BankVoice,
    check_tags,
    parse_setting,
)
from studio.bank.store import VoiceBank
from studio.core.model import Effect
from studio.qa.reference import ClipTranscriber, heard_text
from studio.ui.qt_bank_jobs import QtJobRunner
from studio.ui.qt_clip_editor import QtClipEditor, Reporter
from studio.ui.qt_effects_rack import QtChainEditor
from studio.ui.qt_inspector import QtCommitTextEdit
from studio.ui.qt_voice_audition import QtClipPlayer

BACKEND_CHOICES: tuple[tuple[str, str], ...] = (
    ("", "the project's backend"),
    ("piper", "Piper (CPU drafts)"),
    ("higgs", "Higgs Audio (GPU)"),
    ("openai", "OpenAI-compatible server"),
)
SETTING_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("temperature", "Temperature", "0–10, e.g. 0.7"),
    ("top_k", "Top-k", "whole number, e.g. 50"),
    ("top_p", "Top-p", "0–1, e.g. 0.95"),
    ("seed", "Seed", "whole number"),
    ("ras_win_len", "RAS window", "whole number, e.g. 7"),
    ("ras_max_num_repeat", "RAS repeats", "whole number, e.g. 2"),
    ("max_new_tokens", "Max new tokens", "whole number, e.g. 2048"),
)
PROVENANCE_EDITS: tuple[tuple[str, str, str], ...] = (
    ("source", "Source", "where the recording comes from"),
    ("owner", "Owner", "whose voice it is"),
    ("licence", "Licence", "e.g. CC BY 4.0, or the contract"),
    ("date", "Date", "YYYY-MM-DD"),
)
KIND_TEXT = {
    "clip": "Projects clone the primary reference clip.",
    "profile": "No clip: projects use the text profile (Higgs smart voice).",
    "piper": "No clip and no profile: projects use the Piper voice below.",
}
# () -> (transcribe one clip, shut the recogniser down). Called on a worker thread; tests inject one
# around the in-process recogniser, the studio's starts a speech-recognition engine process.
ClipTranscriberFactory = Callable[[], tuple[ClipTranscriber, Callable[[], None]]]


def engine_clip_transcriber() -> tuple[ClipTranscriber, Callable[[], None]]:
    """Worker thread: an engine process that only transcribes (bundled Whisper tiny.en)."""
    from studio.ui.qt_recording_import import engine_transcriber_factory

    transcribe, shutdown = engine_transcriber_factory({})
    return (lambda path: heard_text(transcribe(path))), shutdown


def transcribe_clip(factory: ClipTranscriberFactory, path: Path) -> str:
    """Worker thread: what the recogniser hears in the clip at ``path`` (one line of text)."""
    transcribe, shutdown = factory()
    try:
        return " ".join(transcribe(str(path)).split())
    finally:
        shutdown()


ADD_CLIP_FILTER = "Audio (*.wav *.wave *.flac *.mp3 *.ogg *.oga *.m4a)"


def parse_free_tags(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _set_text(widget: QLineEdit | QPlainTextEdit, text: str, force: bool = False) -> None:
    """Show ``text`` unless the user is typing in the widget (it would move their cursor)."""
    if widget.hasFocus() and not force:
        return
    current = widget.text() if isinstance(widget, QLineEdit) else widget.toPlainText()
    if current != text:
        widget.blockSignals(True)
        if isinstance(widget, QLineEdit):
            widget.setText(text)
            widget.setCursorPosition(0)
        else:
            widget.setPlainText(text)
        widget.blockSignals(False)


def _form(widget: QWidget) -> QFormLayout:
    """A form at the top of ``widget`` (extra height goes below it, not between its rows)."""
    outer = QVBoxLayout(widget)
    outer.setContentsMargins(6, 6, 6, 6)
    form = QFormLayout()
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    outer.addLayout(form)
    outer.addStretch(1)
    return form


class QtVoiceDetails(QTabWidget):
    """See the module docstring."""

    recordRequested = Signal(str)  # voice id: the panel opens the recorder

    def __init__(
        self,
        bank: VoiceBank,
        jobs: QtJobRunner,
        report: Reporter,
        player: QtClipPlayer | None = None,
        parent: QWidget | None = None,
        transcriber: ClipTranscriberFactory | None = engine_clip_transcriber,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("voiceDetails")
        self.transcriber = transcriber  # None: clips added without a transcript are not transcribed
        self.bank = bank
        self.jobs = jobs
        self.report = report
        self.player = player
        self.voice: BankVoice | None = None
        self.clip_editors: list[QtClipEditor] = []
        self.pending_imports = 0
        self.setDocumentMode(True)
        self._build_voice_tab()
        self._build_clips_tab()
        self._build_generation_tab()
        self.effects = QtVoiceEffects(self)
        self.effects_page = _scrolled(self.effects)
        self.addTab(self.effects_page, "Effects")
        self._build_consent_tab()
        if player is not None:
            player.positionChanged.connect(self._player_position)
            player.stateChanged.connect(self._player_state)
        self.set_voice(None)

    @property
    def voice_id(self) -> str | None:
        return self.voice.id if self.voice is not None else None

    def close_editor(self) -> None:
        """Stop writing to the bank (it is about to close): a later focus-out commits nothing."""
        self.voice = None
        for editor in self.clip_editors:
            editor.detach()
        self.setEnabled(False)

    # ---- building --------------------------------------------------------------------------
    def _build_voice_tab(self) -> None:
        page = QWidget()
        form = _form(page)
        self.name = QLineEdit()
        self.name.setPlaceholderText("A name producers will recognise")
        self.name.editingFinished.connect(lambda: self._update(name=self.name.text()))
        self.kind_label = QLabel()
        self.kind_label.setObjectName("engineStatus")
        self.kind_label.setWordWrap(True)
        self.description = QtCommitTextEdit(lambda text: self._update_text("description", text))
        self.description.setPlaceholderText("What the voice is good for")
        self.description.setFixedHeight(52)
        self.profile = QtCommitTextEdit(lambda text: self._update_text("profile", text))
        self.profile.setPlaceholderText("e.g. Female, mid-30s, warm, slight Scottish accent, unhurried")
        self.profile.setFixedHeight(52)
        self.profile.setToolTip("A text description of the voice, used when there is no reference clip")
        form.addRow("Name", self.name)
        form.addRow("", self.kind_label)
        form.addRow("Description", self.description)
        form.addRow("Text profile", self.profile)
        self.tag_boxes: dict[str, QComboBox] = {}
        for key in TAG_FIELDS:
            box = QComboBox()
            box.setEditable(True)
            box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
            line = box.lineEdit()
            assert line is not None  # an editable combo box has one
            line.setPlaceholderText("—")
            line.editingFinished.connect(self.commit_tags)
            box.activated.connect(lambda _i: self.commit_tags())
            self.tag_boxes[key] = box
            form.addRow(key.capitalize(), box)
        self.free_tags = QLineEdit()
        self.free_tags.setPlaceholderText("comma-separated, e.g. narrator, calm")
        self.free_tags.editingFinished.connect(self.commit_tags)
        form.addRow("Tags", self.free_tags)
        self.addTab(_scrolled(page), "Voice")

    def _build_clips_tab(self) -> None:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 4, 4, 4)
        buttons = QHBoxLayout()
        self.add_clip_button = QPushButton("Add clip from file…")
        self.add_clip_button.clicked.connect(self._add_clip_dialog)
        self.record_button = QPushButton("● Record…")
        self.record_button.setToolTip("Record a reference clip from the microphone")
        self.record_button.clicked.connect(self._request_recording)
        buttons.addWidget(self.add_clip_button)
        buttons.addWidget(self.record_button)
        buttons.addStretch(1)
        self.no_clips = QLabel(
            "No reference clip. Add or record 3–30 s of clean speech (10 s is ideal) with its transcript "
            "to clone this voice."
        )
        self.no_clips.setObjectName("placeholder")
        self.no_clips.setWordWrap(True)
        self.clips_box = QVBoxLayout()
        self.clips_box.setSpacing(6)
        layout.addLayout(buttons)
        layout.addWidget(self.no_clips)
        layout.addLayout(self.clips_box)
        layout.addStretch(1)
        clips = _scrolled(page)
        clips.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # editors fit the width
        self.addTab(clips, "Clips")

    def _build_generation_tab(self) -> None:
        page = QWidget()
        form = _form(page)
        self.backend = QComboBox()
        for value, label in BACKEND_CHOICES:
            self.backend.addItem(label, value)
        self.backend.activated.connect(lambda _i: self.commit_settings())
        form.addRow("Backend", self.backend)
        self.setting_edits: dict[str, QLineEdit] = {}
        for key, label, hint in SETTING_FIELDS:
            edit = QLineEdit()
            edit.setPlaceholderText(f"default ({hint})")
            edit.editingFinished.connect(self.commit_settings)
            self.setting_edits[key] = edit
            form.addRow(label, edit)
        self.other_settings = QLabel()
        self.other_settings.setObjectName("engineStatus")
        self.other_settings.setWordWrap(True)
        form.addRow("", self.other_settings)
        self.piper_model = QLineEdit()
        self.piper_model.setPlaceholderText("the bundled voice")
        self.piper_model.editingFinished.connect(lambda: self._update(piper_model=self.piper_model.text()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_piper)
        row = QHBoxLayout()
        row.addWidget(self.piper_model, 1)
        row.addWidget(browse)
        self.piper_variant = QSpinBox()
        self.piper_variant.setRange(0, 99)
        self.piper_variant.setKeyboardTracking(False)
        self.piper_variant.setToolTip("Piper variant: a stable rate and pitch")
        self.piper_variant.valueChanged.connect(lambda v: self._update(piper_variant=int(v)))
        form.addRow("Piper voice", row)
        form.addRow("Piper variant", self.piper_variant)
        self.addTab(_scrolled(page), "Generation")

    def _build_consent_tab(self) -> None:
        page = QWidget()
        form = _form(page)
        self.provenance_edits: dict[str, QLineEdit] = {}
        for key, label, hint in PROVENANCE_EDITS:
            edit = QLineEdit()
            edit.setPlaceholderText(hint)
            edit.editingFinished.connect(self.commit_provenance)
            self.provenance_edits[key] = edit
            form.addRow(label, edit)
        self.consent = QtCommitTextEdit(self._commit_consent)
        self.consent.setPlaceholderText("What the owner agreed to (e.g. 'use for the Tavern game, 2025')")
        self.consent.setFixedHeight(52)
        form.addRow("Consent", self.consent)
        self.document_label = QLabel()
        self.document_label.setWordWrap(True)
        attach = QPushButton("Attach…")
        attach.clicked.connect(self._attach_document)
        self.open_document_button = QPushButton("Open")
        self.open_document_button.clicked.connect(self._open_document)
        self.detach_button = QPushButton("Detach")
        self.detach_button.clicked.connect(lambda: self.set_consent_document(None))
        row = QHBoxLayout()
        row.addWidget(attach)
        row.addWidget(self.open_document_button)
        row.addWidget(self.detach_button)
        row.addStretch(1)
        form.addRow("Document", self.document_label)
        form.addRow("", row)
        self.stamps = QLabel()
        self.stamps.setObjectName("engineStatus")
        form.addRow("", self.stamps)
        self.addTab(_scrolled(page), "Consent")

    # ---- showing a voice -------------------------------------------------------------------
    def set_voice(self, voice: BankVoice | None) -> None:
        """Show ``voice`` (None = nothing selected: the editor is disabled)."""
        self.voice = voice
        self.setEnabled(voice is not None)
        self._fill_tag_choices()
        self._show(voice or BankVoice(id="", name=""), force=True)
        self._rebuild_clips()
        self.effects.refresh()

    def update_from_bank(self, voice: BankVoice) -> None:
        """The bank changed this voice: refresh the fields (not the one being typed in) and clips."""
        if self.voice is None or voice.id != self.voice.id:
            return
        old = self.voice
        self.voice = voice
        self._show(voice, force=False)
        if old.effects != voice.effects:
            self.effects.refresh()
        if [c.clip_id for c in old.clips] != [c.clip_id for c in voice.clips]:
            self._rebuild_clips()
        else:
            for editor, clip in zip(self.clip_editors, voice.clips, strict=False):
                editor.set_clip(clip)

    def refresh_tag_choices(self) -> None:
        self._fill_tag_choices()

    def _fill_tag_choices(self) -> None:
        choices = self.bank.all_tags()
        for key, box in self.tag_boxes.items():
            current = box.currentText()
            box.blockSignals(True)
            box.clear()
            box.addItems(["", *choices.get(key, [])])
            box.setEditText(current)
            box.blockSignals(False)

    def _show(self, voice: BankVoice, force: bool) -> None:
        _set_text(self.name, voice.name, force)
        _set_text(self.description, voice.description, force)
        _set_text(self.profile, voice.profile, force)
        self.kind_label.setText(KIND_TEXT.get(voice.kind, "") if voice.id else "")
        for key, box in self.tag_boxes.items():
            value = getattr(voice.tags, key)
            if (force or not box.hasFocus()) and box.currentText() != value:
                box.blockSignals(True)
                box.setEditText(value)
                box.blockSignals(False)
        _set_text(self.free_tags, ", ".join(voice.tags.free), force)
        settings = voice.settings_dict()
        backend = str(settings.get("backend", ""))
        index = self.backend.findData(backend)
        if index < 0:
            self.backend.addItem(backend, backend)
            index = self.backend.count() - 1
        self.backend.blockSignals(True)
        self.backend.setCurrentIndex(index)
        self.backend.blockSignals(False)
        for key, edit in self.setting_edits.items():
            _set_text(edit, _format_setting(settings.get(key)), force)
        known = {k for k, _l, _h in SETTING_FIELDS} | {"backend"}
        others = {k: v for k, v in settings.items() if k not in known}
        self.other_settings.setText(
            "Also: " + ", ".join(f"{k}={v}" for k, v in sorted(others.items())) if others else ""
        )
        self.other_settings.setVisible(bool(others))
        _set_text(self.piper_model, voice.piper_model, force)
        if self.piper_variant.value() != voice.piper_variant:
            self.piper_variant.blockSignals(True)
            self.piper_variant.setValue(voice.piper_variant)
            self.piper_variant.blockSignals(False)
        prov = voice.provenance
        for key, edit in self.provenance_edits.items():
            _set_text(edit, getattr(prov, key), force)
        _set_text(self.consent, prov.consent, force)
        has_doc = bool(prov.consent_document)
        self.document_label.setText(prov.consent_document_name or prov.consent_document or "none attached")
        self.open_document_button.setEnabled(has_doc)
        self.detach_button.setEnabled(has_doc)
        self.stamps.setText(
            f"Created {voice.created[:10]} · modified {voice.modified[:16].replace('T', ' ')}"
            if voice.created
            else ""
        )

    def _rebuild_clips(self) -> None:
        for editor in self.clip_editors:
            editor.detach()
            self.clips_box.removeWidget(editor)
            editor.deleteLater()
        self.clip_editors = []
        voice = self.voice
        clips = voice.clips if voice is not None else ()
        self.no_clips.setVisible(voice is not None and not clips)
        if voice is None:
            return
        for index, clip in enumerate(clips):
            editor = QtClipEditor(self.bank, voice.id, clip, index, self.jobs, self.report, self.player)
            self.clips_box.addWidget(editor)
            self.clip_editors.append(editor)
        self.setTabText(1, f"Clips ({len(clips)})" if clips else "Clips")

    # ---- writing ---------------------------------------------------------------------------
    def _update(self, **changes: Any) -> bool:
        """Write ``changes`` to the voice; the reason on the status line if the bank refuses."""
        voice = self.voice
        if voice is None:
            return False
        try:
            self.bank.update_voice(voice.id, **changes)
        except BankError as exc:
            self.report(f"Not saved: {exc}", True)
            return False
        self.report("", False)
        return True

    def _update_text(self, key: str, text: str) -> None:
        if self.voice is not None and text.strip() != getattr(self.voice, key):
            self._update(**{key: text})

    def commit_tags(self) -> bool:
        if self.voice is None:
            return False
        values: dict[str, Any] = {k: box.currentText() for k, box in self.tag_boxes.items()}
        values["free"] = parse_free_tags(self.free_tags.text())
        try:
            tags = check_tags(values)
        except BankError as exc:
            self.report(f"Not saved: {exc}", True)
            return False
        if tags == self.voice.tags:
            return True
        ok = self._update(tags=tags)
        if ok:
            self._fill_tag_choices()
        return ok

    def commit_settings(self) -> bool:
        voice = self.voice
        if voice is None:
            return False
        known = {k for k, _l, _h in SETTING_FIELDS} | {"backend"}
        settings: dict[str, Any] = {k: v for k, v in voice.settings_dict().items() if k not in known}
        backend = self.backend.currentData()
        if backend:
            settings["backend"] = backend
        try:
            for key, edit in self.setting_edits.items():
                text = edit.text().strip()
                if text:
                    settings[key] = parse_setting(f"{key}={text}")[1]
        except BankError as exc:
            self.report(f"Not saved: {exc}", True)
            return False
        if settings == voice.settings_dict():
            return True
        return self._update(settings=settings)

    def commit_provenance(self) -> bool:
        voice = self.voice
        if voice is None:
            return False
        values = {k: e.text().strip() for k, e in self.provenance_edits.items()}
        if values["date"]:
            try:
                date.fromisoformat(values["date"])
            except ValueError:
                self.report(f"Not saved: the date {values['date']!r} must be written YYYY-MM-DD", True)
                return False
        prov = dataclasses.replace(voice.provenance, consent=self.consent.toPlainText().strip(), **values)
        if prov == voice.provenance:
            return True
        return self._update(provenance=prov)

    def _commit_consent(self, _text: str) -> None:
        self.commit_provenance()

    def set_consent_document(self, path: str | Path | None) -> bool:
        if self.voice is None:
            return False
        try:
            self.bank.set_consent_document(self.voice.id, path)
        except BankError as exc:
            self.report(f"Not saved: {exc}", True)
            return False
        return True

    # ---- clips -----------------------------------------------------------------------------
    def add_clip_files(self, paths: Iterable[str | Path]) -> None:
        """Import audio files as clips of the current voice (prepared on a worker, stored here)."""
        voice = self.voice
        if voice is None:
            return
        bank, voice_id, report = self.bank, voice.id, self.report
        for path in paths:
            source = Path(path)

            def prepared(clip: PreparedClip, name: str = source.name) -> None:
                self._import_done()
                try:
                    bank.add_clip(voice_id, clip)
                except BankError as exc:
                    report(f"Cannot add {name}: {exc}", True)
                    return
                notes = "; ".join(clip.messages)
                report(
                    f"Added {name} ({clip.stats.duration:.1f} s)" + (f" — {notes}" if notes else ""), False
                )
                if not clip.transcript and self.transcriber is not None:
                    self.transcribe_clip(voice_id, clip.clip_id, name)

            def failed(exc: BaseException, name: str = source.name) -> None:
                self._import_done()
                report(str(exc) if isinstance(exc, BankError) else f"Cannot add {name}: {exc}", True)

            self.pending_imports += 1
            self.jobs.submit(prepare_clip, source, None, done=prepared, failed=failed, label="Adding a clip")
            report(f"Preparing {source.name}…", False)

    def transcribe_clip(self, voice_id: str, clip_id: str, name: str = "the clip") -> None:
        """Transcribe a clip on a worker; what was heard is stored beside it and becomes the voice's
        transcript of it if that is still empty (the user edits it; a disagreement is flagged)."""
        if self.transcriber is None:
            return
        bank, report = self.bank, self.report

        def heard(text: str) -> None:  # GUI thread
            self._import_done()
            if not shiboken6.isValid(self):
                return
            if not text:
                report(f"No speech was heard in {name}: type its transcript", True)
                return
            try:
                bank.set_heard(clip_id, text, fill_voice=voice_id)
            except BankError as exc:  # the clip was removed meanwhile
                report(f"Cannot keep what was heard in {name}: {exc}", True)
                return
            report(f"Transcribed {name}: “{text}” — check it against the clip", False)

        def failed(exc: BaseException) -> None:
            self._import_done()
            report(f"Cannot transcribe {name}: {exc}; type its transcript", True)

        self.pending_imports += 1
        self.jobs.submit(
            transcribe_clip,
            self.transcriber,
            self.bank.clip_path(clip_id),
            done=heard,
            failed=failed,
            label="Transcribing",
        )
        report(f"Transcribing {name}…", False)

    def _import_done(self) -> None:
        if shiboken6.isValid(self):
            self.pending_imports = max(0, self.pending_imports - 1)

    def _request_recording(self) -> None:
        if self.voice is not None:
            self.recordRequested.emit(self.voice.id)

    def _add_clip_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add reference clips", "", ADD_CLIP_FILTER)
        if files:
            self.add_clip_files(files)

    def _browse_piper(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Piper voice", "", "Piper voices (*.onnx)")
        if path:
            self.piper_model.setText(path)
            self._update(piper_model=path)

    def _attach_document(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Consent document", "", "All files (*)")
        if path:
            self.set_consent_document(path)

    def _open_document(self) -> None:
        voice = self.voice
        if voice is not None and voice.provenance.consent_document:
            path = self.bank.document_path(voice.provenance.consent_document)
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    # ---- playback --------------------------------------------------------------------------
    def _player_position(self, seconds: float) -> None:
        key = self.player.key if self.player is not None else ""
        for editor in self.clip_editors:
            editor.show_playing(seconds if editor.clip.clip_id == key else None)

    def _player_state(self, playing: bool) -> None:
        if not playing:
            for editor in self.clip_editors:
                editor.show_playing(None)
        else:
            self._player_position(0.0)


def _format_setting(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class QtVoiceEffects(QtChainEditor):
    """The Effects tab: the shown bank voice's chain, each gesture written to the bank at once.

    Bank edits are not undoable (like the other fields of the details editor); a refused chain
    shows its reason on the panel's status line and nothing is written.
    """

    def __init__(self, details: QtVoiceDetails) -> None:
        super().__init__()
        self.setObjectName("voiceEffects")
        self.details = details
        note = QLabel(
            "Applied to each line of this voice, with its tail; a project that uses the voice gets a copy."
        )
        note.setObjectName("engineStatus")
        note.setWordWrap(True)
        self.main_layout.insertWidget(0, note)

    def chain(self) -> tuple[Effect, ...]:
        voice = self.details.voice
        return voice.effects if voice is not None else ()

    def can_edit(self) -> bool:
        return self.details.voice is not None

    def commit(self, chain: tuple[Effect, ...], label: str, merge_key: str = "") -> bool:
        voice = self.details.voice
        if voice is None or chain == voice.effects:
            return False
        if not self.details._update(effects=chain):
            return False
        # The bank announces the change to the panel; show it here at once all the same.
        self.details.voice = self.details.bank.get(voice.id)
        self.refresh()
        return True

    def report(self, message: str) -> None:
        self.details.report(f"Not saved: {message}", True)

    def refresh(self) -> None:
        super().refresh()
        n = len(self.chain())
        index = self.details.indexOf(self.details.effects_page)
        if index >= 0:
            self.details.setTabText(index, f"Effects ({n})" if n else "Effects")


def _scrolled(page: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(page)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    return area
