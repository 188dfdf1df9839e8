"""Fixtures for the studio's widget tests (pytest-qt, offscreen).

* every test fails if it leaves a top-level widget alive;
* ``podcast`` is a fresh copy of the demo podcast (built from its sources, core only);
* ``rendered_podcast`` has synthetic takes placed on the timeline (no TTS, fast);
* ``make_window`` opens the main window with a fake engine and no sound card (see ``ui_fakes``).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "projects"))

from fake_sounddevice import MissingSoundDevice  # noqa: E402
from ui_fakes import FakeEngineClient, fake_render, no_device_factory, write_take  # noqa: E402

# ---- a broken PySide6 ----------------------------------------------------------------------------

# See studio.ui.qt_app.BROKEN_PYSIDE: run one test that says so instead of crashing mid-suite.


def pytest_collection_modifyitems(config, items):  # noqa: ARG001
    import PySide6

    from studio.ui.qt_app import BROKEN_PYSIDE

    if PySide6.__version__ not in BROKEN_PYSIDE:
        return
    skip = pytest.mark.skip(reason=f"PySide6 {PySide6.__version__} crashes when signals meet threads")
    for item in items:
        if "tests/ui/" in str(item.path) and item.name != "test_pyside_is_not_a_known_broken_release":
            item.add_marker(skip)


# ---- leaks -------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_leaked_widgets(qapp):
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication

    before = {id(w) for w in QApplication.topLevelWidgets()}
    yield
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
    leaked = [
        w
        for w in QApplication.topLevelWidgets()
        if id(w) not in before and w.objectName() not in ("qtooltip_label",) and type(w).__name__ != "QMenu"
    ]
    names = [f"{type(w).__name__}({w.objectName()!r})" for w in leaked]
    for w in leaked:
        with contextlib.suppress(RuntimeError):
            w.close()
            w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not leaked, f"top-level widgets leaked by this test: {names}"


# ---- projects ----------------------------------------------------------------------------------


@pytest.fixture
def podcast(tmp_path: Path) -> Path:
    from build_demos import build_podcast

    target = tmp_path / "podcast.chorus"
    build_podcast(target)
    return target


@pytest.fixture
def take_writer():
    """``write_take(path, seconds, seed)``: a synthetic take file."""
    return write_take


@pytest.fixture
def rendered_podcast(podcast: Path) -> Path:
    from studio.core.store import ProjectFile

    with ProjectFile.open(podcast) as pf:
        fake_render(pf)
    return podcast


@pytest.fixture
def fake_client_factory():
    FakeEngineClient.instances.clear()

    def factory(backend: str, options: dict[str, Any]) -> FakeEngineClient:
        return FakeEngineClient(backend, options)

    yield factory
    for client in FakeEngineClient.instances:
        client.shutdown(1.0)


@pytest.fixture
def make_window(qtbot, tmp_path, fake_client_factory):
    """``make_window(project=None, **kwargs)`` → a shown QtMainWindow with settings in tmp_path."""
    from studio.audio.device_streams import DeviceStreams
    from studio.ui.qt_main_window import QtMainWindow
    from studio.ui.qt_settings import QtStudioSettings

    def make(project: Path | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("client_factory", fake_client_factory)
        kwargs.setdefault("stream_factory", no_device_factory)
        kwargs.setdefault("streams", DeviceStreams(MissingSoundDevice()))
        settings = QtStudioSettings(tmp_path / "settings")
        window = QtMainWindow(settings, **kwargs)
        qtbot.addWidget(window)
        window.resize(1400, 900)
        window.show()
        qtbot.waitExposed(window)
        if project is not None:
            assert window.open_project(project)
        window.windowHandle().requestActivate()  # shortcuts only reach the active window
        qtbot.waitUntil(window.isActiveWindow, timeout=2000)
        return window

    return make
