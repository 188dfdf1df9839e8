"""The Export dialog: the mix (format, loudness preset), stems, per-line files and subtitles, over
:mod:`studio.audio.export`, with progress and cancel.

The export runs on a worker thread (``concurrent.futures``) on a snapshot of the project, reporting
through a job-state object whose progress/status calls are forwarded to the GUI by queued signals;
the result is applied on the GUI thread. Cancel asks the job to stop; it removes everything it had
written (the export writes to temporary names and renames at the end).

Thread contract: the dialog is GUI-thread only; ``_JobState`` methods are called on the worker.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.audio.errors import ExportCancelled  # light: imported here so the GUI never waits on
from studio.ui.qt_document import QtDocument  # the import lock while the worker imports the export
from studio.ui.qt_mixer import PRESETS

FORMATS = (
    ("mp3", "MP3"),
    ("wav", "WAV"),
    ("flac", "FLAC"),
    ("ogg", "OGG Vorbis"),
    ("opus", "Opus"),
)
BIT_DEPTHS = ((16, "16-bit"), (24, "24-bit"), (32, "32-bit float"))
BITRATES = (128, 192, 320)
POLL_MS = 50
# Engine layouts for the per-line files (studio.audio.profiles.PROFILES); "" = plain files named by the template.
ENGINE_PROFILES = (
    ("", "None (plain files)"),
    ("unreal", "Unreal"),
    ("wwise", "Wwise"),
    ("fmod", "FMOD"),
    ("unity", "Unity (Yarn Spinner)"),
)
PLAIN_TEMPLATE = "{id}.wav"
PROFILE_TEMPLATE = "{language}/{id}.wav"  # every profile's default layout
ALL_LANGUAGES = ""


class _Results:
    """The outcomes of a mix/stems/subtitles export and an engine-profile export run together."""

    def __init__(self, results: list[Any]) -> None:
        self.results = results
        self.files = [f for r in results for f in getattr(r, "files", [])]

    def summary_lines(self) -> list[str]:
        return [line for r in self.results for line in r.summary_lines()]


def _run_export(project: Any, resolve: Any, fields: dict[str, Any], state: _JobState) -> Any:
    """Worker thread: build the request and run the export (importing the audio stack here keeps
    its first-time import cost off the GUI thread). With ``profile``, the per-line files are laid
    out for that game engine (:func:`studio.audio.profiles.export_profile`) in ``lines_dir``."""
    from studio.audio.export import ExportJob, ExportRequest, run

    fields = dict(fields)
    profile = str(fields.pop("profile", "") or "")
    language = str(fields.pop("language", "") or "")
    mix_languages = tuple(fields.pop("mix_languages", ()) or ())
    results: list[Any] = []
    lines_dir = fields["lines_dir"]
    if profile:
        fields["lines_dir"] = None
    if any(fields[k] for k in ("output", "stems_dir", "lines_dir", "srt", "vtt")):
        if mix_languages:  # one mix (and its subtitles, stems …) per language, named with its code
            from studio.audio.export_languages import for_language, in_language

            for code in mix_languages:
                copy, _missing = in_language(project, code)
                results.append(run(ExportJob(copy, resolve, for_language(ExportRequest(**fields), code)), state))
        else:
            results.append(run(ExportJob(project, resolve, ExportRequest(**fields)), state))
    if profile and lines_dir is not None:
        from studio.audio.profiles import export_profile, get_profile

        template = fields["lines_template"]
        chosen = get_profile(profile, template=template if template != PROFILE_TEMPLATE else None)
        results.append(
            export_profile(project, resolve, chosen, lines_dir, state, [language] if language else None)
        )
    return results[0] if len(results) == 1 else _Results(results)


class _JobState:
    """The export job's state. The worker writes plain attributes; the dialog's GUI timer reads them
    (no Qt signal is emitted from the worker thread). Cancel is an Event."""

    def __init__(self) -> None:
        self.fraction = 0.0
        self.status = ""
        self.cancel = threading.Event()

    def set_progress(self, fraction: float) -> None:
        self.fraction = float(fraction)

    def set_status(self, text: str) -> None:
        self.status = str(text)

    def is_cancel_requested(self) -> bool:
        return self.cancel.is_set()


def _path_row(edit: QLineEdit, pick: Any) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    browse = QPushButton("…")
    browse.setToolTip("Choose…")
    browse.setFixedWidth(max(32, browse.sizeHint().width()))  # the theme's padding: never clip the "…"
    browse.clicked.connect(pick)
    row.addWidget(browse)
    return row


class QtExportDialog(QDialog):
    def __init__(self, doc: QtDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.setWindowTitle("Export")
        self.setMinimumWidth(560)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chorus-export")
        self._future: Future[Any] | None = None
        self._state: _JobState | None = None
        self.result_value: Any = None
        self.error_text = ""
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)

        settings = doc.project.settings
        base = doc.root.parent / (doc.root.stem or "export")
        # the mix
        mix = QGroupBox("Mix")
        mix.setCheckable(True)
        self.mix_box = mix
        form = QFormLayout(mix)
        self.format = QComboBox()
        for key, label in FORMATS:
            self.format.addItem(label, key)
        self.output = QLineEdit(str(base.with_suffix(".mp3")))
        self.bit_depth = QComboBox()
        for bits, label in BIT_DEPTHS:
            self.bit_depth.addItem(label, bits)
        self.bit_depth.setCurrentIndex(1)
        self.bitrate = QComboBox()
        for kbps in BITRATES:
            self.bitrate.addItem(f"{kbps} kbps CBR", kbps)
        self.bitrate.setCurrentIndex(1)
        self.preset = QComboBox()
        for key, label in PRESETS:
            self.preset.addItem(label, key)
        self.preset.setCurrentIndex(max(0, self.preset.findData(settings.export_preset)))
        self.chapters = QCheckBox("Chapters from markers")
        self.chapters.setChecked(True)
        from studio.core.layout import timeline_language
        from studio.core.workflow import project_languages

        self.languages = project_languages(doc.project)
        self.mix_languages = QCheckBox(f"Every language ({', '.join(self.languages)}): one file each, NAME.fr…")
        self.mix_languages.setObjectName("mixAllLanguages")
        self.mix_languages.setToolTip(
            "Mix the timeline once per language, each with that language's takes (and its subtitles). "
            f"Unchecked, the mix speaks the timeline's language: "
            f"{timeline_language(doc.project) or settings.source_language}"
        )
        form.addRow("Format", self.format)
        form.addRow("File", _path_row(self.output, self._pick_output))
        form.addRow("Bit depth", self.bit_depth)
        form.addRow("Bitrate", self.bitrate)
        form.addRow("Loudness", self.preset)
        form.addRow("", self.chapters)
        if len(self.languages) > 1:
            form.addRow("Languages", self.mix_languages)
        else:
            self.mix_languages.setVisible(False)
        # stems
        self.stems_box = QGroupBox("Stems (one file per track)")
        self.stems_box.setCheckable(True)
        self.stems_box.setChecked(False)
        form = QFormLayout(self.stems_box)
        self.stems_dir = QLineEdit(str(base.parent / f"{base.name}-stems"))
        form.addRow("Folder", _path_row(self.stems_dir, lambda: self._pick_dir(self.stems_dir)))
        # per-line
        self.lines_box = QGroupBox("Per-line files (game pipelines)")
        self.lines_box.setCheckable(True)
        self.lines_box.setChecked(False)
        form = QFormLayout(self.lines_box)
        self.lines_dir = QLineEdit(str(base.parent / f"{base.name}-lines"))
        self.lines_template = QLineEdit(PLAIN_TEMPLATE)
        self.lines_template.setToolTip(
            "Fields: {id}, {character}, {scene}, {index}; with an engine: {language}"
        )
        self.engine_profile = QComboBox()
        self.engine_profile.setObjectName("engineProfile")
        for key, label in ENGINE_PROFILES:
            self.engine_profile.addItem(label, key)
        self.engine_profile.setToolTip(
            "Lay the files out for a game engine: a folder per language at the engine's sample rate and bit "
            "depth, per-line loudness, manifests (JSON + CSV) and the engine's own table"
        )
        self.lines_language = QComboBox()
        self.lines_language.setObjectName("linesLanguage")
        self.lines_language.addItem("All languages", ALL_LANGUAGES)
        from studio.core.workflow import project_languages

        for code in project_languages(doc.project):
            self.lines_language.addItem(code, code)
        form.addRow("Folder", _path_row(self.lines_dir, lambda: self._pick_dir(self.lines_dir)))
        form.addRow("Engine", self.engine_profile)
        form.addRow("Languages", self.lines_language)
        form.addRow("Names", self.lines_template)
        self.engine_profile.currentIndexChanged.connect(self._profile_changed)
        self._profile_changed()
        # subtitles
        self.subs_box = QGroupBox("Subtitles")
        self.subs_box.setCheckable(True)
        self.subs_box.setChecked(False)
        form = QFormLayout(self.subs_box)
        self.srt = QCheckBox("SRT")
        self.srt.setChecked(True)
        self.vtt = QCheckBox("WebVTT")
        self.speaker_names = QCheckBox("Speaker names in the cues")
        self.speaker_names.setChecked(True)
        row = QHBoxLayout()
        row.addWidget(self.srt)
        row.addWidget(self.vtt)
        row.addStretch(1)
        form.addRow("Formats", row)
        form.addRow("", self.speaker_names)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel_or_close)

        layout = QVBoxLayout(self)
        for box in (mix, self.stems_box, self.lines_box, self.subs_box):
            layout.addWidget(box)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.format.currentIndexChanged.connect(self._format_changed)
        self._format_changed()
        if doc.project.missing_media:
            self.status.setText(
                f"{len(doc.project.missing_media)} media file(s) are missing; their clips will be silent."
            )

    # ---- inputs --------------------------------------------------------------------------
    def _format_changed(self) -> None:
        fmt = str(self.format.currentData())
        lossy = fmt in ("mp3", "ogg", "opus")
        self.bitrate.setEnabled(lossy)
        self.bit_depth.setEnabled(not lossy)
        self.chapters.setEnabled(lossy)
        path = Path(self.output.text())
        if path.suffix.lower() != f".{fmt}":
            self.output.setText(str(path.with_suffix(f".{fmt}")))

    def _profile_changed(self) -> None:
        engine = bool(self.engine_profile.currentData())
        self.lines_language.setEnabled(engine)
        text = self.lines_template.text().strip()
        if engine and text in ("", PLAIN_TEMPLATE):
            self.lines_template.setText(PROFILE_TEMPLATE)
        elif not engine and text in ("", PROFILE_TEMPLATE):
            self.lines_template.setText(PLAIN_TEMPLATE)

    def _pick_output(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export mix", self.output.text())
        if path:
            self.output.setText(path)

    def _pick_dir(self, edit: QLineEdit) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder", edit.text())
        if path:
            edit.setText(path)

    def request(self) -> dict[str, Any]:
        """The fields of the :class:`~studio.audio.export.ExportRequest` the form describes."""
        fmt = str(self.format.currentData())
        subs = self.subs_box.isChecked()
        base = Path(self.output.text()).with_suffix("")
        return dict(
            output=Path(self.output.text()) if self.mix_box.isChecked() else None,
            format=fmt,
            bit_depth=int(self.bit_depth.currentData()),
            bitrate_kbps=int(self.bitrate.currentData()),
            preset=str(self.preset.currentData()),
            chapters=self.chapters.isChecked(),
            stems_dir=Path(self.stems_dir.text()) if self.stems_box.isChecked() else None,
            lines_dir=Path(self.lines_dir.text()) if self.lines_box.isChecked() else None,
            lines_template=self.lines_template.text().strip() or PLAIN_TEMPLATE,
            srt=base.with_suffix(".srt") if subs and self.srt.isChecked() else None,
            vtt=base.with_suffix(".vtt") if subs and self.vtt.isChecked() else None,
            subtitle_speakers=self.speaker_names.isChecked(),
            profile=str(self.engine_profile.currentData() or ""),
            language=str(self.lines_language.currentData() or ""),
            mix_languages=self.languages if self.mix_languages.isChecked() and len(self.languages) > 1 else (),
        )

    # ---- running -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._future is not None and not self._future.done()

    def start(self) -> bool:
        if self.running:
            return False
        try:
            request = self.request()
        except (TypeError, ValueError) as exc:
            self.status.setText(str(exc))
            return False
        if not any(request[k] for k in ("output", "stems_dir", "lines_dir", "srt", "vtt")):
            self.status.setText("Choose something to export.")
            return False
        project = self.doc.snapshot()
        self._state = _JobState()
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.status.setText("Exporting…")
        self.export_button.setEnabled(False)
        self.cancel_button.setText("Cancel export")
        state = self._state
        self._future = self._pool.submit(_run_export, project, self.doc.media_path, request, state)
        self._timer.start()
        return True

    def _poll(self) -> None:
        """GUI timer: show progress; apply the outcome once the worker is done."""
        state, future = self._state, self._future
        if state is not None:
            value = int(max(0.0, min(1.0, state.fraction)) * 1000)
            if abs(value - self.progress.value()) >= 5:  # repaint the bar only when it visibly moves
                self.progress.setValue(value)
            if state.status and not state.cancel.is_set():
                self.status.setText(state.status)
        if future is None or not future.done():
            return
        self._timer.stop()
        exc = future.exception()
        if exc is None:
            self._on_finished(future.result(), "")
        elif isinstance(exc, ExportCancelled):
            self._on_finished(None, "Export cancelled; nothing was written.")
        else:
            self._on_finished(None, str(exc) or type(exc).__name__)

    def _on_finished(self, result: Any, error: str) -> None:
        self._future = None
        self.export_button.setEnabled(True)
        self.cancel_button.setText("Close")
        if result is not None:
            self.result_value = result
            self.progress.setValue(1000)
            lines = (
                result.summary_lines() if hasattr(result, "summary_lines") else [str(p) for p in result.files]
            )
            self.status.setText("Export finished:\n" + "\n".join(lines[:8]))
            self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        else:
            self.error_text = error
            self.progress.setVisible(False)
            self.status.setText(error)

    def cancel_or_close(self) -> None:
        if self.running and self._state is not None:
            self._state.cancel.set()
            self.status.setText("Cancelling…")
            return
        self.reject()

    def wait(self, timeout: float = 60.0) -> None:
        """Tests: block until the export is done and its result applied."""
        import time

        deadline = time.monotonic() + timeout
        while self._future is not None and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            time.sleep(0.01)
            self._poll()

    def done(self, code: int) -> None:  # closing while running cancels first
        self._timer.stop()
        if self.running and self._state is not None:
            self._state.cancel.set()
            if self._future is not None:
                try:
                    self._future.result(timeout=10)
                except Exception:
                    pass
        self._pool.shutdown(wait=False)
        super().done(code)
