"""The main window: the timeline in the middle, dockable Script, Mixer, Render queue, Inspector and
Voice bank panels around it, the transport bar, menus and keyboard shortcuts.

Layout and the recent-projects list persist under the Chorus data folder (``CHORUS_HOME``). Edits
are committed as they happen (the project file), so closing never asks to save.

Thread contract: GUI thread only. Services are passed in (``settings``, ``client_factory``,
``streams`` — the sound-card layer, :class:`studio.audio.device_streams.DeviceStreams` — and
``stream_factory`` for the voice bank's clip players), never reached through globals, so tests run
without an engine or a sound card.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from studio import paths
from studio.audio.device_streams import DeviceStreams
from studio.core.store import ProjectError, ProjectFile
from studio.render.shared_engine import SharedEngine
from studio.ui.qt_document import QtDocument
from studio.ui.qt_export_dialog import QtExportDialog
from studio.ui.qt_import_audio import AudioPlacement, QtImportAudioDialog, default_kind
from studio.ui.qt_inspector import QtInspector
from studio.ui.qt_mixer import QtMixerPanel
from studio.ui.qt_peak_store import QtPeakStore
from studio.ui.qt_playback import QtPlayback
from studio.ui.qt_project_settings import QtProjectSettingsDialog
from studio.ui.qt_render_controller import ClientFactory, QtRenderController, default_client_factory
from studio.ui.qt_render_queue import QtRenderQueuePanel
from studio.ui.qt_script_panel import SCRIPT_SUFFIXES, QtScriptPanel
from studio.ui.qt_settings import QtStudioSettings
from studio.ui.qt_speaker_dialog import QtSpeakersDialog
from studio.ui.qt_timeline import QtTimelinePanel
from studio.ui.qt_timeline_import import ImportJob
from studio.ui.qt_transport import QtTransport
from studio.ui.qt_voice_bank import make_voice_bank_panel
from studio.ui.qt_wheel import install_wheel_guard

STATE_VERSION = 1
TIMELINE_MIN_HEIGHT = 260  # ruler + two track rows + scroll bar: the least a restored layout may leave
TIMELINE_MIN_SHARE = 0.3  # … and at least this share of the window's height
TIMELINE_MIN_WIDTH_SHARE = 0.45  # … and of its width
# Imported on a background thread soon after start: the export/mix stack (scipy.signal alone takes
# ~0.9 s) would otherwise be imported by the first export or playback, and a worker thread running
# a second of imports starves the GUI thread of the GIL just when the user is waiting for feedback.
WARM_MODULES = ("studio.audio.export", "studio.audio.mixer", "studio.audio.loudness", "studio.render.client")
WARM_DELAY_MS = 200
PLAYHEAD_FOLLOW = True
SNAPSHOT_DELAY_MS = 60  # coalesce edits before handing playback a new project snapshot


@dataclass
class ProjectView:
    """Everything that exists per open project."""

    doc: QtDocument
    peaks: QtPeakStore
    playback: QtPlayback
    controller: QtRenderController
    script: QtScriptPanel
    timeline: QtTimelinePanel
    mixer: QtMixerPanel
    queue: QtRenderQueuePanel
    inspector: QtInspector
    transport: QtTransport


def _placeholder(text: str) -> QWidget:
    widget = QWidget()
    label = QLabel(text)
    label.setObjectName("placeholder")
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    layout = QVBoxLayout(widget)
    layout.addWidget(label)
    return widget


class QtMainWindow(QMainWindow):
    def __init__(
        self,
        settings: QtStudioSettings | None = None,
        *,
        client_factory: ClientFactory = default_client_factory,
        streams: DeviceStreams | None = None,
        stream_factory: Callable[[], Any] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.settings = settings or QtStudioSettings()
        self.client_factory = client_factory
        # One engine for the studio: the render queue and the voice bank's audition share its model.
        self.engine = SharedEngine(client_factory)
        self.streams = streams or DeviceStreams(output_device=self.settings.output_device() or None)
        # the clip players (takes, voice bank) open through the same layer unless told otherwise
        self.stream_factory = stream_factory or self._output_opener
        self.view: ProjectView | None = None
        self._restored = False
        self._sized = False
        self.setWindowTitle("Chorus")
        install_wheel_guard()  # the wheel scrolls panels; it edits a value only in a focused field
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.setCentralWidget(_placeholder("Open a project (File ▸ Open) or create one (File ▸ New)."))

        self.docks: dict[str, QDockWidget] = {}
        for name, title in (
            ("script", "Script"),
            ("mixer", "Mixer"),
            ("queue", "Render queue"),
            ("inspector", "Inspector"),
            ("voices", "Voice bank"),
            ("lexicon", "Lexicon"),
            ("takes", "Takes"),
        ):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock_{name}")
            dock.setWidget(_placeholder("No project open."))
            self.docks[name] = dock
        self.voice_bank = make_voice_bank_panel(
            parent=self, output_factory=self.stream_factory, engine=self.engine
        )
        self.docks["voices"].setWidget(self.voice_bank)
        self.voice_bank.message.connect(self.show_message)
        self._default_layout()

        self.transport_bar = QToolBar("Transport", self)
        self.transport_bar.setObjectName("toolbar_transport")
        self.transport_bar.setMovable(False)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.transport_bar)
        self._transport_slot: QWidget | None = None

        self._snapshot_timer = QTimer(self)
        self._snapshot_timer.setSingleShot(True)
        self._snapshot_timer.setInterval(SNAPSHOT_DELAY_MS)
        self._snapshot_timer.timeout.connect(self._push_snapshot)

        self._build_actions()
        self._build_menus()
        self._restore_layout()
        self._update_actions()
        self.warmed = threading.Event()
        QTimer.singleShot(WARM_DELAY_MS, self._warm_up)

    def _warm_up(self) -> None:
        def run() -> None:
            import importlib

            for name in WARM_MODULES:
                try:
                    importlib.import_module(name)
                except Exception:  # a missing optional library shows up where it is used, with its message
                    pass
            self.warmed.set()

        threading.Thread(target=run, name="chorus-warm-up", daemon=True).start()

    # ---- layout --------------------------------------------------------------------------
    def _default_layout(self) -> None:
        """Timeline in the middle; Script | Mixer below it; Render queue over Inspector/Voice bank on the right."""
        d = self.docks
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, d["script"])
        self.splitDockWidget(d["script"], d["mixer"], Qt.Orientation.Horizontal)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, d["queue"])
        self.splitDockWidget(d["queue"], d["inspector"], Qt.Orientation.Vertical)
        self.tabifyDockWidget(d["inspector"], d["voices"])
        self.tabifyDockWidget(d["voices"], d["lexicon"])
        self.tabifyDockWidget(d["lexicon"], d["takes"])
        d["inspector"].raise_()
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self._default_sizes()

    def _default_sizes(self) -> None:
        """Dock sizes as fractions of the window (only meaningful once the window has its size)."""
        d = self.docks
        w, h = max(self.width(), 1000), max(self.height(), 700)
        self.resizeDocks([d["queue"]], [int(w * 0.24)], Qt.Orientation.Horizontal)
        self.resizeDocks([d["script"], d["mixer"]], [int(w * 0.46), int(w * 0.30)], Qt.Orientation.Horizontal)
        self.resizeDocks([d["script"]], [int(h * 0.36)], Qt.Orientation.Vertical)
        self.resizeDocks(
            [d["queue"], d["inspector"]], [int(h * 0.45), int(h * 0.55)], Qt.Orientation.Vertical
        )

    def _restore_layout(self) -> None:
        geometry, state = self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1600, 1000)
        # The dock state is applied once the window is shown at its restored size (see showEvent):
        # restored before that, the docks took the space of a window that did not exist yet.
        self._pending_state = state
        self._restored = state is not None

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._pending_state is not None:
            state, self._pending_state = self._pending_state, None
            QTimer.singleShot(0, lambda: self._apply_state(state))
        if not self._restored and not self._sized:
            self._sized = True
            QTimer.singleShot(0, self._default_sizes)

    def _apply_state(self, state: Any) -> None:
        if not self.restoreState(state, STATE_VERSION):
            self._restored = False
            self._default_sizes()
        self.ensure_usable_layout()

    def ensure_usable_layout(self) -> None:
        """Give the timeline back its share when a restored layout squeezed it (docks sized for
        another window or for the empty placeholders): the docks beside it shrink to their default."""
        central = self.centralWidget()
        if self.view is None or central is None or not self.isVisible():
            return
        layout = self.layout()
        if layout is not None:
            layout.activate()  # the docks' new contents are laid out before measuring
        d = self.docks
        if central.height() < max(TIMELINE_MIN_HEIGHT, int(self.height() * TIMELINE_MIN_SHARE)):
            h = max(self.height(), 700)
            beside = [d[n] for n in ("script", "mixer") if d[n].isVisible() and not d[n].isFloating()]
            if beside:
                self.resizeDocks(beside, [int(h * 0.36)] * len(beside), Qt.Orientation.Vertical)
        # A window larger than the one the layout was saved in gives its extra width to the side
        # column: the timeline keeps at least TIMELINE_MIN_WIDTH_SHARE of the width.
        side = [d[n] for n in ("queue", "inspector") if d[n].isVisible() and not d[n].isFloating()]
        if side and central.width() < int(self.width() * TIMELINE_MIN_WIDTH_SHARE):
            self.resizeDocks(side[:1], [int(max(self.width(), 1000) * 0.24)], Qt.Orientation.Horizontal)
        if layout is not None:
            layout.activate()

    def save_layout(self) -> None:
        self.settings.save_window_state(self.saveGeometry(), self.saveState(STATE_VERSION))

    def reset_layout(self) -> None:
        for dock in self.docks.values():
            self.removeDockWidget(dock)
            dock.setFloating(False)
            dock.show()
        self._default_layout()
        QTimer.singleShot(0, self._default_sizes)

    # ---- actions -------------------------------------------------------------------------
    def _action(
        self,
        text: str,
        slot: Callable[[], Any],
        shortcut: str | QKeySequence.StandardKey | None = None,
        tip: str = "",
    ) -> QAction:
        action = QAction(text, self)
        action.triggered.connect(lambda _checked=False: slot())
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            action.setStatusTip(tip)
        self.addAction(action)
        return action

    def _v(self, fn: Callable[[ProjectView], object]) -> Callable[[], None]:
        """A slot that runs ``fn(view)`` when a project is open."""

        def slot() -> None:
            if self.view is not None:
                fn(self.view)

        return slot

    def _build_actions(self) -> None:
        A = self._action
        self.a_new = A("&New project…", self.new_project_dialog, QKeySequence.StandardKey.New)
        self.a_open = A("&Open project…", self.open_project_dialog, QKeySequence.StandardKey.Open)
        self.a_demo = A("Open the &demo podcast", self.open_demo)
        self.a_save_copy = A("Save a &copy as…", self.save_copy_dialog, "Ctrl+Shift+S")
        self.a_import_script = A("&Import script…", self.import_script_dialog, "Ctrl+I")
        self.a_export_script = A("Export &script…", self.export_script_dialog)
        self.a_import_audio = A("Import &audio…", self.import_audio_dialog)
        self.a_import_recording = A(
            "Import &recording…",
            self.import_recording_dialog,
            tip="A speaker's recording, transcribed into recorded lines you can edit by text",
        )
        self.a_export = A("&Export…", self.export_dialog, "Ctrl+E")
        self.a_close = A("&Close project", self.close_project, QKeySequence.StandardKey.Close)
        self.a_quit = A("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.a_undo = A("&Undo", self.undo, "Ctrl+Z")
        self.a_redo = A("&Redo", self.redo, "Ctrl+Shift+Z")
        self.a_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.a_delete = A("&Delete", self.delete_selection, QKeySequence.StandardKey.Delete)
        self.a_split = A("&Split at playhead", self.split, "S")
        self.a_marker = A("Add &marker at playhead", self.add_marker, "M")
        self.a_add_line = A("&Add line", self._v(lambda v: v.script.add_line()), "Ctrl+Return")
        self.a_speakers = A("S&peakers…", self.speakers_dialog)
        self.a_settings = A("Project &settings…", self.settings_dialog, "Ctrl+,")
        self.a_voice_from_recording = A(
            "Create &voice from this speaker's recording",
            self.voice_from_recording,
            tip="Add a bank voice cloned from the selected recorded line's recording (clip, transcript, provenance)",
        )
        self.a_backend = A("Render &backend…", lambda: self.settings_dialog("rendering"))
        self.a_render_sel = A(
            "&Render selected lines", self._v(lambda v: v.controller.render_selection()), "Ctrl+R"
        )
        self.a_render_stale = A(
            "Render stale lines",
            self._v(lambda v: v.controller.render_stale()),
            "Ctrl+Shift+R",
        )
        self.a_new_take = A(
            "&New take of selected lines", self._v(lambda v: v.controller.new_take()), "Ctrl+Alt+R"
        )
        self.a_stop_render = A("S&top rendering", self._v(lambda v: v.controller.stop()))
        self.a_play = A("&Play / pause", self.play_pause, "Space")
        self.a_stop = A("&Stop", self._v(lambda v: v.playback.stop()))
        self.a_home = A("Go to &start", self._v(lambda v: v.playback.seek(0.0)), "Home")
        self.a_end = A(
            "Go to &end",
            self._v(lambda v: v.playback.seek(v.doc.project.duration())),
            "End",
        )
        self.a_zoom_in = A("Zoom &in", self._v(lambda v: v.timeline.zoom_in()), "+")
        self.a_zoom_in.setShortcuts([QKeySequence("+"), QKeySequence("="), QKeySequence("Ctrl++")])
        self.a_zoom_out = A("Zoom &out", self._v(lambda v: v.timeline.zoom_out()), "-")
        self.a_zoom_out.setShortcuts([QKeySequence("-"), QKeySequence("Ctrl+-")])
        self.a_zoom_fit = A("Zoom to &fit", self._v(lambda v: v.timeline.zoom_fit()), "Ctrl+0")
        self.a_reset_layout = A("&Reset panel layout", self.reset_layout)
        self.a_audio_output = A("&Audio output…", self.audio_output_dialog)
        self.a_audio_output.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.a_about = A("&About Chorus", self.about)
        # single-key shortcuts must not steal typing: the text editors take them first (ShortcutOverride)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        for a in (self.a_new, self.a_open):
            m.addAction(a)
        self.recent_menu = m.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        m.addAction(self.a_demo)
        m.addSeparator()
        for a in (
            self.a_save_copy,
            self.a_import_script,
            self.a_export_script,
            self.a_import_audio,
            self.a_import_recording,
            self.a_export,
        ):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.a_close)
        m.addAction(self.a_quit)
        m = bar.addMenu("&Edit")
        for a in (self.a_undo, self.a_redo):
            m.addAction(a)
        m.addSeparator()
        for a in (self.a_delete, self.a_split, self.a_marker, self.a_add_line):
            m.addAction(a)
        m = bar.addMenu("&Project")
        for a in (self.a_speakers, self.a_settings, self.a_backend, self.a_voice_from_recording):
            m.addAction(a)
        m = bar.addMenu("&Render")
        for a in (self.a_render_sel, self.a_render_stale, self.a_new_take, self.a_stop_render):
            m.addAction(a)
        m = bar.addMenu("&Transport")
        for a in (self.a_play, self.a_stop, self.a_home, self.a_end):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.a_audio_output)
        m = bar.addMenu("&View")
        for a in (self.a_zoom_in, self.a_zoom_out, self.a_zoom_fit):
            m.addAction(a)
        m.addSeparator()
        for dock in self.docks.values():
            m.addAction(dock.toggleViewAction())
        m.addAction(self.a_reset_layout)
        m = bar.addMenu("&Help")
        m.addAction(self.a_about)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_projects()
        if not recent:
            action = self.recent_menu.addAction("No recent projects")
            action.setEnabled(False)
            return
        for path in recent:
            self.recent_menu.addAction(Path(path).name, functools.partial(self.open_project, path))
        self.recent_menu.addSeparator()
        self.recent_menu.addAction("Clear list", self.settings.clear_recent)

    def _update_actions(self) -> None:
        has = self.view is not None
        for action in (
            self.a_save_copy, self.a_import_script, self.a_export_script, self.a_import_audio, self.a_export,
            self.a_import_recording, self.a_voice_from_recording,
            self.a_close, self.a_delete, self.a_split, self.a_marker, self.a_add_line, self.a_speakers,
            self.a_settings, self.a_backend, self.a_render_sel, self.a_render_stale, self.a_new_take,
            self.a_stop_render, self.a_play, self.a_stop, self.a_home, self.a_end, self.a_zoom_in,
            self.a_zoom_out, self.a_zoom_fit,
        ):  # fmt: skip
            action.setEnabled(has)
        self._update_undo_actions()

    def _update_undo_actions(self) -> None:
        stack = self.view.doc.undo_stack if self.view else None
        self.a_undo.setEnabled(bool(stack and stack.canUndo()))
        self.a_redo.setEnabled(bool(stack and stack.canRedo()))
        self.a_undo.setText(f"&Undo {stack.undoText()}" if stack and stack.canUndo() else "&Undo")
        self.a_redo.setText(f"&Redo {stack.redoText()}" if stack and stack.canRedo() else "&Redo")

    # ---- projects ------------------------------------------------------------------------
    def open_project(self, path: str | Path) -> bool:
        """Open a project folder (closing the current one); False with a message if it can't.

        A project another program is writing can be opened read-only; a damaged database can be
        restored from its newest backup (both asked through :attr:`ask`).
        """
        from studio.core.backups import list_backups, restore
        from studio.core.store import ProjectLocked, normalise_path

        try:
            project_file = ProjectFile.open(path)
        except ProjectLocked as exc:
            if not self.ask("Project in use", f"{exc}.\n\nOpen it read-only (changes will not be saved)?"):
                self._error("Cannot open the project", str(exc))
                return False
            try:
                project_file = ProjectFile.open(path, read_only=True)
            except ProjectError as again:
                self._error("Cannot open the project", str(again))
                return False
        except ProjectError as exc:
            root = normalise_path(path)
            saved = list_backups(root) if (root / "project.db").is_file() else []
            if not saved or not self.ask(
                "Damaged project", f"{exc}\n\nRestore the backup from {saved[0].label}?"
            ):
                self._error("Cannot open the project", str(exc))
                return False
            try:
                restore(root)
                project_file = ProjectFile.open(path)
            except (OSError, ProjectError, sqlite3.DatabaseError) as again:
                self._error("Cannot restore the project", str(again))
                return False
            self.show_message(f"Restored {root.name} from the backup of {saved[0].label}", 10000)
        self.close_project()
        self._install(QtDocument(project_file, self))
        return True

    def create_project(self, path: str | Path, title: str | None = None) -> bool:
        try:
            project_file = ProjectFile.create(path, title=title)
        except ProjectError as exc:
            self._error("Cannot create the project", str(exc))
            return False
        self.close_project()
        self._install(QtDocument(project_file, self))
        return True

    def _install(self, doc: QtDocument) -> None:
        self.voice_bank.set_document(doc)
        peaks = QtPeakStore(doc.media_path, workers=1, parent=self)
        playback = QtPlayback(doc.media_path, streams=self.streams, parent=self)
        controller = QtRenderController(doc, self.engine, self)
        script = QtScriptPanel(doc, import_files=self.import_scripts)
        timeline = QtTimelinePanel(doc, peaks)
        mixer = QtMixerPanel(doc)
        queue = QtRenderQueuePanel(doc, controller)
        inspector = QtInspector(doc)
        transport = QtTransport(playback)
        view = ProjectView(
            doc, peaks, playback, controller, script, timeline, mixer, queue, inspector, transport
        )
        self.view = view
        # A restored layout (saved with another window size or panel set) must leave the timeline
        # usable: its minimum height holds the docks off it (the squeeze left one 50 px row).
        timeline.setMinimumHeight(TIMELINE_MIN_HEIGHT)
        self.setCentralWidget(timeline)
        QTimer.singleShot(0, self.ensure_usable_layout)
        self.docks["script"].setWidget(script)
        self.docks["mixer"].setWidget(mixer)
        self.docks["queue"].setWidget(queue)
        self.docks["inspector"].setWidget(inspector)
        self._install_lexicon(doc, script)
        self._install_takes(doc, script)
        for action in (self.a_render_sel, self.a_speakers, self.a_import_script):
            script.toolbar.addAction(action)
        self._transport_slot = transport
        self.transport_bar.addWidget(transport)
        self.transport_bar.addSeparator()
        self.transport_bar.addAction(self.a_render_stale)
        self.transport_bar.addAction(self.a_export)

        timeline.seekRequested.connect(playback.seek)
        timeline.loopRangeChanged.connect(
            lambda loop: playback.set_loop(playback.loop, (loop[0], loop[1]) if loop else None)
        )
        timeline.canvas.lineActivated.connect(self._show_line)
        timeline.canvas.importer.progressChanged.connect(
            lambda fraction, name: self.show_message(
                f"Imported {name}" if fraction >= 1.0 else f"Importing {name}: {fraction:.0%}", 4000
            )
        )
        playback.positionChanged.connect(
            lambda t: timeline.set_playhead(t, follow=playback.playing and PLAYHEAD_FOLLOW)
        )
        playback.meterChanged.connect(mixer.show_reading)
        playback.notice.connect(lambda text: self.show_message(text, 10000))
        playback.stateChanged.connect(lambda playing: None if playing else mixer.show_reading(None))
        controller.progressChanged.connect(script.model.set_progress)
        controller.progressChanged.connect(timeline.model.set_progress)
        controller.message.connect(self.show_message)
        doc.message.connect(self.show_message)
        doc.editFailed.connect(self._edit_failed)
        doc.editEnded.connect(self._snapshot_timer.start)
        doc.undo_stack.indexChanged.connect(self._update_undo_actions)
        doc.undo_stack.cleanChanged.connect(self._update_undo_actions)
        queue.settings_button.clicked.connect(lambda: self.settings_dialog("rendering"))
        playback.set_project(doc.snapshot())

        self.settings.add_recent(doc.root)
        self._update_title()
        doc.changed.connect(self._on_doc_change)
        self._update_actions()
        missing = doc.project.missing_media
        if missing:
            self.show_message(
                f"{len(missing)} media file(s) are missing: their clips are marked red and play silent", 10000
            )
        else:
            self.show_message(f"Opened {doc.root.name}")

    def _install_lexicon(self, doc: QtDocument, script: QtScriptPanel) -> None:
        """The Lexicon dock and the script table's underlines / "Add pronunciation…" (studio.ui.qt_lexicon)."""
        from studio.ui.qt_lexicon import QtLexiconPanel, install_script_lexicon, speaker_audition

        auditioner = getattr(self.voice_bank, "auditioner", None)
        audition = speaker_audition(doc, auditioner) if auditioner is not None else None
        panel = QtLexiconPanel(doc, audition)
        panel.message.connect(self.show_message)
        self.docks["lexicon"].setWidget(panel)
        doc.destroyed.connect(panel.deleteLater)  # closing the project closes its panel
        self.lexicon_panel = panel
        self.a_add_pronunciation = install_script_lexicon(script, doc, audition)

    def _install_takes(self, doc: QtDocument, script: QtScriptPanel) -> None:
        """The Takes dock (studio.ui.qt_takes_view): the selected line's takes, scores, A/B, pick;
        opened from the script table's toolbar (Takes…)."""
        from studio.ui.qt_takes_view import QtTakesView

        panel = QtTakesView(doc, output_factory=self.stream_factory)
        panel.message.connect(self.show_message)
        self.docks["takes"].setWidget(panel)
        doc.destroyed.connect(panel.player.stop)
        doc.destroyed.connect(panel.deleteLater)  # closing the project closes its panel
        self.takes_view = panel
        dock = self.docks["takes"]
        action = script.toolbar.addAction("Takes…")
        action.setObjectName("showTakes")
        action.setToolTip("Every take of the selected line: scores, play A/B, pick, favourite, delete unused")
        action.triggered.connect(dock.show)
        action.triggered.connect(dock.raise_)

    def close_project(self) -> None:
        view, self.view = self.view, None
        if view is None:
            return
        self._snapshot_timer.stop()
        view.playback.close()
        view.controller.shutdown(wait=True)
        view.peaks.shutdown()
        for name in ("script", "mixer", "queue", "inspector", "lexicon", "takes"):
            self.docks[name].setWidget(_placeholder("No project open."))
        self.setCentralWidget(_placeholder("Open a project (File ▸ Open) or create one (File ▸ New)."))
        if self._transport_slot is not None:
            self.transport_bar.clear()
            self._transport_slot = None
        for widget in (view.script, view.timeline, view.mixer, view.queue, view.inspector, view.transport):
            widget.deleteLater()
        self.voice_bank.set_document(None)
        view.doc.close()
        for obj in (view.peaks, view.playback, view.controller, view.doc):
            obj.deleteLater()
        self._update_title()
        self._update_actions()

    def _edit_failed(self, text: str) -> None:
        self.show_message(text, 8000)

    def _on_doc_change(self, change: Any) -> None:
        if change.kind == "settings":
            self._update_title()

    def _update_title(self) -> None:
        if self.view is None:
            self.setWindowTitle("Chorus")
        else:
            self.setWindowTitle(f"{self.view.doc.title} — Chorus")

    def _push_snapshot(self) -> None:
        if self.view is not None:
            self.view.playback.set_project(self.view.doc.snapshot())

    # ---- dialogs -------------------------------------------------------------------------
    def open_project_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Open project (a NAME.chorus folder)", str(paths.user_projects_dir())
        )
        if path:
            self.open_project(path)

    def new_project_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "New project", str(paths.user_projects_dir() / "untitled.chorus")
        )
        if path:
            self.create_project(path)

    def open_demo(self) -> None:
        from studio.paths import demo_copy

        try:
            self.open_project(demo_copy())
        except FileNotFoundError as exc:
            self._error("Cannot open the demo", str(exc))

    def save_copy_dialog(self) -> None:
        if self.view is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save a copy as",
            str(self.view.doc.root.with_name(self.view.doc.root.stem + "-copy.chorus")),
        )
        if not path:
            return
        try:
            copy = self.view.doc.project_file.save_as(path)
        except ProjectError as exc:
            self._error("Cannot save a copy", str(exc))
            return
        root = copy.root
        copy.close()
        self.open_project(root)

    def import_script_dialog(self) -> None:
        if self.view is None:
            return
        files, _ = QFileDialog.getOpenFileNames(
            self, "Import script", "", "Scripts (*.txt *.csv *.fountain *.spmd);;All files (*)"
        )
        if files:
            self.import_scripts(files)

    def import_scripts(self, files: list[str]) -> int:
        """Add the lines of script files to the project (one undo step per file); returns lines added."""
        if self.view is None:
            return 0
        from studio.core import script_formats as sf

        doc = self.view.doc
        added = 0
        for name in files:
            try:
                script = sf.read_script(Path(name))
                ops_batch = sf.script_to_ops(doc.project, script)
            except (sf.ScriptFormatError, ValueError) as exc:
                self._error("Cannot import the script", str(exc))
                continue
            except OSError as exc:
                self._error("Cannot import the script", f"cannot read {name}: {exc.strerror or exc}")
                continue
            if doc.edit(ops_batch, f"Import {Path(name).name}"):
                added += len(script.lines)
                self.show_message(f"Imported {len(script.lines)} lines from {Path(name).name}")
        return added

    def export_script_dialog(self) -> None:
        if self.view is None:
            return
        from studio.core import script_formats as sf

        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export script",
            str(self.view.doc.root.with_suffix(".fountain")),
            "Fountain (*.fountain);;CSV (*.csv);;Text (*.txt)",
        )
        if not path:
            return
        try:
            sf.write_script(Path(path), sf.project_to_script(self.view.doc.project))
        except (OSError, ValueError) as exc:
            self._error("Cannot export the script", str(exc))
            return
        self.show_message(f"Wrote {Path(path).name}")

    def import_recording_dialog(self) -> None:
        if self.view is None:
            return
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a speaker's recording", "", "Audio (*.wav *.flac *.ogg *.mp3 *.m4a *.aiff)"
        )
        if not path:
            return
        names = [s.name for s in self.view.doc.project.speakers.values()]
        speaker, ok = QInputDialog.getItem(
            self, "Import recording", f"Who speaks in {Path(path).name}? A new name adds a speaker; several (\"Maya, Theo\") split a mixed file.", names or [""], 0, True
        )
        if ok and speaker.strip():
            self.import_recording(Path(path), speaker.strip())

    def import_recording(self, path: Path, speaker: str, factory: Any = None) -> Any:
        """Transcribe ``path`` in the engine (worker thread, progress in the status bar) and add it as
        ``speaker``'s recorded lines; returns the importer (tests wait on it)."""
        from studio.ui.qt_recording_import import QtRecordingImporter

        assert self.view is not None
        importer = QtRecordingImporter(self.view.doc, factory)
        importer.progress.connect(lambda f: self.show_message(f"Transcribing {path.name}: {f:.0%}", 0))
        importer.failed.connect(lambda text: self._error("Import recording", text))
        importer.imported.connect(
            lambda r: self.show_message(f"{len(r.line_ids)} recorded lines, {r.words} words from {path.name}", 10000)
        )
        importer.start(path, speaker)
        return importer

    def import_audio_dialog(self) -> None:
        if self.view is None:
            return
        files, _ = QFileDialog.getOpenFileNames(
            self, "Import audio", "", "Audio (*.wav *.flac *.ogg *.mp3 *.m4a *.aiff)"
        )
        if files:
            self.import_audio([Path(f) for f in files])

    def choose_audio_place(self, files: list[Path]) -> AudioPlacement | None:
        """Ask which track and where imported audio goes. Tests replace this."""
        assert self.view is not None
        doc, canvas = self.view.doc, self.view.timeline.canvas
        dialog = QtImportAudioDialog(doc.project, default_kind(files), canvas.playhead, doc.selected_track, self)
        try:
            return dialog.placement() if dialog.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()

    def import_audio(self, files: list[Path]) -> ImportJob | None:
        """Import audio files onto the track the user picks (new music track by default for music).

        The copy runs on a worker (the status bar shows its progress); the clips land when it is done.
        """
        if self.view is None or not files:
            return None
        place = self.choose_audio_place(files)
        if place is None:
            return None
        track = self.view.doc.project.tracks.get(place.track_id) if place.track_id else None
        return self.view.timeline.canvas.import_audio(files, place.at, track, place.kind)

    def export_dialog(self) -> QtExportDialog | None:
        if self.view is None:
            return None
        dialog = QtExportDialog(self.view.doc, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def speakers_dialog(self) -> None:
        if self.view is None:
            return
        dialog = QtSpeakersDialog(self.view.doc, self)
        dialog.exec()
        dialog.deleteLater()

    def settings_dialog(self, tab: str = "general") -> None:
        if self.view is None:
            return
        dialog = QtProjectSettingsDialog(self.view.doc, self, tab)
        dialog.exec()
        dialog.deleteLater()

    def _output_opener(self) -> Any:
        """The clip players' stream opener, on the output device chosen now (see DeviceStreams)."""
        return self.streams.output_stream_class()

    def audio_output_dialog(self) -> bool:
        """Transport ▸ Audio output…: choose the output device; saved as a studio preference."""
        from studio.ui.qt_audio_output import QtAudioOutputDialog

        dialog = QtAudioOutputDialog(self.streams, self.settings.output_device(), self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        self.apply_output_device(dialog.choice)
        return True

    def apply_output_device(self, name: str) -> None:
        """Play through ``name`` ("" = the system default) from now on, and remember it."""
        self.settings.set_output_device(name)
        self.streams.output_device = name or None  # the clip players read it at their next play
        if self.view is not None:
            self.view.playback.set_streams(self.streams)
        self.show_message(f"Audio output: {name or 'the system default'}")

    def about(self) -> None:
        QMessageBox.about(
            self,
            "About Chorus",
            "<b>Chorus</b> — a studio for voiced dialogue.<br>Scripts, voices, rendering (Piper, Higgs Audio v2), "
            "mixing and export. Every edit is saved as you make it.",
        )

    # ---- edit commands -------------------------------------------------------------------
    def undo(self) -> None:
        if self.view is not None:
            self.view.doc.undo_stack.undo()

    def redo(self) -> None:
        if self.view is not None:
            self.view.doc.undo_stack.redo()

    def delete_selection(self) -> None:
        """Delete what the focused panel has selected: lines in the script, clips elsewhere."""
        if self.view is None:
            return
        focus = QApplication.focusWidget()
        if focus is not None and self.view.script.isAncestorOf(focus):
            self.view.script.remove_selected()
        elif self.view.doc.selected_clips:
            self.view.timeline.canvas.delete_selected()
        elif self.view.doc.selected_lines:
            self.view.script.remove_selected()

    def split(self) -> None:
        if self.view is not None:
            self.view.timeline.canvas.split_selected()

    def add_marker(self) -> None:
        if self.view is not None:
            self.view.timeline.canvas.add_marker(self.view.timeline.canvas.playhead)

    def play_pause(self) -> None:
        if self.view is not None:
            self.view.playback.toggle()

    def _show_line(self, line_id: str) -> None:
        self.docks["script"].raise_()
        self.docks["inspector"].raise_()

    # ---- messages ------------------------------------------------------------------------
    def show_message(self, text: str, timeout: int = 5000) -> None:
        self.statusBar().showMessage(text, timeout)

    def voice_from_recording(self) -> str:
        """A bank voice from the recording of the selected recorded line; returns its name ("" if none)."""
        from studio.bank.records import BankError
        from studio.recordings.audio import RecordingError
        from studio.recordings.voice import voice_from_recording

        view = self.view
        if view is None:
            return ""
        doc = view.doc
        lines = [doc.project.lines[i] for i in doc.selected_lines if i in doc.project.lines]
        recorded = [line for line in lines if line.recording_id]
        if not recorded:
            self._error("Create voice", "Select a recorded line first (import a recording with File ▸ Import).")
            return ""
        bank = getattr(self.voice_bank, "bank", None)
        if bank is None:
            self._error("Create voice", "The voice bank is not open.")
            return ""
        try:
            voice = voice_from_recording(doc.project_file, recorded[0].recording_id, bank)
        except (RecordingError, BankError, OSError) as exc:
            self._error("Create voice", str(exc))
            return ""
        self.show_message(f"Added {voice.name} to the voice bank (from the recording, with provenance)")
        return str(voice.name)

    def ask(self, title: str, text: str) -> bool:
        """Ask the user a yes/no question. Offscreen nobody can answer: no. Tests replace this."""
        if QApplication.platformName() == "offscreen":
            return False
        answer = QMessageBox.question(self, title, text)
        return answer == QMessageBox.StandardButton.Yes

    def _error(self, title: str, text: str) -> None:
        self.show_message(text, 10000)
        if self.isVisible() and QApplication.platformName() != "offscreen":
            QMessageBox.warning(self, title, text)

    # ---- drops ---------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths_ = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        projects = [p for p in paths_ if (p / "project.db").is_file()]
        scripts = [str(p) for p in paths_ if p.suffix.lower() in SCRIPT_SUFFIXES]
        if projects:
            self.open_project(projects[0])
        elif scripts:
            self.import_scripts(scripts)
        event.acceptProposedAction()

    # ---- closing -------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        """Nothing to save (every edit is already in the project file): stop, store the layout.
        While lines are rendering, ask first (finished takes are kept either way)."""
        if self.view is not None and self.view.controller.busy:
            left = sum(1 for j in self.view.controller.session.jobs.values() if j.state in ("queued", "rendering"))
            if not self.ask(
                "Close while rendering?",
                f"{left} line(s) are still rendering. Close anyway and stop them?\n\n"
                "Finished takes are kept; the stopped lines stay stale and render next time.",
            ):
                event.ignore()
                return
        self.save_layout()
        self.statusBar().clearMessage()  # "Rendering N line(s)…" does not outlive the render
        self.close_project()
        self.voice_bank.shutdown()
        self.engine.shutdown()
        super().closeEvent(event)
