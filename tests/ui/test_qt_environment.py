"""The Qt binding the studio runs on is not a release known to corrupt memory."""

from __future__ import annotations

import PySide6

from studio.ui.qt_app import BROKEN_PYSIDE


def test_pyside_is_not_a_known_broken_release():
    assert PySide6.__version__ not in BROKEN_PYSIDE, (
        f"PySide6 {PySide6.__version__} corrupts True/False reference counts when a signal is emitted "
        "while another Python thread runs (the studio then aborts); install PySide6-Essentials 6.11.x "
        "(pyproject should exclude this release)"
    )
