"""The mouse wheel scrolls panels; it changes a value (spin box, combo box, slider) only when that
field has keyboard focus. One application-wide filter, so widgets made later (mixer strips, track
headers) follow the same rule.

Thread contract: GUI thread only.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QScrollBar,
    QWidget,
)

_VALUED = (QAbstractSpinBox, QComboBox, QAbstractSlider)


def _valued(obj: QObject) -> bool:
    return isinstance(obj, _VALUED) and not isinstance(obj, QScrollBar)


class QtWheelGuard(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Polish and _valued(watched):
            assert isinstance(watched, QWidget)
            if watched.focusPolicy() & Qt.FocusPolicy.WheelFocus == Qt.FocusPolicy.WheelFocus:
                watched.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel does not take focus
            return False
        if kind != QEvent.Type.Wheel or not _valued(watched):
            return False
        assert isinstance(watched, QWidget)
        if watched.hasFocus() or (isinstance(watched, QComboBox) and watched.view().isVisible()):
            return False
        parent = watched.parentWidget()
        while parent is not None and not isinstance(parent, QAbstractScrollArea):
            parent = parent.parentWidget()
        if parent is not None:
            QCoreApplication.sendEvent(parent.viewport(), event)  # scroll the panel instead
        event.ignore()
        return True


_guard: QtWheelGuard | None = None


def install_wheel_guard() -> None:
    """Install the filter on the application once (idempotent)."""
    global _guard
    app = QCoreApplication.instance()
    if app is None or _guard is not None:
        return
    _guard = QtWheelGuard(app)
    app.installEventFilter(_guard)
