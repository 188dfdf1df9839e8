"""The voice bank panel's audition controls: the test sentence, ▶ Audition / ■ Stop and A/B.

:class:`QtBankAudition` turns those gestures into :class:`~studio.ui.qt_voice_audition.AuditionRequest` s
for the selected voice(s) with the open project's backend (the Piper draft of a voice when the
backend is Piper) and hands them to the ``audition`` callable — by default the
:class:`~studio.ui.qt_voice_audition.QtAuditioner`, which renders them through the studio's one engine.
While the auditioner is busy the button reads ■ Stop and cancels the auditions (never the render).

Thread contract: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QMenu, QPushButton, QToolButton

from studio.bank.records import BankError
from studio.bank.store import VoiceBank
from studio.ui.qt_voice_audition import DEFAULT_SENTENCE, Auditioner, QtAuditioner, audition_request

PLAY_TEXT = "▶ Audition"
STOP_TEXT = "■ Stop"


class QtBankAudition(QObject):
    """See the module docstring. ``current_voice`` says which voice is selected; ``set_status`` shows
    a line on the panel (``error=True`` for refusals)."""

    auditionRequested = Signal(object)  # an AuditionRequest (also handed to the ``audition`` callable)

    def __init__(
        self,
        bank: VoiceBank,
        audition: Auditioner,
        auditioner: QtAuditioner | None,
        current_voice: Callable[[], str | None],
        set_status: Callable[..., None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.bank = bank
        self._audition = audition
        self.auditioner = auditioner
        self.current_voice = current_voice
        self.set_status = set_status
        self.backend = "piper"
        self.backend_options: dict[str, Any] = {}

        self.sentence = QLineEdit(DEFAULT_SENTENCE)
        self.sentence.setCursorPosition(0)
        self.sentence.setToolTip("The test sentence for Audition and A/B")
        self.audition_button = QPushButton(PLAY_TEXT)
        self.audition_button.setObjectName("auditionButton")
        self.audition_button.setToolTip("Speak the test sentence in this voice (the project's backend)")
        self.audition_button.clicked.connect(self._clicked)
        self.ab_button = QToolButton()
        self.ab_button.setText("A/B")
        self.ab_button.setToolTip("The same sentence in this voice, then in another")
        self.ab_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.ab_menu = QMenu(self.ab_button)
        self.ab_menu.aboutToShow.connect(self._fill_ab_menu)
        self.ab_button.setMenu(self.ab_menu)
        if auditioner is not None:
            auditioner.busyChanged.connect(self._busy_changed)

    def row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(self.sentence, 1)
        row.addWidget(self.audition_button)
        row.addWidget(self.ab_button)
        return row

    def set_backend(self, backend: str, options: dict[str, Any]) -> None:
        """The open project's backend (Piper without a project): later auditions use it."""
        self.backend = backend
        self.backend_options = dict(options)
        if self.auditioner is not None:
            self.auditioner.set_backend(backend, options)
        if self.audition_button.text() == PLAY_TEXT:
            self.audition_button.setToolTip(f"Speak the test sentence in this voice with {backend}")

    def update_actions(self, has_voice: bool, voices: int) -> None:
        busy = self.audition_button.text() == STOP_TEXT
        self.audition_button.setEnabled(has_voice or busy)
        self.ab_button.setEnabled(has_voice and voices > 1)

    def _busy_changed(self, busy: bool) -> None:
        self.audition_button.setText(STOP_TEXT if busy else PLAY_TEXT)
        self.audition_button.setToolTip(
            "Stop the audition (the render queue goes on)"
            if busy
            else f"Speak the test sentence in this voice with {self.backend}"
        )
        if not busy:
            self.audition_button.setEnabled(self.current_voice() is not None)

    def _clicked(self) -> None:
        if self.auditioner is not None and self.auditioner.busy:
            self.auditioner.cancel()
        else:
            self.audition_current()

    # ---- gestures ----------------------------------------------------------------------------
    def audition_current(self) -> bool:
        voice_id = self.current_voice()
        return voice_id is not None and self.audition([voice_id])

    def audition_ab(self, other_id: str) -> bool:
        voice_id = self.current_voice()
        return voice_id is not None and self.audition([voice_id, other_id])

    def audition(self, voice_ids: list[str]) -> bool:
        """Speak the test sentence in each voice in turn (two voices = A/B)."""
        if not voice_ids:
            return False
        slots = ("A", "B") if len(voice_ids) == 2 else ("",) * len(voice_ids)
        try:
            requests = [
                audition_request(
                    self.bank,
                    voice_id,
                    self.sentence.text(),
                    backend=self.backend,
                    defaults=self.backend_options,
                    slot=slot,
                )
                for voice_id, slot in zip(voice_ids, slots, strict=True)
            ]
        except BankError as exc:
            self.set_status(f"Cannot audition: {exc}", error=True)
            return False
        for request in requests:
            self.auditionRequested.emit(request)
            self._audition(request)
        if self.backend == "piper":
            drafts = [r.label for r in requests if self.bank.get(r.voice_id).kind != "piper"]
            if drafts:
                self.set_status(
                    f"Piper draft of {', '.join(drafts)} (its Piper voice); choose Higgs as the project's "
                    "backend to hear the cloned voice"
                )
        return True

    def _fill_ab_menu(self) -> None:
        self.ab_menu.clear()
        current = self.current_voice()
        if current is None:
            return
        for voice in self.bank.list_voices():
            if voice.id != current:
                action = self.ab_menu.addAction(f"against {voice.name}")
                action.triggered.connect(lambda _checked=False, v=voice.id: self.audition_ab(v))
