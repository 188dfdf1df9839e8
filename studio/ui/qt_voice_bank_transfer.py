"""The voice bank panel's import and export: ``.chorusvoice`` packs, Higgs / vLLM preset folders.

:class:`QtBankTransfer` owns the panel's Import and Export buttons (menus of file dialogs) and runs
each transfer on the panel's :class:`~studio.ui.qt_bank_jobs.QtJobRunner` worker with its own bank
connection (:func:`~studio.ui.qt_bank_jobs.with_bank`); the result comes back on the GUI thread as a
status line (and the first imported voice selected). An import that meets voices already in the bank
asks whether to replace them, keep the bank's, or import copies.

Thread contract: GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu, QMessageBox, QToolButton, QWidget

from studio.bank.packs import PACK_SUFFIX, export_pack, export_presets, import_path
from studio.bank.records import BankError
from studio.bank.store import Conflict, ImportResult, VoiceBank
from studio.ui.qt_bank_jobs import QtJobRunner, describe_failure, with_bank


class QtBankTransfer(QObject):
    """See the module docstring. ``export_ids`` says which voices an export without ids writes;
    ``imported`` is called with the imported voice ids once the panel should show them."""

    def __init__(
        self,
        bank: VoiceBank,
        jobs: QtJobRunner,
        set_status: Callable[..., None],
        export_ids: Callable[[], list[str]],
        imported: Callable[[list[str]], None],
        widget: QWidget,
    ) -> None:
        super().__init__(widget)
        self.bank = bank
        self.jobs = jobs
        self.set_status = set_status
        self.export_ids = export_ids
        self.on_imported = imported
        self.widget = widget  # the dialogs' parent
        self.closed = False

        self.import_button = QToolButton()
        self.import_button.setText("Import")
        self.import_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.import_button)
        menu.addAction("Voice pack (.chorusvoice)…", self._import_pack_dialog)
        menu.addAction(
            "Preset folder (Higgs voice prompts or vLLM voice presets)…", self._import_folder_dialog
        )
        self.import_button.setMenu(menu)
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        menu.addAction("Voice pack (.chorusvoice)…", self._export_pack_dialog)
        menu.addAction("vLLM voice-presets folder…", self._export_presets_dialog)
        self.export_button.setMenu(menu)
        self.export_button.setToolTip("Export the selected voices (all voices when none is selected)")

    # ---- import ------------------------------------------------------------------------------
    def import_from(self, path: str | Path, on_conflict: Conflict = "error") -> None:
        """Import a pack or a preset folder on a worker (its own bank connection)."""
        source = Path(path)
        root = self.bank.root

        def work(bank: VoiceBank) -> ImportResult:
            return import_path(bank, source, on_conflict=on_conflict)

        self.set_status(f"Importing {source.name}…")
        self.jobs.submit(
            with_bank,
            root,
            work,
            done=lambda result: self._imported(source, result),
            failed=lambda exc: self._import_failed(source, exc),
            label=f"Importing {source.name}",
        )

    def _imported(self, source: Path, result: ImportResult) -> None:
        if self.closed:
            return
        parts = [f"Imported {len(result.imported)} voice(s) from {source.name}"]
        if result.replaced:
            parts.append(f"replaced {', '.join(result.replaced)}")
        if result.skipped:
            parts.append(f"kept the bank's {', '.join(result.skipped)}")
        parts.extend(result.warnings)
        self.set_status("; ".join(parts))
        self.on_imported([voice.id for voice in result.imported])

    def _import_failed(self, source: Path, exc: BaseException) -> None:
        if self.closed:
            return
        text = describe_failure(f"Importing {source.name}", exc)
        if isinstance(exc, BankError) and text.startswith("already in the bank"):
            policy = self._ask_conflict(text)
            if policy is not None:
                self.import_from(source, policy)
                return
        self.set_status(f"Cannot import {source.name}: {text}", error=True)

    def _ask_conflict(self, text: str) -> Conflict | None:
        if QApplication.platformName() == "offscreen":
            return None
        box = QMessageBox(self.widget)
        box.setWindowTitle("Voices already in the bank")
        box.setText(text.split(". Import again")[0] + ".")
        replace = box.addButton("Replace them", QMessageBox.ButtonRole.AcceptRole)
        skip = box.addButton("Keep the bank's", QMessageBox.ButtonRole.AcceptRole)
        copy = box.addButton("Import copies", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        box.deleteLater()
        return {id(replace): "replace", id(skip): "skip", id(copy): "copy"}.get(id(clicked))  # type: ignore[return-value]

    # ---- export ------------------------------------------------------------------------------
    def export_pack_to(self, path: str | Path, voice_ids: list[str] | None = None) -> None:
        """Write a ``.chorusvoice`` pack of ``voice_ids`` (default: selected, else shown) on a worker."""
        ids = list(voice_ids or self.export_ids())
        if not ids:
            self.set_status("No voices to export.", error=True)
            return
        target = Path(path)
        if target.suffix.lower() != PACK_SUFFIX:
            target = target.with_name(target.name + PACK_SUFFIX)
        self.jobs.submit(
            with_bank,
            self.bank.root,
            lambda bank: export_pack(bank, ids, target),
            done=lambda out: self.set_status(f"Exported {len(ids)} voice(s) to {Path(out).name}"),
            failed=lambda exc: self.set_status(
                f"Cannot export: {describe_failure('The export', exc)}", error=True
            ),
            label="Exporting",
        )

    def export_presets_to(self, folder: str | Path, voice_ids: list[str] | None = None) -> None:
        """Write a vLLM voice-presets folder (``config.json`` + clips) on a worker."""
        ids = list(voice_ids or self.export_ids())
        if not ids:
            self.set_status("No voices to export.", error=True)
            return
        target = Path(folder)

        def done(result: Any) -> None:
            text = f"Wrote {len(result.written)} voice preset(s) to {target}"
            self.set_status("; ".join([text, *result.warnings]), error=bool(result.warnings))

        self.jobs.submit(
            with_bank,
            self.bank.root,
            lambda bank: export_presets(bank, ids, target),
            done=done,
            failed=lambda exc: self.set_status(
                f"Cannot export: {describe_failure('The export', exc)}", error=True
            ),
            label="Exporting",
        )

    # ---- dialogs -----------------------------------------------------------------------------
    def _import_pack_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.widget, "Import a voice pack", "", f"Voice packs (*{PACK_SUFFIX});;All files (*)"
        )
        if path:
            self.import_from(path)

    def _import_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self.widget, "Import a Higgs voice-prompts or vLLM voice-presets folder"
        )
        if path:
            self.import_from(path)

    def _export_pack_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.widget, "Export a voice pack", f"voices{PACK_SUFFIX}", f"Voice packs (*{PACK_SUFFIX})"
        )
        if path:
            self.export_pack_to(path)

    def _export_presets_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self.widget, "Export to a vLLM voice-presets folder")
        if path:
            self.export_presets_to(path)
