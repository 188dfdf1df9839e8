"""The dark theme: Fusion style, a palette, ``resources/theme/dark.qss``, and the colours views paint with.

Every colour a widget paints by hand lives here once (STYLE.md #24), so the timeline, the script
badges and the meters agree.

Thread contract: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from studio import paths
from studio.core.model import LineStatus

THEME_DIR = paths.RESOURCES_DIR / "theme"

WINDOW = "#2c2f35"
BASE = "#1e2024"
PANEL = "#25282d"
TEXT = "#e3e6ea"
TEXT_DIM = "#9aa0a9"
ACCENT = "#3d7eff"
BORDER = "#3a3e45"

# Timeline
TIMELINE_BG = "#1a1c20"
TRACK_BG = ("#202328", "#1d2024")  # alternating rows
TRACK_SEPARATOR = "#2c2f35"
GRID_MAJOR = "#2f333a"
GRID_MINOR = "#24272c"
RULER_BG = "#25282d"
RULER_TEXT = "#9aa0a9"
PLAYHEAD = "#ff5252"
MARKER = "#ffd54f"
SELECTION = "#ffffff"
SNAP_GUIDE = "#7fd3ff"
MUSIC_CLIP = "#4db6ac"
SFX_CLIP = "#90a4ae"
HUMMING_CLIP = "#ba68c8"
MISSING_CLIP = "#e57373"
LOOP_RANGE = "#3d7eff"

# Line status badges: (background, text)
STATUS_COLOURS: dict[LineStatus, tuple[str, str]] = {
    LineStatus.STALE: ("#4a4f58", "#e3e6ea"),
    LineStatus.QUEUED: ("#2f3d57", "#bcd0ff"),
    LineStatus.RENDERING: ("#2a5bd7", "#ffffff"),
    LineStatus.DONE: ("#1f6e3a", "#d8f5e1"),
    LineStatus.FAILED: ("#9b2c2c", "#ffe3e3"),
    LineStatus.SUSPECT: ("#8a5a00", "#fff0cc"),
}

# Meters
METER_GREEN = "#45c46f"
METER_YELLOW = "#e0c030"
METER_RED = "#ff5252"


def palette() -> QPalette:
    pal = QPalette()
    colours = {
        QPalette.ColorRole.Window: WINDOW,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BASE,
        QPalette.ColorRole.AlternateBase: "#23262b",
        QPalette.ColorRole.ToolTipBase: PANEL,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: "#33373e",
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: "#2a5bd7",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: ACCENT,
        QPalette.ColorRole.PlaceholderText: "#6b7079",
        QPalette.ColorRole.Mid: BORDER,
        QPalette.ColorRole.Dark: "#15171a",
        QPalette.ColorRole.Light: "#454a53",
    }
    for role, colour in colours.items():
        pal.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b7079"))
    return pal


def stylesheet() -> str:
    path = THEME_DIR / "dark.qss"
    try:  # @THEME@: the theme folder, for the style sheet's images (arrows)
        return path.read_text(encoding="utf-8").replace("@THEME@", THEME_DIR.as_posix())
    except OSError:
        return ""  # the palette alone still gives a usable dark UI


def apply_theme(app: QApplication) -> None:
    """Fusion + the dark palette + the style sheet (idempotent)."""
    app.setStyle("Fusion")
    app.setPalette(palette())
    app.setStyleSheet(stylesheet())


def status_text(status: LineStatus, fraction: float | None = None) -> str:
    if status == LineStatus.RENDERING and fraction is not None and fraction > 0:
        return f"rendering {int(round(fraction * 100))} %"
    return status.value
