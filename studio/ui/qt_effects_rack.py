"""The effects rack: a track's insert chain or a speaker's voice chain, as a list with presets and knobs.

Add (effect menu), remove, move up/down, bypass (the tick box of each row), a preset picker, a
parameter box per knob of the selected effect, and an A/B button that bypasses the whole chain (one
undoable edit, heard at once through playback, which rebuilds its mix on every change). Every gesture
is one named core edit from :mod:`studio.core.effects`; a spin-box drag merges into one undo step.

:class:`QtChainEditor` is the rack without a project: the same widgets and gestures over a chain that
lives elsewhere (a bank voice's, in :mod:`studio.ui.qt_voice_details`); a subclass says where the
chain is read from and how a new one is written (:meth:`QtChainEditor.chain`, :meth:`QtChainEditor.commit`).

Thread contract: GUI thread only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core import effects as fxc
from studio.core.model import Effect
from studio.core.ops import EditError
from studio.core.project import Change
from studio.ui.qt_document import QtDocument

ChainEdit = Callable[[tuple[Effect, ...]], tuple[tuple[Effect, ...], str]]


class QtChainEditor(QWidget):
    """An effect chain as a list with presets, add/remove/reorder, bypass ticks, knobs and A/B.

    Subclasses implement :meth:`chain` (what to show), :meth:`commit` (write a new chain; False when
    refused) and :meth:`report` (say why a gesture was refused), and call :meth:`refresh` when the
    chain changes.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._updating = False
        self._serial = 0
        self.preset = QComboBox()
        self.preset.setToolTip("Replace the chain with a preset")
        self.preset.addItem("Preset…", "")
        for key, label in fxc.PRESET_LABELS.items():
            self.preset.addItem(label, key)
        self.preset.addItem("Clear", "none")
        self.ab = QToolButton()
        self.ab.setText("A/B")
        self.ab.setCheckable(True)
        self.ab.setToolTip("Bypass the whole chain (compare with the dry sound)")
        self.list = QListWidget()
        self.list.setObjectName("effectsList")
        self.list.setMinimumHeight(90)
        self.add = QComboBox()
        self.add.addItem("Add effect…", "")
        for spec in fxc.EFFECTS.values():
            self.add.addItem(spec.label, spec.kind)
        self.remove = QToolButton()
        self.remove.setText("−")
        self.remove.setToolTip("Remove the selected effect")
        self.up = QToolButton()
        self.up.setText("▲")
        self.up.setToolTip("Move up (earlier in the chain)")
        self.down = QToolButton()
        self.down.setText("▼")
        self.down.setToolTip("Move down (later in the chain)")
        self.knobs = QWidget()
        self.knob_layout = QFormLayout(self.knobs)
        self.knob_layout.setContentsMargins(0, 0, 0, 0)
        self.spins: dict[str, QDoubleSpinBox] = {}
        self.tail = QLabel()
        self.tail.setObjectName("dimLabel")

        self.top = QHBoxLayout()
        self.top.addStretch(1)
        self.top.addWidget(self.ab)
        row = QHBoxLayout()
        row.addWidget(self.add, 1)
        row.addWidget(self.up)
        row.addWidget(self.down)
        row.addWidget(self.remove)
        self.main_layout = QVBoxLayout(self)
        layout = self.main_layout
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addLayout(self.top)
        layout.addWidget(self.preset)
        layout.addWidget(self.list, 1)
        layout.addLayout(row)
        layout.addWidget(self.knobs)
        layout.addWidget(self.tail)

        self.preset.activated.connect(self._preset)
        self.add.activated.connect(self._add)
        self.remove.clicked.connect(self._remove)
        self.up.clicked.connect(lambda: self._move(-1))
        self.down.clicked.connect(lambda: self._move(+1))
        self.ab.toggled.connect(self._ab)
        self.list.itemChanged.connect(self._item_changed)
        self.list.currentRowChanged.connect(lambda _: self._show_knobs())

    # ---- where the chain lives (subclasses) ------------------------------------------------
    def chain(self) -> tuple[Effect, ...]:
        return ()

    def can_edit(self) -> bool:
        return False

    def commit(self, chain: tuple[Effect, ...], label: str, merge_key: str = "") -> bool:
        raise NotImplementedError

    def report(self, message: str) -> None:
        raise NotImplementedError

    # ---- chain → widgets -----------------------------------------------------------------
    def refresh(self) -> None:
        """Show :meth:`chain` (keeping the selected row where it can)."""
        self._updating = True
        try:
            chain = self.chain()
            row = self.list.currentRow()
            self.list.clear()
            for i, fx in enumerate(chain, 1):
                item = QListWidgetItem(f"{i}. {fxc.spec_of(fx.kind).label}")
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked if fx.bypass else Qt.CheckState.Checked)
                item.setToolTip(f"{fxc.describe(fx)}\nTick: the effect plays; untick: bypassed")
                self.list.addItem(item)
            if chain:
                self.list.setCurrentRow(min(max(row, 0), len(chain) - 1))
            enabled = self.can_edit()
            for w in (self.preset, self.list, self.add, self.remove, self.up, self.down, self.ab):
                w.setEnabled(enabled)
            self.ab.setChecked(bool(chain) and all(fx.bypass for fx in chain))
            tail = fxc.chain_tail(fxc.active(chain))
            self.tail.setText(f"Tail {tail:.1f} s" if tail >= 0.05 else "")
            self._show_knobs()
        finally:
            self._updating = False

    def _show_knobs(self) -> None:
        while self.knob_layout.rowCount():
            self.knob_layout.removeRow(0)
        self.spins = {}
        chain = self.chain()
        row = self.list.currentRow()
        if not 0 <= row < len(chain):
            return
        fx = chain[row]
        values = fxc.params_of(fx)
        was = self._updating
        self._updating = True
        try:
            for p in fxc.spec_of(fx.kind).params:
                spin = QDoubleSpinBox()
                spin.setRange(p.low, p.high)
                span = p.high - p.low
                spin.setDecimals(0 if span >= 200 else 1 if span >= 20 else 2 if span >= 2 else 3)
                spin.setSingleStep(10 ** -spin.decimals() if span < 200 else max(1.0, span / 200))
                spin.setSuffix(f" {p.unit}" if p.unit and p.unit != ":1" else p.unit)
                spin.setKeyboardTracking(False)
                spin.setValue(values[p.name])
                spin.valueChanged.connect(lambda v, name=p.name: self._param(name, v))
                self.spins[p.name] = spin
                self.knob_layout.addRow(p.label, spin)
        finally:
            self._updating = was

    # ---- widgets → chain -----------------------------------------------------------------
    def _gesture(self, make: ChainEdit, merge_key: str = "") -> None:
        try:
            chain, label = make(self.chain())
        except EditError as exc:
            self.report(str(exc))
            self.refresh()
            return
        if not self.commit(chain, label, merge_key):
            self.refresh()

    def _preset(self) -> None:
        name = str(self.preset.currentData() or "")
        self.preset.setCurrentIndex(0)
        if name and self.can_edit():
            self._gesture(lambda _chain: fxc.preset_chain(name))

    def _add(self) -> None:
        kind = str(self.add.currentData() or "")
        self.add.setCurrentIndex(0)
        if not kind or not self.can_edit():
            return
        at = self.list.currentRow() + 1 if self.list.currentRow() >= 0 else None
        self._gesture(lambda chain: fxc.chain_added(chain, fxc.effect(kind), at))
        self.list.setCurrentRow(at if at is not None else self.list.count() - 1)

    def _remove(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self._gesture(lambda chain: fxc.chain_removed(chain, row))

    def _move(self, step: int) -> None:
        row = self.list.currentRow()
        to = row + step
        if row < 0 or not 0 <= to < self.list.count():
            return
        self._gesture(lambda chain: fxc.chain_moved(chain, row, to))
        self.list.setCurrentRow(to)

    def _item_changed(self, item: QListWidgetItem) -> None:
        if self._updating:
            return
        row = self.list.row(item)
        bypass = item.checkState() != Qt.CheckState.Checked
        self._gesture(lambda chain: fxc.chain_bypassed(chain, row, bypass))

    def _param(self, name: str, value: float) -> None:
        if self._updating:
            return
        row = self.list.currentRow()
        self._gesture(
            lambda chain: fxc.chain_params(chain, row, {name: value}),
            merge_key=f"{row}:{name}:{self._serial}",
        )

    def _ab(self, bypass: bool) -> None:
        if self._updating or not self.can_edit():
            return
        chain = self.chain()
        if not chain:
            self.ab.setChecked(False)
            return
        new = tuple(dataclasses.replace(fx, bypass=bypass) for fx in chain)
        label = "Bypass the chain" if bypass else "Play the chain"
        self._gesture(lambda _chain: (new, label))


class QtEffectsRack(QtChainEditor):
    """Edits the chain of ``(target, target_id)``: ``("track", id)`` or ``("speaker", id)``."""

    def __init__(self, doc: QtDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("effectsRack")
        self.doc = doc
        self.target = ""
        self.target_id = ""
        self.title = QLabel("Effects")
        self.title.setObjectName("stripName")
        self.which = QComboBox()
        self.which.setToolTip(
            "Whose chain: the track's insert, or the voice of its speaker (each line, with its tail)"
        )
        self.top.insertWidget(0, self.title)
        self.main_layout.insertWidget(1, self.which)
        self.which.activated.connect(lambda _: self.show_target(*str(self.which.currentData()).split(":", 1)))
        doc.changed.connect(self._on_change)
        self._refresh()

    # ---- model → widget ------------------------------------------------------------------
    def show_track(self, track_id: str) -> None:
        """Show a track's chain (the chooser also offers its speaker's voice)."""
        self.show_target("track", track_id)

    def show_target(self, target: str, target_id: str) -> None:
        self.target, self.target_id = target, target_id
        self._refresh()

    def chain(self) -> tuple[Effect, ...]:
        try:
            return fxc.chain_of(self.doc.project, self.target, self.target_id) if self.target else ()
        except EditError:
            return ()

    def _on_change(self, change: Change) -> None:
        if change.kind in ("track", "speaker") and (change.id == self.target_id or change.action != "update"):
            self._refresh()

    def _refresh(self) -> None:
        project = self.doc.project
        if self.target == "track" and self.target_id not in project.tracks:
            self.target = self.target_id = ""
        if self.target == "speaker" and self.target_id not in project.speakers:
            self.target = self.target_id = ""
        self._updating = True
        try:
            self.which.clear()
            track_id = self.target_id if self.target == "track" else ""
            if self.target == "speaker":
                track_id = next((t.id for t in project.tracks.values() if t.speaker_id == self.target_id), "")
            track = project.tracks.get(track_id)
            if track is not None:
                self.which.addItem(f"Track insert: {track.name}", f"track:{track.id}")
            speaker_id = track.speaker_id if track is not None else self.target_id
            speaker = project.speakers.get(speaker_id)
            if speaker is not None:
                self.which.addItem(f"Voice: {speaker.name}", f"speaker:{speaker.id}")
            self.which.setCurrentIndex(max(0, self.which.findData(f"{self.target}:{self.target_id}")))
            self.which.setEnabled(bool(self.target))
        finally:
            self._updating = False
        self.refresh()

    def can_edit(self) -> bool:
        return bool(self.target)

    def commit(self, chain: tuple[Effect, ...], label: str, merge_key: str = "") -> bool:
        try:
            op = fxc.set_chain(self.doc.project, self.target, self.target_id, chain, label)
        except EditError as exc:
            self.report(str(exc))
            return False
        key = f"fx:{self.target}:{self.target_id}:{merge_key}" if merge_key else ""
        return bool(self.doc.edit(op, op.label, merge_key=key))

    def report(self, message: str) -> None:
        self.doc.report_failure(message)
