"""Project settings: title and metadata, timeline gaps, and the render backend with its parameters
(Piper on the CPU, Higgs Audio v2 on a local GPU, or remote OpenAI-compatible speech servers).

Changing what determines a take (backend, model, generation parameters) makes rendered lines stale
in the same undo step.

Thread contract: GUI thread only.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QSpinBox,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from studio.core.settings_schema import (
    BACKENDS,
    QA_PARAMS,
    Param,
    SettingError,
    endpoints_text,
    numbers_text,
    parse_endpoints,
    parse_numbers,
)
from studio.render.project_edits import change_settings
from studio.ui.qt_document import QtDocument


class QtBackendForm(QWidget):
    def __init__(
        self, params: tuple[Param, ...], values: dict[str, Any], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.params = params
        self.widgets: dict[str, QWidget] = {}
        form = QFormLayout(self)
        for p in params:
            value = values.get(p.key, p.default)
            widget: QWidget
            if p.kind == "bool":
                box = QCheckBox()
                box.setChecked(bool(value))
                widget = box
            elif p.kind == "int":
                spin = QSpinBox()
                spin.setRange(int(p.lo), int(min(p.hi, 2**31 - 1)))
                spin.setValue(int(value))
                widget = spin
            elif p.kind == "float":
                dspin = QDoubleSpinBox()
                dspin.setRange(p.lo, p.hi)
                dspin.setSingleStep(p.step)
                dspin.setDecimals(3)
                dspin.setValue(float(value))
                widget = dspin
            elif p.kind == "choice":
                combo = QComboBox()
                combo.addItems(list(p.choices))
                combo.setCurrentText(str(value))
                widget = combo
            elif p.kind == "lines":
                text = QPlainTextEdit()
                text.setPlainText(endpoints_text(value))
                text.setFixedHeight(80)
                widget = text
            else:
                line = QLineEdit(str(value))
                widget = line
            if p.tip:
                widget.setToolTip(p.tip)
            form.addRow(p.label, widget)
            self.widgets[p.key] = widget

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p in self.params:
            w = self.widgets[p.key]
            if isinstance(w, QCheckBox):
                out[p.key] = w.isChecked()
            elif isinstance(w, QSpinBox):
                out[p.key] = w.value()
            elif isinstance(w, QDoubleSpinBox):
                out[p.key] = round(w.value(), 4)
            elif isinstance(w, QComboBox):
                out[p.key] = w.currentText()
            elif isinstance(w, QPlainTextEdit):
                out[p.key] = parse_endpoints(w.toPlainText())
            elif isinstance(w, QLineEdit):
                text = w.text().strip()
                out[p.key] = int(text) if text.isdigit() else text
        return out


class QtProjectSettingsDialog(QDialog):
    def __init__(self, doc: QtDocument, parent: QWidget | None = None, tab: str = "general") -> None:
        super().__init__(parent)
        self.doc = doc
        self.setWindowTitle("Project settings")
        self.setMinimumWidth(520)
        s = doc.project.settings
        options = s.backend_options_dict()
        tabs = QTabWidget()
        general = QWidget()
        form = QFormLayout(general)
        self.title = QLineEdit(s.title)
        self.artist = QLineEdit(s.artist)
        self.album = QLineEdit(s.album)
        self.comment = QLineEdit(s.comment)
        self.sample_rate = QComboBox()
        for rate in (44100, 48000):
            self.sample_rate.addItem(f"{rate} Hz", rate)
        self.sample_rate.setCurrentIndex(max(0, self.sample_rate.findData(s.sample_rate)))
        self.channels = QComboBox()
        self.channels.addItem("Stereo", 2)
        self.channels.addItem("Mono", 1)
        self.channels.setCurrentIndex(max(0, self.channels.findData(s.channels)))
        self.gap_same = self._seconds(s.gap_same_speaker)
        self.gap_new = self._seconds(s.gap_new_speaker)
        self.gap_scene = self._seconds(s.gap_new_scene)
        self.lead_in = self._seconds(s.lead_in, 600)
        self.level_match = QCheckBox("Match the loudness of the speakers")
        self.level_match.setChecked(s.level_match_speakers)
        for label, widget in (
            ("Title", self.title),
            ("Artist", self.artist),
            ("Album", self.album),
            ("Comment", self.comment),
            ("Sample rate", self.sample_rate),
            ("Channels", self.channels),
            ("Gap, same speaker", self.gap_same),
            ("Gap, new speaker", self.gap_new),
            ("Gap, new scene", self.gap_scene),
            ("Lead-in", self.lead_in),
            ("", self.level_match),
        ):
            form.addRow(label, widget)
        tabs.addTab(general, "General")

        rendering = QWidget()
        layout = QVBoxLayout(rendering)
        self.backend = QComboBox()
        self.forms = QStackedWidget()
        for name, (label, params) in BACKENDS.items():
            self.backend.addItem(label, name)
            self.forms.addWidget(QtBackendForm(params, options if name == s.backend else {}, self))
        self.backend.currentIndexChanged.connect(self.forms.setCurrentIndex)
        self.backend.setCurrentIndex(max(0, self.backend.findData(s.backend)))
        note = QLabel("Changing the backend or its generation parameters makes rendered lines stale.")
        note.setObjectName("placeholder")
        note.setWordWrap(True)
        layout.addWidget(self.backend)
        layout.addWidget(self.forms)
        layout.addWidget(note)
        layout.addStretch(1)
        tabs.addTab(rendering, "Rendering")
        tabs.addTab(self._checks_tab(s), "Checks")
        if tab == "rendering":
            tabs.setCurrentIndex(1)
        elif tab == "checks":
            tabs.setCurrentIndex(2)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        root = QVBoxLayout(self)
        root.addWidget(tabs)
        root.addWidget(buttons)

    def _checks_tab(self, s: Any) -> QWidget:
        """Take checks (studio.qa): on/off, re-rolls, threshold overrides (settings_schema.QA_PARAMS)."""
        params = {p.key: p for p in QA_PARAMS}
        page = QWidget()
        form = QFormLayout(page)
        self.qa_check = QCheckBox(params["qa_check"].label)
        self.qa_check.setToolTip(params["qa_check"].tip)
        self.qa_check.setChecked(bool(s.qa_check))
        self.qa_retries = QSpinBox()
        self.qa_retries.setRange(int(params["qa_retries"].lo), int(params["qa_retries"].hi))
        self.qa_retries.setSpecialValueText("backend default")
        self.qa_retries.setToolTip(params["qa_retries"].tip)
        self.qa_retries.setValue(int(s.qa_retries))
        self.qa_thresholds = QLineEdit(numbers_text(s.qa_thresholds))
        self.qa_thresholds.setObjectName("qaThresholds")
        self.qa_thresholds.setPlaceholderText('{"max_wer": 0.3}')
        self.qa_thresholds.setToolTip(params["qa_thresholds"].tip)
        form.addRow("", self.qa_check)
        form.addRow(params["qa_retries"].label, self.qa_retries)
        form.addRow(params["qa_thresholds"].label, self.qa_thresholds)
        return page

    @staticmethod
    def _seconds(value: float, hi: float = 10.0) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(0.0, hi)
        box.setSingleStep(0.05)
        box.setDecimals(2)
        box.setSuffix(" s")
        box.setValue(value)
        return box

    def changes(self) -> dict[str, Any]:
        """The settings fields that differ from the project's."""
        backend = str(self.backend.currentData())
        form = self.forms.currentWidget()
        assert isinstance(form, QtBackendForm)
        old = self.doc.project.settings
        options = dict(old.backend_options_dict()) if backend == old.backend else {}
        options.update(form.values())
        wanted: dict[str, Any] = {
            "title": self.title.text().strip() or old.title,
            "artist": self.artist.text().strip(),
            "album": self.album.text().strip(),
            "comment": self.comment.text().strip(),
            "sample_rate": int(self.sample_rate.currentData()),
            "channels": int(self.channels.currentData()),
            "gap_same_speaker": round(self.gap_same.value(), 3),
            "gap_new_speaker": round(self.gap_new.value(), 3),
            "gap_new_scene": round(self.gap_scene.value(), 3),
            "lead_in": round(self.lead_in.value(), 3),
            "level_match_speakers": self.level_match.isChecked(),
            "backend": backend,
            "backend_options": tuple(sorted(options.items(), key=lambda kv: kv[0])),
            "qa_check": self.qa_check.isChecked(),
            "qa_retries": self.qa_retries.value(),
            "qa_thresholds": parse_numbers("qa_thresholds", self.qa_thresholds.text()),
        }
        return {k: v for k, v in wanted.items() if _json(getattr(old, k)) != _json(v)}

    def accept(self) -> None:
        try:
            changes = self.changes()
        except SettingError as exc:
            QMessageBox.warning(self, "Project settings", str(exc))
            return
        apply_settings(self.doc, changes)
        super().accept()


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def apply_settings(doc: QtDocument, changes: dict[str, Any]) -> bool:
    """Change project settings (one undo step); lines whose take no longer matches go stale."""
    if not changes:
        return False
    with doc.macro("Project settings"):
        return change_settings(doc.project, doc.media_dir, changes, doc.edit)
