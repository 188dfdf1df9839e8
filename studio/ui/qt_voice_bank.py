"""The voice bank panel: find, curate, hear and assign the voices of the local bank.

* a searchable list (words in the name, description, profile, owner, transcripts) filtered by tags,
  over :class:`QtVoiceListModel`, refreshed when the bank announces a change — and when another
  process (``chorus voices …``) writes to it (``data_version`` is polled);
* the details editor (:mod:`studio.ui.qt_voice_details`): every field written through the bank,
  refusals shown on the panel's status line; reference clips with waveform and trim handles
  (:mod:`studio.ui.qt_clip_editor`); recording from the microphone (:mod:`studio.ui.qt_voice_recorder`);
* **Audition** speaks a test sentence in the selected voice with the project's backend, **A/B**
  the same sentence in two voices, one after the other (:mod:`studio.ui.qt_voice_bank_audition`,
  rendered by :mod:`studio.ui.qt_voice_audition` through the studio's one engine);
* voices are dragged out of the list (:mod:`studio.ui.qt_voice_list`) as
  ``application/x-chorus-voice`` (:data:`VOICE_MIME`, the voice ids, one per line). Dropped on a
  speaker of the open project (the panel's speaker strip, or any widget that calls
  :func:`voice_ids_from_mime` + :func:`assign_voice` from :mod:`studio.ui.qt_voice_assign`), the
  voice is embedded into the project — one undo step that also marks the speaker's lines stale;
* import of ``.chorusvoice`` packs and Higgs / vLLM preset folders, export of packs and of a vLLM
  voice-presets folder, on a worker thread with its own bank connection
  (:mod:`studio.ui.qt_voice_bank_transfer`).

Thread contract: GUI thread only. Work runs through a :class:`~studio.ui.qt_bank_jobs.QtJobRunner`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.bank.embed import EmbedStatus, bank_status
from studio.bank.records import TAG_FIELDS, BankError
from studio.bank.store import Conflict, VoiceBank
from studio.render.casting import backend_warning, voice_summary
from studio.render.shared_engine import SharedEngine
from studio.ui.qt_bank_jobs import QtJobRunner
from studio.ui.qt_clip_editor import confirm
from studio.ui.qt_document import QtDocument
from studio.ui.qt_playback import StreamFactory, sounddevice_stream_factory
from studio.ui.qt_render_controller import ClientFactory, default_client_factory
from studio.ui.qt_voice_assign import QtSpeakerDropList, assign_voice
from studio.ui.qt_voice_audition import Auditioner, QtAuditioner, QtClipPlayer
from studio.ui.qt_voice_bank_audition import QtBankAudition
from studio.ui.qt_voice_bank_transfer import QtBankTransfer
from studio.ui.qt_voice_details import ClipTranscriberFactory, QtVoiceDetails, engine_clip_transcriber
from studio.ui.qt_voice_list import (
    VOICE_MIME,
    QtVoiceDelegate,
    QtVoiceListModel,
    voice_ids_from_mime,
    voice_mime_data,
)
from studio.ui.qt_voice_recorder import (
    COUNT_IN_MS,
    InputStreamFactory,
    QtVoiceRecorderDialog,
    sounddevice_input_factory,
)

__all__ = [
    "VOICE_MIME",
    "QtVoiceBankPanel",
    "assign_voice",
    "make_voice_bank_panel",
    "voice_ids_from_mime",
    "voice_mime_data",
]

DATA_VERSION_POLL_MS = 2000
NEW_VOICE_NAME = "New voice"


class QtVoiceBankPanel(QWidget):
    """See the module docstring. ``bank`` None shows ``bank_error`` and nothing else."""

    auditionRequested = Signal(object)  # an AuditionRequest (also handed to the ``audition`` callable)
    voiceAssigned = Signal(str, str)  # speaker id, bank voice id
    message = Signal(str)  # for the main window's status bar

    def __init__(
        self,
        bank: VoiceBank | None,
        *,
        bank_error: str = "",
        owns_bank: bool = False,
        input_factory: Callable[[], InputStreamFactory] = sounddevice_input_factory,
        output_factory: Callable[[], StreamFactory] = sounddevice_stream_factory,
        client_factory: ClientFactory = default_client_factory,
        engine: SharedEngine | None = None,
        audition: Auditioner | None = None,
        count_in_ms: int = COUNT_IN_MS,
        parent: QWidget | None = None,
        transcriber: ClipTranscriberFactory | None = engine_clip_transcriber,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("voiceBankPanel")
        self.bank = bank
        self.ask = confirm  # (parent, title, text) -> yes?; tests replace it to answer no
        self.owns_bank = owns_bank
        self.input_factory = input_factory
        self.count_in_ms = count_in_ms
        self.doc: QtDocument | None = None
        self.backend = "piper"
        self.backend_options: dict[str, Any] = {}
        self._closed = False
        self._unsubscribe: Callable[[], None] | None = None
        self._doc_connection: Any = None
        self._tags: tuple[str, ...] = ()
        self.status_is_error = False
        self.status = QLabel()
        self.status.setObjectName("engineStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        if bank is None:
            self.set_status(bank_error or "The voice bank is not available.", error=True)
            layout.addWidget(self.status)
            layout.addStretch(1)
            return

        self.jobs = QtJobRunner(parent=self)
        self.jobs.error.connect(lambda text: self.set_status(text, error=True))
        self.player = QtClipPlayer(output_factory, parent=self)
        self.player.error.connect(lambda text: self.set_status(text, error=True))
        self.auditioner: QtAuditioner | None = None
        if audition is None:
            # the studio's engine (shared with the render queue), else one of the panel's own
            self.auditioner = QtAuditioner(engine or client_factory, self.player, parent=self)
            self.auditioner.message.connect(lambda text: self.set_status(text))
            audition = self.auditioner.audition
        self.auditions = QtBankAudition(
            bank, audition, self.auditioner, self.current_voice_id, self.set_status, self
        )
        self.auditions.auditionRequested.connect(self.auditionRequested.emit)
        self.transfer = QtBankTransfer(
            bank, self.jobs, self.set_status, self._export_ids, self._imported, self
        )

        # search and tags
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search voices")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda text: self._filter_changed())
        self.tags_button = QToolButton()
        self.tags_button.setText("Tags")
        self.tags_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.tags_menu = QMenu(self.tags_button)
        self.tags_menu.aboutToShow.connect(self._fill_tags_menu)
        self.tags_button.setMenu(self.tags_menu)
        self.tags_button.setToolTip("Show only voices with these tags")
        row1 = QHBoxLayout()
        row1.addWidget(self.search, 1)
        row1.addWidget(self.tags_button)

        # actions
        self.new_button = QToolButton()
        self.new_button.setText("+ New")
        self.new_button.setToolTip("Add a voice to the bank")
        self.new_button.clicked.connect(lambda: self.new_voice())
        self.remove_button = QToolButton()
        self.remove_button.setText("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.import_button = self.transfer.import_button
        self.export_button = self.transfer.export_button
        self.count_label = QLabel()
        self.count_label.setObjectName("engineStatus")
        row2 = QHBoxLayout()
        for button in (self.new_button, self.remove_button, self.import_button, self.export_button):
            row2.addWidget(button)
        row2.addStretch(1)
        row2.addWidget(self.count_label)

        # list
        self.model = QtVoiceListModel(bank, self)
        self.view = QListView()
        self.view.setObjectName("voiceList")
        self.view.setModel(self.model)
        self.view.setItemDelegate(QtVoiceDelegate(self.view))
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setDragEnabled(True)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.view.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.view.setMouseTracking(True)
        self.view.setUniformItemSizes(True)
        # Never let the details pane squeeze the list below three voices (a short dock showed one and a half).
        row_height = QtVoiceDelegate.row_height(self.view.font())
        self.view.setMinimumHeight(3 * row_height + 2 * self.view.frameWidth())
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        self.model.modelReset.connect(self._restore_current)
        self.empty_label = QLabel()
        self.empty_label.setObjectName("placeholder")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        # audition
        self.sentence = self.auditions.sentence
        self.audition_button = self.auditions.audition_button
        self.ab_button = self.auditions.ab_button
        self.ab_menu = self.auditions.ab_menu
        row3 = self.auditions.row()

        # speakers of the open project
        self.speakers_label = QLabel("Drag a voice onto a speaker to assign it:")
        self.speakers_label.setObjectName("engineStatus")
        self.speakers = QtSpeakerDropList(self._dropped_on_speaker)
        self.speakers.customContextMenuRequested.connect(self._speaker_menu)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(4)
        top_layout.addWidget(self.view, 1)
        top_layout.addWidget(self.empty_label)
        top_layout.addLayout(row3)
        top_layout.addWidget(self.speakers_label)
        top_layout.addWidget(self.speakers)

        self.details = QtVoiceDetails(bank, self.jobs, self.set_status, self.player, transcriber=transcriber)
        self.details.recordRequested.connect(self.record_clip)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.details)
        # The details get most of the height (a clip with its transcript and buttons, without
        # resizing); no minimum beyond their own, so the main window still fits 1280×800.
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 3)

        layout.addLayout(row1)
        layout.addLayout(row2)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.status)

        self._unsubscribe = bank.subscribe(self._on_bank_change)
        self._data_version = bank.data_version()
        self._poll = QTimer(self)
        self._poll.setInterval(DATA_VERSION_POLL_MS)
        self._poll.timeout.connect(self.reload_if_changed)
        self._poll.start()
        self.set_document(None)
        self._update_counts()
        self._update_actions()

    # ---- state -----------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return self.bank is not None and not self._closed

    def current_voice_id(self) -> str | None:
        if self.bank is None:
            return None
        return self.details.voice_id

    def selected_voice_ids(self) -> list[str]:
        if self.bank is None:
            return []
        rows = sorted(i.row() for i in self.view.selectionModel().selectedRows())
        return [self.model.voices[r].id for r in rows if r < len(self.model.voices)]

    def visible_voice_ids(self) -> list[str]:
        return [v.id for v in self.model.voices] if self.bank is not None else []

    def set_status(self, text: str, error: bool = False) -> None:
        """The panel's status line; ``("", False)`` clears an error but leaves information alone."""
        if not text and not error and not self.status_is_error:
            return
        self.status_is_error = error and bool(text)
        name = "transportWarning" if self.status_is_error else "engineStatus"
        if self.status.objectName() != name:
            self.status.setObjectName(name)
            self.status.style().unpolish(self.status)
            self.status.style().polish(self.status)
        self.status.setText(text)
        if text:
            self.message.emit(text)

    # ---- project -------------------------------------------------------------------------
    def set_document(self, doc: QtDocument | None) -> None:
        """The open project (None = none): its speakers become drop targets, its backend auditions."""
        if self.bank is None:
            return
        if self.doc is not None and self._doc_connection is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                self.doc.changed.disconnect(self._doc_connection)
        self.doc = doc
        self._doc_connection = None
        if doc is not None:
            self._doc_connection = doc.changed.connect(self._on_doc_change)
        self._read_backend()
        self.refresh_speakers()

    def _on_doc_change(self, change: Any) -> None:
        if change.kind == "speaker":
            self.refresh_speakers()
        elif change.kind == "settings":
            self._read_backend()

    def _read_backend(self) -> None:
        if self.doc is not None:
            settings = self.doc.project.settings
            self.backend = settings.backend or "piper"
            self.backend_options = settings.backend_options_dict()
        else:
            self.backend, self.backend_options = "piper", {}
        self.auditions.set_backend(self.backend, self.backend_options)

    def refresh_speakers(self) -> None:
        doc, bank = self.doc, self.bank
        visible = doc is not None
        self.speakers_label.setVisible(visible)
        self.speakers.setVisible(visible)
        if doc is None or bank is None:
            self.speakers.set_speakers([])
            return
        rows = []
        for speaker in doc.project.speakers.values():
            voice = speaker.voice
            text = f"{speaker.name} — {voice_summary(voice)}"
            tip = f"{speaker.name}: {voice.kind.value} voice"
            if voice.bank_voice_id:
                try:
                    status = bank_status(doc.project_file, speaker.id, bank)
                except BankError:
                    status = EmbedStatus.MISSING
                name = bank.get(voice.bank_voice_id).name if bank.has(voice.bank_voice_id) else "?"
                text = f"{speaker.name} — {name}"
                if status == EmbedStatus.CHANGED:
                    text += "  ↻ changed in the bank"
                    tip += f" from the bank voice {name}, which has changed (right-click: update from bank)"
                elif status == EmbedStatus.MISSING:
                    text += "  (not in this bank)"
                    tip += " from a bank voice this bank does not have (the project keeps its copy)"
                else:
                    tip += f" from the bank voice {name}"
            rows.append((speaker.id, text, speaker.colour, tip))
        self.speakers.set_speakers(rows)

    def _dropped_on_speaker(self, speaker_id: str, voice_id: str) -> None:
        self.assign(speaker_id, voice_id)

    def assign(self, speaker_id: str, voice_id: str) -> bool:
        """Assign bank voice ``voice_id`` to a speaker of the open project (one undo step)."""
        if self.doc is None or self.bank is None:
            self.set_status("Open a project to assign voices to its speakers.", error=True)
            return False
        try:
            changed = assign_voice(self.doc, speaker_id, self.bank, voice_id)
        except BankError as exc:
            self.set_status(f"Cannot assign the voice: {exc}", error=True)
            return False
        speaker = self.doc.project.speakers.get(speaker_id)
        voice = self.bank.get(voice_id)
        who = speaker.name if speaker is not None else speaker_id
        warning = (
            backend_warning(self.doc.project.settings.backend, speaker.voice) if speaker is not None else ""
        )
        if changed and warning:  # said now, not when the lines fail to render
            self.set_status(f"{who} now speaks with {voice.name}. ⚠ {warning}", error=True)
            self.voiceAssigned.emit(speaker_id, voice_id)
        elif changed:
            self.set_status(f"{who} now speaks with {voice.name} (its lines will re-render)")
            self.voiceAssigned.emit(speaker_id, voice_id)
        else:
            self.set_status(f"{who} already speaks with {voice.name}")
        self.refresh_speakers()
        return changed

    def _speaker_menu(self, pos: QPoint) -> None:
        speaker_id = self.speakers.speaker_at(pos)
        if self.doc is None or speaker_id is None:
            return
        speaker = self.doc.project.speakers.get(speaker_id)
        if speaker is None:
            return
        menu = QMenu(self)
        bank_id = speaker.voice.bank_voice_id
        update = menu.addAction("Update from bank")
        update.setEnabled(bool(bank_id) and self.bank is not None and self.bank.has(bank_id))
        update.triggered.connect(lambda: self.assign(speaker_id, bank_id))
        show = menu.addAction("Show its bank voice")
        show.setEnabled(update.isEnabled())
        show.triggered.connect(lambda: self.select_voice(bank_id))
        selected = self.current_voice_id()
        use = menu.addAction("Assign the selected voice")
        use.setEnabled(selected is not None)
        use.triggered.connect(lambda: selected and self.assign(speaker_id, selected))
        menu.exec(self.speakers.viewport().mapToGlobal(pos))
        menu.deleteLater()

    # ---- filtering -------------------------------------------------------------------------
    def set_search(self, text: str) -> None:
        self.search.setText(text)

    @property
    def tag_filter(self) -> tuple[str, ...]:
        return self._tags

    def set_tag_filter(self, tags: Iterable[str]) -> None:
        self._tags = tuple(dict.fromkeys(tags))
        count = len(self._tags)
        self.tags_button.setText(f"Tags ({count})" if count else "Tags")
        self._filter_changed()

    def _filter_changed(self) -> None:
        if self.bank is None:
            return
        self.model.set_filter(self.search.text(), self._tags)
        self._update_counts()

    def _fill_tags_menu(self) -> None:
        if self.bank is None:
            return
        menu = self.tags_menu
        menu.clear()
        tags = self.bank.all_tags()
        chosen = set(self._tags)
        clear = menu.addAction("Any tags")
        clear.setEnabled(bool(chosen))
        clear.triggered.connect(lambda: self.set_tag_filter([]))
        for key in (*TAG_FIELDS, "free"):
            values = tags.get(key, [])
            if not values:
                continue
            menu.addSection("Tags" if key == "free" else key.capitalize())
            for value in values:
                tag = value if key == "free" else f"{key}:{value}"
                action = QAction(value, menu)
                action.setCheckable(True)
                action.setChecked(tag in chosen)
                action.toggled.connect(lambda on, t=tag: self._toggle_tag(t, on))
                menu.addAction(action)
        if menu.isEmpty() or len(menu.actions()) == 1:
            empty = menu.addAction("No tags yet: add some in a voice's details")
            empty.setEnabled(False)

    def _toggle_tag(self, tag: str, on: bool) -> None:
        tags = [t for t in self._tags if t != tag]
        if on:
            tags.append(tag)
        self.set_tag_filter(tags)

    def _update_counts(self) -> None:
        shown, total = len(self.model.voices), self.model.total
        self.count_label.setText(
            f"{shown} of {total}" if shown != total else f"{total} voice{'s' * (total != 1)}"
        )
        if total == 0:
            self.empty_label.setText(
                "The bank is empty. Add a voice (+ New), or import a voice pack or a preset folder."
            )
        elif shown == 0:
            self.empty_label.setText("No voice matches the search and tags.")
        self.empty_label.setVisible(shown == 0)

    # ---- selection -------------------------------------------------------------------------
    def select_voice(self, voice_id: str) -> bool:
        """Select (and show) a voice; clears the filter if it hides the voice."""
        if self.bank is None or not self.bank.has(voice_id):
            return False
        row = self.model.row_of(voice_id)
        if row < 0:
            self.search.blockSignals(True)
            self.search.clear()
            self.search.blockSignals(False)
            self.set_tag_filter([])
            row = self.model.row_of(voice_id)
        index = self.model.index(row)
        selection = self.view.selectionModel()
        selection.setCurrentIndex(index, selection.SelectionFlag.ClearAndSelect)
        self.view.scrollTo(index)
        return True

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return  # a filter hid the voice: keep editing it
        voice = self.model.voices[current.row()]
        if self.details.voice_id == voice.id:
            self.details.update_from_bank(voice)
        else:
            self.details.set_voice(voice)
        self._update_actions()

    def _restore_current(self) -> None:
        voice_id = self.details.voice_id
        if voice_id is None:
            return
        row = self.model.row_of(voice_id)
        if row >= 0:
            self.view.selectionModel().setCurrentIndex(
                self.model.index(row), self.view.selectionModel().SelectionFlag.ClearAndSelect
            )

    def _update_actions(self) -> None:
        has = self.current_voice_id() is not None
        self.remove_button.setEnabled(has)
        self.auditions.update_actions(has, self.model.total)

    # ---- bank changes ----------------------------------------------------------------------
    def _on_bank_change(self, change: Any) -> None:
        if self._closed or self.bank is None:
            return
        self._data_version = self.bank.data_version()
        self._reload(change.voice_id if change.action == "delete" else None)

    def reload_if_changed(self) -> None:
        """Re-read the bank if another connection (a worker, another process) wrote to it."""
        if self._closed or self.bank is None:
            return
        version = self.bank.data_version()
        if version != self._data_version:
            self._data_version = version
            self._reload(None)

    def _reload(self, deleted: str | None) -> None:
        """Re-read the bank after a change (ours or another process's)."""
        assert self.bank is not None
        current = self.details.voice_id
        self.model.refresh()
        if current is not None and (current == deleted or not self.bank.has(current)):
            self.details.set_voice(None)
        elif current is not None:
            self.details.update_from_bank(self.bank.get(current))
        self._update_counts()
        self._update_actions()
        if self.doc is not None:
            self.refresh_speakers()

    # ---- editing the bank ------------------------------------------------------------------
    def new_voice(self, name: str | None = None) -> str | None:
        """Add a voice (named ``name`` or "New voice N"), select it and focus its name."""
        if self.bank is None:
            return None
        taken = {v.name.casefold() for v in self.bank.list_voices()}
        if name is None:
            name, n = NEW_VOICE_NAME, 2
            while name.casefold() in taken:
                name, n = f"{NEW_VOICE_NAME} {n}", n + 1
        try:
            voice = self.bank.create_voice(name)
        except BankError as exc:
            self.set_status(f"Cannot add the voice: {exc}", error=True)
            return None
        self.select_voice(voice.id)
        self.details.setCurrentIndex(0)
        self.details.name.setFocus()
        self.details.name.selectAll()
        self.set_status(f"Added {voice.name}: name it, then add or record a reference clip")
        return voice.id

    def remove_selected(self) -> None:
        current = self.current_voice_id()
        ids = self.selected_voice_ids() or ([current] if current else [])
        if self.bank is None or not ids:
            return
        names = ", ".join(self.bank.get(i).name for i in ids if self.bank.has(i))
        if not self.ask(
            self, "Remove voices", f"Remove {names} from the voice bank? Projects keep their copies."
        ):
            return
        for voice_id in ids:
            try:
                self.bank.remove_voice(voice_id)
            except BankError as exc:
                self.set_status(f"Cannot remove the voice: {exc}", error=True)
                return
        self.set_status(f"Removed {names}")

    # ---- recording -------------------------------------------------------------------------
    def make_recorder(self, voice_id: str | None = None) -> QtVoiceRecorderDialog | None:
        """The recording dialog for a voice (default: the selected one); the caller shows it."""
        voice_id = voice_id or self.current_voice_id()
        if self.bank is None or voice_id is None:
            return None
        dialog = QtVoiceRecorderDialog(
            self.bank, voice_id, self.input_factory, jobs=self.jobs, count_in_ms=self.count_in_ms, parent=self
        )
        dialog.clipAdded.connect(lambda voice: self.set_status(f"Recorded a clip for {voice.name}"))
        return dialog

    def record_clip(self, voice_id: str | None = None) -> QtVoiceRecorderDialog | None:
        dialog = self.make_recorder(voice_id)
        if dialog is not None:
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.open()
        return dialog

    # ---- audition (studio.ui.qt_voice_bank_audition) ------------------------------------------
    def audition_current(self) -> bool:
        return self.bank is not None and self.auditions.audition_current()

    def audition_ab(self, other_id: str) -> bool:
        return self.bank is not None and self.auditions.audition_ab(other_id)

    def audition(self, voice_ids: list[str]) -> bool:
        """Speak the test sentence in each voice in turn (two voices = A/B)."""
        return self.bank is not None and self.auditions.audition(voice_ids)

    # ---- import / export (studio.ui.qt_voice_bank_transfer) ------------------------------------
    def import_from(self, path: str | Path, on_conflict: Conflict = "error") -> None:
        """Import a pack or a preset folder on a worker (its own bank connection)."""
        if self.bank is not None:
            self.transfer.import_from(path, on_conflict)

    def _imported(self, voice_ids: list[str]) -> None:
        self.reload_if_changed()
        if voice_ids:
            self.select_voice(voice_ids[0])

    def _export_ids(self) -> list[str]:
        return self.selected_voice_ids() or self.visible_voice_ids()

    def export_pack_to(self, path: str | Path, voice_ids: list[str] | None = None) -> None:
        """Write a ``.chorusvoice`` pack of ``voice_ids`` (default: selected, else shown) on a worker."""
        if self.bank is not None:
            self.transfer.export_pack_to(path, voice_ids)

    def export_presets_to(self, folder: str | Path, voice_ids: list[str] | None = None) -> None:
        """Write a vLLM voice-presets folder (``config.json`` + clips) on a worker."""
        if self.bank is not None:
            self.transfer.export_presets_to(folder, voice_ids)

    # ---- lifetime --------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop workers, playback and the auditions (the panel's own engine, if it has one); close the
        bank if the panel opened it."""
        if self._closed:
            return
        self._closed = True
        if self.bank is None:
            return
        self.transfer.closed = True
        self._poll.stop()
        self.details.close_editor()
        self.set_document(None)
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self.auditioner is not None:
            self.auditioner.shutdown(wait=True)
        self.player.stop()
        self.jobs.shutdown(wait=True)
        if self.owns_bank:
            self.bank.close()


def make_voice_bank_panel(
    bank: VoiceBank | None = None, parent: QWidget | None = None, **options: Any
) -> QtVoiceBankPanel:
    """The panel over ``bank``, or over the user's bank (``CHORUS_VOICE_BANK`` / the data folder).

    A bank that cannot be opened gives a panel that says why. ``options`` go to QtVoiceBankPanel
    (``input_factory``, ``output_factory``, ``client_factory`` or ``engine`` (the studio's
    SharedEngine, shared with rendering), ``audition``, ``count_in_ms``,
    ``transcriber``: how clips added without a transcript are transcribed; None = they are not).
    """
    owns = bank is None
    if bank is None:
        try:
            bank = VoiceBank.open()
        except BankError as exc:
            return QtVoiceBankPanel(None, bank_error=f"The voice bank cannot be opened: {exc}", parent=parent)
    return QtVoiceBankPanel(bank, owns_bank=owns, parent=parent, **options)
