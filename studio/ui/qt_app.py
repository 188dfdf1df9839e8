"""Starting the studio: ``run_studio(path)`` opens the main window on a project.

With no path it opens the last project used (recent list), else a working copy of the demo podcast.

Thread contract: call on the process's main thread; returns when the window closes.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from studio.ui.qt_main_window import QtMainWindow
from studio.ui.qt_settings import QtStudioSettings
from studio.ui.qt_theme import apply_theme

# PySide6 releases that corrupt True/False/None reference counts when a Python-defined signal is
# emitted while another Python thread runs (the process later aborts with "bool_dealloc"). Found
# while building the studio: 20 lines of plain PySide reproduce it on 6.12.0; 6.11.3 is fine.
BROKEN_PYSIDE: tuple[str, ...] = ("6.12.0",)


def pyside_warning() -> str:
    import PySide6

    if PySide6.__version__ in BROKEN_PYSIDE:
        return (
            f"warning: PySide6 {PySide6.__version__} has a threading bug that can crash the studio; "
            "install PySide6-Essentials 6.11.x"
        )
    return ""


def make_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once), themed."""
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv if argv is not None else sys.argv[:1])
        app.setApplicationName("Chorus")
        app.setOrganizationName("Chorus")
        app.setApplicationDisplayName("Chorus")
    assert isinstance(app, QApplication)
    apply_theme(app)
    return app


def project_to_open(project_path: str | None, settings: QtStudioSettings) -> Path | None:
    """The explicit path, else the last project used, else a working copy of the demo podcast."""
    if project_path:
        return Path(project_path)
    recent = settings.recent_projects()
    if recent:
        return Path(recent[0])
    from studio.paths import demo_copy

    try:
        return demo_copy()
    except FileNotFoundError:
        return None


def run_studio(project_path: str | None) -> int:
    """Open the studio; returns the process exit code."""
    warning = pyside_warning()
    if warning:
        print(f"chorus: {warning}", file=sys.stderr)
    app = make_app()
    settings = QtStudioSettings()
    window = QtMainWindow(settings)
    target = project_to_open(project_path, settings)
    window.show()
    if target is not None and not window.open_project(target) and project_path:
        print(f"chorus: error: cannot open {project_path}", file=sys.stderr)
    # Everything made at start-up lives as long as the app: keep it out of the cyclic GC's full passes,
    # which otherwise scan it all on the GUI thread (a stall that grows with what was imported).
    gc.collect()
    gc.freeze()
    if os.environ.get("CHORUS_STUDIO_SMOKE"):  # CI: start, open, quit
        from PySide6.QtCore import QTimer

        QTimer.singleShot(500, window.close)
    return int(app.exec())
